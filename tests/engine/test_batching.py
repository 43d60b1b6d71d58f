"""engine.batching: concurrent edits' steps share graph calls, and every edit gets exactly what it would
have got alone (bit-identical on the CPU provider), whatever its seed, guidance rows or window length."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from engine.batching import BatchConfig, BatchedGraph, install
from tests.engine.conftest import req, stereo

SR = 44100
SHIPPED = Path(__file__).resolve().parents[2] / "models" / "default"


class Doubling:
    """A stand-in Graph: output = 2 * noisy + context, and a record of the batch sizes it saw."""

    name = "fake"
    input_types = {"noisy": np.float32, "context": np.float32}
    output_names = ["velocity"]

    def __init__(self) -> None:
        self.batches: list[int] = []
        self.lock = threading.Lock()

    def run(self, **inputs):
        with self.lock:
            self.batches.append(inputs["noisy"].shape[0])
        return {"velocity": 2 * inputs["noisy"] + inputs["context"]}


def test_concurrent_steps_share_calls_and_get_their_own_rows():
    fake = Doubling()
    graph = BatchedGraph(fake, BatchConfig(max_batch=4, max_wait_ms=200))
    barrier = threading.Barrier(4)

    def edit(i: int) -> list[np.ndarray]:
        rows = 1 + i % 3  # one to three guidance rows
        context = np.full((rows, 5), float(i), np.float32)
        step = graph.bind(context=context)
        barrier.wait()  # all four bound: each step waits for the others'
        return [step(noisy=np.full((rows, 5), 10.0 * k, np.float32)) for k in range(3)]

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(edit, range(4)))
    for i, outputs in enumerate(results):
        for k, out in enumerate(outputs):
            assert out.shape == (1 + i % 3, 5)
            np.testing.assert_array_equal(out, 20.0 * k + i)
    assert graph.steps == 12 and graph.calls < 12  # the four edits' steps ran together
    assert max(fake.batches) > 3  # rows of several edits in one call


def test_a_lone_edit_does_not_wait_and_batch_one_is_the_plain_graph():
    fake = Doubling()
    graph = BatchedGraph(fake, BatchConfig(max_batch=8, max_wait_ms=10_000))
    step = graph.bind(context=np.zeros((2, 3), np.float32))
    out = step(noisy=np.ones((2, 3), np.float32))  # would hang 10 s if it waited for absent company
    np.testing.assert_array_equal(out, 2.0)
    assert fake.batches == [2]
    with pytest.raises(ValueError, match="max_batch"):
        BatchConfig(max_batch=0)


def test_shapes_that_differ_run_as_separate_calls():
    fake = Doubling()
    graph = BatchedGraph(fake, BatchConfig(max_batch=4, max_wait_ms=50))
    barrier = threading.Barrier(2)

    def edit(width: int) -> np.ndarray:
        step = graph.bind(context=np.zeros((1, width), np.float32))
        barrier.wait()
        return step(noisy=np.ones((1, width), np.float32))

    with ThreadPoolExecutor(2) as pool:
        short, long = pool.map(edit, (3, 7))
    assert short.shape == (1, 3) and long.shape == (1, 7)
    assert sorted(fake.batches) == [1, 1]


def test_a_failing_call_reaches_every_edit_of_its_batch():
    class Broken(Doubling):
        def run(self, **inputs):
            raise RuntimeError("graph failed")

    graph = BatchedGraph(Broken(), BatchConfig(max_batch=2, max_wait_ms=200))
    barrier = threading.Barrier(2)

    def edit(_: int) -> str:
        step = graph.bind(context=np.zeros((1, 3), np.float32))
        barrier.wait()
        try:
            step(noisy=np.ones((1, 3), np.float32))
        except RuntimeError as err:
            return str(err)
        return "no error"

    with ThreadPoolExecutor(2) as pool:
        assert list(pool.map(edit, range(2))) == ["graph failed", "graph failed"]


def _concurrently(pipeline, x, requests) -> list[np.ndarray]:
    barrier = threading.Barrier(len(requests))

    def edit(r):
        barrier.wait()
        return pipeline.edit(x, SR, r).audio

    with ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(edit, requests))


def _runtime(bundle):
    from engine.bundle import load_bundle
    from engine.runtime import Runtime, RuntimeConfig

    return Runtime(load_bundle(bundle), RuntimeConfig(providers="cpu", intra_op_threads=1, warmup=False))


def test_batched_dynamics_steps_are_bit_identical(tiny_bundle, tiny_pipeline):
    from engine.pipeline import Pipeline

    runtime = _runtime(tiny_bundle)
    runtime.graphs["dynamics"] = BatchedGraph(runtime.graphs["dynamics"], BatchConfig(4, 500))
    x = stereo(1.5, SR)
    requests = [
        req((0.4, 0.8), [1], seed=1),  # guidance from the bundle: conditional + null rows
        req((0.5, 0.9), [2], seed=2, guidance=1.0),  # one row
        req((0.6, 1.0), [0, 3], seed=3, guidance=3.0),
        req((0.2, 0.4), [1], seed=4),  # a shorter window: its own batch
    ]
    alone = [tiny_pipeline.edit(x, SR, r).audio for r in requests]
    together = _concurrently(Pipeline(runtime), x, requests)
    for a, b in zip(alone, together, strict=True):
        np.testing.assert_array_equal(a, b)
    dynamics = runtime["dynamics"]
    assert dynamics.calls < dynamics.steps  # steps were shared, so the equality above tested batching


def test_batched_edits_of_the_shipped_model_match_within_rounding():
    from engine.pipeline import Pipeline

    plain = Pipeline(_runtime(SHIPPED))
    batched = Pipeline(install(_runtime(SHIPPED), BatchConfig(max_batch=4, max_wait_ms=500)))
    x = stereo(4.0, SR)
    requests = [req((1.5, 2.5), [i % 4], seed=i) for i in range(4)]
    alone = [plain.edit(x, SR, r).audio for r in requests]
    together = _concurrently(batched, x, requests)
    for a, b in zip(alone, together, strict=True):
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-5)  # the documented tolerance (engine.batching)
    for name in ("dynamics", "tokenizer_decoder"):
        assert batched.runtime[name].calls < batched.runtime[name].steps
