"""Audio and settings between numpy and the `musegenie.v1` messages, shared by the server and the client.

On the wire audio is float32 little-endian PCM interleaved by frame; in Python it is (C, N) float32.
"""

from __future__ import annotations

import numpy as np

from engine.audio import MAX_CHANNELS, AudioError, check
from protos.musegenie.v1 import engine_pb2 as pb

PCM_DTYPE = np.dtype("<f4")
MiB = 1 << 20


def audio_to_proto(audio: np.ndarray, sample_rate: int) -> pb.Audio:
    """(C, N) float audio -> Audio message (interleaved float32 PCM)."""
    audio = np.asarray(audio)
    if audio.ndim != 2:
        raise AudioError(f"audio: expected shape (channels, samples), got {audio.shape}")
    pcm = np.ascontiguousarray(audio.T, dtype=PCM_DTYPE).tobytes()  # (N, C) frames
    return pb.Audio(pcm=pcm, sample_rate=int(sample_rate), channels=int(audio.shape[0]))


def audio_from_proto(message: pb.Audio, source: str = "request audio") -> tuple[np.ndarray, int]:
    """Audio message -> ((C, N) float32, sample_rate); raises AudioError for anything unusable."""
    channels, sample_rate = int(message.channels), int(message.sample_rate)
    if not 1 <= channels <= MAX_CHANNELS:
        raise AudioError(f"{source}: channels must be 1..{MAX_CHANNELS}, got {channels}")
    if len(message.pcm) == 0:
        raise AudioError(f"{source}: zero-length audio")
    frame_bytes = channels * PCM_DTYPE.itemsize
    if len(message.pcm) % frame_bytes:
        raise AudioError(
            f"{source}: {len(message.pcm)} bytes is not a whole number of {channels}-channel float32 frames"
        )
    samples = np.frombuffer(message.pcm, dtype=PCM_DTYPE).reshape(-1, channels).T  # (C, N)
    return check(samples, sample_rate, source), sample_rate


def params_to_proto(
    steps: int | None = None,
    guidance: float | None = None,
    seed: int = 0,
    context_seconds: float | None = None,
    decoder_steps: int | None = None,
) -> pb.EditParams:
    """EditParams with only the given settings set (unset ones take the bundle's defaults)."""
    params = pb.EditParams(seed=int(seed) % 2**64)
    if steps is not None:
        params.steps = int(steps)
    if guidance is not None:
        params.guidance = float(guidance)
    if context_seconds is not None:
        params.context_seconds = float(context_seconds)
    if decoder_steps is not None:
        params.decoder_steps = int(decoder_steps)
    return params


def params_from_proto(params: pb.EditParams) -> dict:
    """Keyword arguments for `Pipeline.edit` / `explore` (None where the field is unset)."""
    return {
        "steps": params.steps if params.HasField("steps") else None,
        "guidance": params.guidance if params.HasField("guidance") else None,
        "context_seconds": params.context_seconds if params.HasField("context_seconds") else None,
        "decoder_steps": params.decoder_steps if params.HasField("decoder_steps") else None,
        "seed": int(params.seed),
    }
