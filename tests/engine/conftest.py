"""Engine test fixtures: one onnxruntime pipeline on the session's tiny bundle, and stereo test audio."""

from __future__ import annotations

from pathlib import Path

import grpc
import numpy as np
import pytest

from engine.request import EditRequest

# Sampling settings for tests that are not about quality; closeness 0 generates every region, so these tests
# exercise the models (tests/engine/test_song.py covers edits made of the song's own material).
FAST = {"steps": 4, "decoder_steps": 4, "closeness": 0.0}


def req(region, actions=(), **settings) -> EditRequest:
    """An EditRequest with the FAST sampling settings unless `settings` overrides them."""
    return EditRequest(tuple(region), tuple(actions), **{**FAST, **settings})


def stereo(seconds: float = 1.0, sr: int = 44100, seed: int = 0) -> np.ndarray:
    """(2, N) float32: a chord on the left, a different chord plus a little noise on the right."""
    t = np.arange(int(round(seconds * sr))) / sr
    left = 0.3 * np.sin(2 * np.pi * 220 * t) + 0.2 * np.sin(2 * np.pi * 277 * t)
    right = 0.25 * np.sin(2 * np.pi * 330 * t) + 0.02 * np.random.default_rng(seed).standard_normal(t.shape)
    return np.stack([left, right]).astype(np.float32)


@pytest.fixture(scope="session")
def tiny_pipeline(tiny_bundle: Path):
    from engine.bundle import load_bundle
    from engine.pipeline import Pipeline
    from engine.runtime import Runtime, RuntimeConfig

    return Pipeline(Runtime(load_bundle(tiny_bundle), RuntimeConfig(providers="cpu", intra_op_threads=1)))


def raw_call(
    channel: grpc.Channel, method: str, payload: bytes, streaming: bool, timeout: float = 30
) -> grpc.StatusCode:
    """Send `payload` as the request bytes of `method`, whatever they are."""
    identity = lambda b: b  # noqa: E731
    make = channel.unary_stream if streaming else channel.unary_unary
    call = make(method, request_serializer=identity, response_deserializer=identity)
    try:
        result = call(payload, timeout=timeout)
        if streaming:
            list(result)
    except grpc.RpcError as err:
        return err.code()
    return grpc.StatusCode.OK


def best_plan(*args, **kwargs):
    """`engine.song_plan.plan_takes`'s first take (the edit without the engine's check), or None where no
    stretch can fill some slot."""
    from engine.song_plan import plan_takes

    takes = plan_takes(*args, **kwargs)
    return takes[0] if takes else None
