"""A song-aware plan rendered from the song's own audio: every channel, the input's rate, aligned to the
sample at its seams and crossfaded in. Numpy only, and it reads the input through `read(lo, hi)`, so the
engine (which holds the audio) and a client (which keeps a long file on disk and gets only the plan from
the engine, engine.clip) render with this one function and get the same samples.

Letters: C channels, N samples.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from engine.request import SongPlan, Source
from engine.song import FEATURE_HOP
from engine.song_plan import STEP
from engine.window import crossfade_gains, stitch

ALIGN_S = 0.25  # audio each side of a seam that sample-level alignment compares
Reader = Callable[[int, int], np.ndarray]  # (lo, hi) -> (C, hi - lo) contiguous float32 input samples


class Patch(NamedTuple):
    """The samples an edit changes: the input with `audio` (C, S) over [start, start + S) is the result."""

    start: int
    audio: np.ndarray

    def applied(self, audio: np.ndarray) -> np.ndarray:
        """The whole (C, N) input with this patch written over it (a copy)."""
        out = audio.copy()
        out[:, self.start : self.start + self.audio.shape[1]] = self.audio
        return out


def render_plan(read: Reader, num_samples: int, sample_rate: int, plan: SongPlan) -> tuple[Patch, Source]:
    """The plan's material crossfaded over the region: (the changed samples, where they came from).

    Every read stays inside [0, num_samples), whatever the plan says.
    """
    n, start, end, fade = num_samples, plan.start, plan.end, plan.fade
    to_input = sample_rate / plan.model_rate
    starts = [start + int(round(offset * to_input)) for offset, _ in plan.pieces]
    shifts = _aligned(read, n, sample_rate, to_input, plan, starts)
    s0, s1 = max(0, start - fade), min(n, end + fade)  # the only samples that change
    original = read(s0, s1)  # (C, S)
    generated = np.zeros_like(original)  # (C, S) the material, in the region's coordinates (from s0)
    limits = (0, n)
    for i, shift in enumerate(shifts):
        lo = max(0, starts[i] - fade, -shift)  # a piece brings its own lead-in and continuation
        hi = min(n, end + fade, n - shift)
        material = read(lo + shift, hi + shift)  # (C, hi - lo)
        if i == 0:
            generated[:, lo - s0 : hi - s0] = material
            limits = (lo, hi)
            continue
        a = max(starts[i] - fade, lo)  # equal-power crossfade just before the piece begins, as at the edges
        old, new = crossfade_gains(starts[i] - a)
        generated[:, a - s0 : starts[i] - s0] = (
            old * generated[:, a - s0 : starts[i] - s0] + new * material[:, a - lo : starts[i] - lo]
        )
        generated[:, starts[i] - s0 : hi - s0] = material[:, starts[i] - lo :]
        limits = (limits[0], min(limits[1], hi))
    out = stitch(original, generated, start - s0, end - s0, fade, limits=(limits[0] - s0, limits[1] - s0))
    return Patch(s0, out), _source(sample_rate, end, starts, shifts)


def _aligned(
    read: Reader,
    n: int,
    sample_rate: int,
    to_input: float,
    plan: SongPlan,
    starts: list[int],
) -> list[int]:
    """Per piece, the offset from region to material (input samples), each aligned to the sample.

    The plan is on a 32 ms grid; a beat or a waveform off by a few ms at a seam is heard (and smears
    onsets against the song). So the first piece is slid, within half a grid step, to where the audio
    before its material best correlates with the audio before the region, the last piece likewise after
    it (one piece: both sides); material never slides into the region.
    """
    start, end, fade = plan.start, plan.end, plan.fade
    shifts = [int(round(source * to_input)) - starts[i] for i, (_, source) in enumerate(plan.pieces)]
    side = int(ALIGN_S * sample_rate)
    reach = int(STEP * FEATURE_HOP * to_input) // 2
    last = len(plan.pieces) - 1
    for i in {0, last}:
        score = np.zeros(2 * reach + 1)
        if i == 0:
            score += _correlations(read, n, start - side, start, shifts[i], reach)
        if i == last:
            score += _correlations(read, n, end, end + side, shifts[i], reach)
        for lag in np.argsort(-score, kind="stable") - reach:
            shift = shifts[i] + int(lag)
            piece_end = starts[i + 1] if i < last else end
            lo, hi = starts[i] + shift - fade, piece_end + shift + fade
            if lo >= 0 and hi <= n and (hi <= start or lo >= end):
                shifts[i] = shift
                break
    return shifts


def _source(sample_rate: int, end: int, starts: list[int], shifts: list[int]) -> Source:
    """Where the material came from (input seconds): one passage, or the pieces in order."""
    ends = [*starts[1:], end]
    spans = tuple(
        ((a + s) / sample_rate, (b + s) / sample_rate) for a, b, s in zip(starts, ends, shifts, strict=True)
    )
    if len(spans) == 1:
        return Source("song", *spans[0])
    return Source("song", spans[0][0], spans[-1][1], pieces=spans)


def _correlations(read: Reader, n: int, lo: int, hi: int, shift: int, reach: int) -> np.ndarray:
    """(2 reach + 1,) normalised correlation of the mono input over [lo, hi) with that over
    [lo + shift + lag, hi + shift + lag) for lag in -reach..reach (0 where a window leaves the audio)."""
    out = np.zeros(2 * reach + 1)
    a, b = lo + shift - reach, hi + shift + reach
    if lo < 0 or hi > n or a < 0 or b > n or hi <= lo:
        return out
    ref = read(lo, hi).mean(axis=0).astype(np.float64)  # channel mean per sample, as over the whole input
    seg = read(a, b).mean(axis=0).astype(np.float64)
    size = 1 << int(np.ceil(np.log2(len(seg) + len(ref))))
    corr = np.fft.irfft(np.fft.rfft(seg, size) * np.conj(np.fft.rfft(ref, size)), size)[: 2 * reach + 1]
    energy = np.concatenate([[0.0], np.cumsum(seg**2)])
    norms = np.sqrt((energy[len(ref) :] - energy[: -len(ref)])[: 2 * reach + 1] * float(ref @ ref))
    return np.where(norms > 1e-12, corr / np.maximum(norms, 1e-12), 0.0)
