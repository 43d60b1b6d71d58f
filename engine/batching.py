"""Edits batched per sampling step: concurrent edits' dynamics and decoder calls run as one graph call.

The graphs take batch B, and a GPU runs a batch of 8 edits' steps in about the time of one, but one edit
only ever sends B = 1-3 rows (its guidance rows). `install(runtime, BatchConfig(max_batch=8))` wraps the
runtime's `dynamics` and `tokenizer_decoder` graphs in a `BatchedGraph`: the pipeline binds and calls them
as before, and each call waits until every other edit bound to an input of the same shape has sent its
own step (or `max_wait_ms` passed, or `max_batch` edits are in), then one `session.run` serves them all and
each gets its own rows back. Every edit keeps its own seed, noise level t and guidance rows (they are rows
of the inputs), so steps of edits at different stages share a call; an edit arriving mid-way joins the
next step's call, never waiting longer than `max_wait_ms` per step.

Edits batch with edits of the same window length. Padding shorter windows to the longest would change
their output: the dynamics graph is a bidirectional transformer with no padding mask input (padded frames
are attended to) and the decoder's convolutions see past the end of a shorter window. Windows of a length
run as one batch; other lengths run as their own batches at the same time.

Outputs: the dynamics graph computes a row the same in any batch, so its steps are bit-identical to the
unbatched engine's on onnxruntime's CPU provider. The decoder's channel norm is a ReduceMean whose
onnxruntime kernel sums in another order at batch 1 than at batch > 1 (6e-8 apart in one call), so a
batched decode differs from the unbatched one by float32 rounding carried through its steps: at most
7e-7 (-123 dB of full scale) on models/default's edits, the tolerance tests/engine/test_batching.py
holds it to (1e-5). GPU kernels may differ by batch size the same way.

Letters in shape comments: B batch (rows), R one edit's rows.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from engine.runtime import Graph, Runtime

BATCHED_GRAPHS = ("dynamics", "tokenizer_decoder")  # the graphs every sampling step calls


@dataclass(frozen=True)
class BatchConfig:
    max_batch: int = 8  # edits whose steps run as one graph call; 1 = unbatched
    max_wait_ms: float = 5.0  # longest a step waits for the other edits' steps to join its call

    def __post_init__(self) -> None:
        if self.max_batch < 1:
            raise ValueError(f"max_batch must be >= 1, got {self.max_batch}")
        if not 0.0 <= self.max_wait_ms < float("inf"):
            raise ValueError(f"max_wait_ms must be >= 0, got {self.max_wait_ms}")


class _Step:
    """One edit's inputs for one graph call, and where its rows of the output go."""

    def __init__(self, inputs: dict[str, np.ndarray], rows: int) -> None:
        self.inputs = inputs
        self.rows = rows
        self.arrived = time.monotonic()
        self.output: np.ndarray | None = None
        self.error: BaseException | None = None
        self.done = False


Shape = tuple[tuple[str, tuple[int, ...]], ...]


def _shape_key(arrays: dict[str, np.ndarray]) -> Shape:
    """The inputs' shapes without the batch axis: edits with equal keys can share a call."""
    return tuple(sorted((name, tuple(a.shape[1:])) for name, a in arrays.items()))


class BatchedGraph:
    """A Graph whose bound calls from concurrent edits run together; `run` and the rest pass through."""

    def __init__(self, graph: Graph, config: BatchConfig) -> None:
        self.graph = graph
        self.config = config
        self.name = graph.name
        self.input_types = graph.input_types
        self.output_names = graph.output_names
        self._cond = threading.Condition()
        self._bound: Counter[Shape] = Counter()  # live bindings per shape: who may still send a step
        self._pending: dict[Shape, list[_Step]] = {}
        self.calls = 0  # graph calls made, and the edits' steps they served (for tests and benchmarks)
        self.steps = 0

    def run(self, **inputs: np.ndarray) -> dict[str, np.ndarray]:
        return self.graph.run(**inputs)

    def bind(self, **constants: np.ndarray) -> Callable[..., np.ndarray]:
        """Like `Graph.bind`: a function of the remaining inputs returning the first output."""
        if self.config.max_batch == 1:
            return self.graph.bind(**constants)
        constants = {k: np.asarray(v) for k, v in constants.items()}
        rows = next(iter(constants.values())).shape[0]
        key = _shape_key(constants)
        with self._cond:
            self._bound[key] += 1

        def call(**varying: np.ndarray) -> np.ndarray:
            return self._step(key, _Step({**constants, **varying}, rows))

        weakref.finalize(call, self._unbind, key)  # the edit's loop is over once its function is dropped
        return call

    def _unbind(self, key: Shape) -> None:
        with self._cond:
            self._bound[key] -= 1
            if self._bound[key] <= 0:
                del self._bound[key]
            self._cond.notify_all()  # a leader waiting for this edit's step can go now

    def _ready(self, key: Shape, queue: list[_Step]) -> bool:
        c = self.config
        return (
            len(queue) >= min(c.max_batch, self._bound[key])
            or time.monotonic() - queue[0].arrived >= c.max_wait_ms / 1000
        )

    def _step(self, key: Shape, step: _Step) -> np.ndarray:
        full = _shape_key(step.inputs)
        with self._cond:
            queue = self._pending.setdefault(full, [])
            queue.append(step)
            self._cond.notify_all()
            while not step.done:
                if queue and queue[0] is step and self._ready(key, queue):
                    batch = queue[: self.config.max_batch]
                    del queue[: len(batch)]
                    if not queue:
                        self._pending.pop(full, None)
                    self._cond.release()
                    try:
                        self._run(batch)
                    finally:
                        self._cond.acquire()
                        self._cond.notify_all()
                    continue
                waited = time.monotonic() - queue[0].arrived if queue else 0.0
                self._cond.wait(max(self.config.max_wait_ms / 1000 - waited, 1e-4))
        if step.error is not None:
            raise step.error
        return step.output

    def _run(self, batch: list[_Step]) -> None:
        """One graph call for `batch`; each step gets its rows of the output (or the error)."""
        try:
            if len(batch) == 1:
                outputs = [self.graph.run(**batch[0].inputs)[self.output_names[0]]]
            else:
                names = batch[0].inputs.keys()
                joined = {n: np.concatenate([s.inputs[n] for s in batch], axis=0) for n in names}  # (B, ...)
                out = self.graph.run(**joined)[self.output_names[0]]  # (B, ...)
                bounds = np.cumsum([s.rows for s in batch])[:-1]
                outputs = np.split(out, bounds, axis=0)  # [(R, ...)]
            for s, o in zip(batch, outputs, strict=True):
                s.output = o
        except BaseException as err:  # noqa: BLE001 - every edit of the batch must hear of the failure
            for s in batch:
                s.error = err
        with self._cond:
            self.calls += 1
            self.steps += len(batch)
            for s in batch:
                s.done = True


def install(runtime: Runtime, config: BatchConfig) -> Runtime:
    """Wrap `runtime`'s per-step graphs in place so concurrent edits batch (a no-op for max_batch 1)."""
    if config.max_batch > 1:
        for name in BATCHED_GRAPHS:
            graph = runtime.graphs[name]
            runtime.graphs[name] = BatchedGraph(getattr(graph, "graph", graph), config)
    return runtime
