"""Where an edit's region and its context sit, at the input rate and at the model rate, and how the edited
region is crossfaded back into the original. Pure numpy geometry shared by the pipeline and the non-learned
baselines of `eval edit` (which must join their material exactly as an edit does).

Letters in shape comments: C channels, N samples, T latent frames.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np


class EditError(ValueError):
    """Parameters that cannot be used: unknown action or instrument, steps out of range, too many actions."""


class RegionError(EditError):
    """A region outside the audio, or one whose end is not after its start."""


@dataclass(frozen=True)
class Window:
    """Where the region and its context sit, at the input rate and at the model rate."""

    start: int  # region [start, end) in input samples
    end: int
    window_start: int  # region + context [window_start, window_end) in input samples
    window_end: int
    fade: int  # crossfade length in input samples (each side, clipped at the file edges)
    model_length: int  # window length at the model rate, before padding
    padded_length: int  # model-rate length padded to whole action chunks
    model_start: int  # region [model_start, model_end) at the model rate, relative to the window
    model_end: int
    frame_start: int  # latent frames [frame_start, frame_end) the region touches
    frame_end: int


@dataclass(frozen=True)
class Part:
    """Audio that is a stretch of a longer file its client keeps (engine.clip)."""

    offset: int  # the stretch is the file's samples [offset, offset + its length)
    total: int  # samples in the whole file
    song: str = ""  # the song's key on the engine (PutSong); "": none sent, generated edits only


@dataclass(frozen=True)
class Prepared:
    """An input window, encoded once and reused by every rendering of the same region (explore). An edit
    made of the song's own material needs no latents: `Pipeline.encoded` adds them when one is generated."""

    audio: np.ndarray  # (C, N) the validated input
    sample_rate: int
    window: Window
    model_audio: np.ndarray  # (1, 1, P) mono model-rate window, zero padded
    latents: np.ndarray | None = None  # (1, T, D); None until encoded
    context_actions: np.ndarray | None = None  # (1, T) the LAM's action per frame of the window
    heard: np.ndarray | None = (
        None  # (T, I) who the estimator hears per frame (bundle order); None = no estimator
    )
    memo: dict = field(default_factory=dict, compare=False, repr=False)  # the encoded version, once made
    part: Part | None = None  # `audio` is this stretch of a longer file; the window is in the file's samples

    @property
    def offset(self) -> int:
        return 0 if self.part is None else self.part.offset

    @property
    def num_samples(self) -> int:
        """Samples in the whole file."""
        return self.audio.shape[1] if self.part is None else self.part.total


def plan_window(
    num_samples: int,
    sample_rate: int,
    region: tuple[float, float],
    context_seconds: float,
    crossfade_ms: float,
    model_rate: int,
    hop: int,
    chunk_frames: int,
) -> Window:
    """Region/context/frame geometry for an input of `num_samples` at `sample_rate` (raises RegionError)."""
    start_s, end_s = float(region[0]), float(region[1])
    duration = num_samples / sample_rate
    if not (math.isfinite(start_s) and math.isfinite(end_s)):
        raise RegionError(f"region ({start_s}, {end_s}) is not finite")
    if start_s < 0:
        raise RegionError(f"region start {start_s:g} s is before the start of the audio")
    if end_s <= start_s:
        raise RegionError(f"region end {end_s:g} s is not after its start {start_s:g} s")
    if end_s > duration + 0.5 / sample_rate:
        raise RegionError(f"region end {end_s:g} s is beyond the end of the audio ({duration:.3f} s)")
    start = int(round(start_s * sample_rate))
    end = min(int(round(end_s * sample_rate)), num_samples)
    if end <= start:
        raise RegionError(f"region ({start_s:g}, {end_s:g}) s is shorter than one sample")
    if context_seconds < 0 or not math.isfinite(context_seconds):
        raise EditError(f"context_seconds must be >= 0, got {context_seconds}")
    context = int(round(min(context_seconds, duration) * sample_rate))  # more than the file is the file
    window_start, window_end = max(0, start - context), min(num_samples, end + context)
    fade = max(0, int(round(crossfade_ms * sample_rate / 1000)))
    model_length = model_samples(window_end - window_start, sample_rate, model_rate)
    multiple = hop * chunk_frames
    padded_length = max(multiple, -(-model_length // multiple) * multiple)
    model_start = int(math.floor((start - window_start) * model_rate / sample_rate))
    model_end = min(model_length, int(math.ceil((end - window_start) * model_rate / sample_rate)))
    model_end = max(model_end, model_start + 1)
    return Window(
        start=start,
        end=end,
        window_start=window_start,
        window_end=window_end,
        fade=fade,
        model_length=model_length,
        padded_length=padded_length,
        model_start=model_start,
        model_end=model_end,
        frame_start=model_start // hop,
        frame_end=-(-model_end // hop),
    )


def model_samples(num_samples: int, sr_in: int, sr_out: int) -> int:
    """Length soxr produces when resampling `num_samples` from sr_in to sr_out."""
    return num_samples if sr_in == sr_out else int(round(num_samples * sr_out / sr_in))


def spread_actions(actions: Sequence[int], frames: int) -> np.ndarray:
    """Per-frame ids for a region of `frames` frames: one id fills it, n ids take n equal stretches."""
    if not actions:
        raise EditError("no action given")
    if len(actions) > frames:
        raise EditError(f"{len(actions)} actions for a region of only {frames} latent frames")
    index = np.arange(frames) * len(actions) // frames  # (T,) which action each frame takes
    return np.asarray(actions, np.int64)[index]


def action_probabilities(logits: np.ndarray) -> np.ndarray:
    """The LAM's action logits (..., A) as probabilities (float64 softmax over the last axis)."""
    logits = np.asarray(logits, np.float64)
    odds = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return odds / odds.sum(axis=-1, keepdims=True)


def crossfade_gains(length: int) -> tuple[np.ndarray, np.ndarray]:
    """Equal-power fade of `length` samples: (old gain cos, new gain sin), new rising 0 -> 1."""
    u = (np.arange(length) + 0.5) / max(length, 1)
    return np.cos(0.5 * np.pi * u), np.sin(0.5 * np.pi * u)


def stitch(
    original: np.ndarray,
    generated: np.ndarray,
    start: int,
    end: int,
    fade: int,
    limits: tuple[int, int] | None = None,
) -> np.ndarray:
    """Write `generated` over [start, end) of `original` (C, N): mono (N,) into every channel, or (C, N)
    channel by channel.

    Equal-power crossfades over `fade` samples just before `start` and just after `end`, clipped to
    `limits` (where `generated` is valid; default the whole file); every sample outside
    [start - fade, end + fade) is copied bit for bit.
    """
    lo, hi = limits or (0, original.shape[1])
    out = original.copy()
    out[:, start:end] = generated[..., start:end]
    a = max(lo, start - fade)
    if a < start:
        old, new = crossfade_gains(fade)
        old, new = old[fade - (start - a) :], new[fade - (start - a) :]
        out[:, a:start] = (old * original[:, a:start] + new * generated[..., a:start]).astype(np.float32)
    b = min(hi, end + fade)
    if end < b:
        old, new = crossfade_gains(fade)
        old, new = old[::-1][: b - end], new[::-1][: b - end]
        out[:, end:b] = (old * original[:, end:b] + new * generated[..., end:b]).astype(np.float32)
    return out
