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
from engine.spectrogram import mel_filterbank, stft_power
from engine.window import crossfade_gains, stitch

ALIGN_S = 0.25  # audio each side of a seam that sample-level alignment compares
# Easing an edge (a plan's `join_ramp` > 0): the material's level in each of JOIN_BANDS mel bands over the
# JOIN_SPAN_S next to the edge is set to the outside's over the JOIN_SPAN_S before the crossfade (at most
# JOIN_LIMIT_DB either way), and the correction fades out linearly over `join_ramp` seconds into the region.
JOIN_BANDS = 40
JOIN_SPAN_S = 0.1
JOIN_LIMIT_DB = 20.0
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
    valid = (limits[0] - s0, limits[1] - s0)
    if plan.join_ramp > 0:
        span = int(round(JOIN_SPAN_S * sample_rate))
        before = read(max(0, start - fade - span), max(0, start - fade))  # (C, <= span) outside the seams
        after = read(min(n, end + fade), min(n, end + fade + span))
        ramp = int(round(plan.join_ramp * sample_rate))
        generated = eased_edges(generated, before, after, (start - s0, end - s0), valid, sample_rate, ramp)
    out = stitch(original, generated, start - s0, end - s0, fade, limits=valid)
    return Patch(s0, out), _source(sample_rate, end, starts, shifts)


def eased_edges(
    material: np.ndarray,
    before: np.ndarray,
    after: np.ndarray,
    edges: tuple[int, int],
    valid: tuple[int, int],
    sample_rate: int,
    ramp: int,
) -> np.ndarray:
    """`material` (C, S) with its band levels next to each region edge eased to the audio outside.

    A stretch that carries another action than the region's often enters louder, darker or brighter than
    what precedes it, a jump heard at the seam. Per mel band, the material's level over the JOIN_SPAN_S
    inside an edge is moved to that of `before` (the audio before the start's crossfade) or `after` (after
    the end's), and the correction fades out over `ramp` samples into the region, so the change the action
    asks arrives as a short swell instead of a step. An edge whose outside or inside is shorter than one
    analysis window is left alone.

    edges: the region [start, end) in `material`'s samples; valid: where `material` holds audio.
    """
    n_fft = 1 << int(round(np.log2(0.032 * sample_rate)))  # ~32 ms analysis windows at any rate
    hop = n_fft // 4
    bank = mel_filterbank(sample_rate, n_fft, JOIN_BANDS).astype(np.float64)  # (B, K)
    start, end = edges
    span = int(round(JOIN_SPAN_S * sample_rate))
    a, b = max(valid[0], start), min(valid[1], end)
    centres = np.arange(1 + -(-material.shape[1] // hop)) * hop  # (F,) the analysis frames' centres
    gains = np.zeros((JOIN_BANDS, len(centres)))  # (B, F) dB
    for outside, inside, weight in (
        (before, material[:, a : a + span], 1.0 - (centres - start) / ramp),
        (after, material[:, max(a, b - span) : b], 1.0 - (end - centres) / ramp),
    ):
        if min(outside.shape[1], inside.shape[1]) < n_fft:
            continue
        step = _band_levels(outside, bank, n_fft, hop) - _band_levels(inside, bank, n_fft, hop)
        gains += np.clip(step, -JOIN_LIMIT_DB, JOIN_LIMIT_DB)[:, None] * np.clip(weight, 0.0, 1.0)[None]
    out = material.copy()
    touched = np.flatnonzero(gains.any(axis=0))  # frames with a correction: within `ramp` of an edge
    reach = n_fft // hop  # frames whose windows overlap a frame's
    for run in np.split(touched, np.flatnonzero(np.diff(touched) > reach) + 1) if touched.size else []:
        first, last = max(0, run[0] - reach), min(len(centres), run[-1] + reach + 1)  # frames [first, last)
        lo, hi = centres[first], min(material.shape[1], centres[last - 1] + 1)
        frames = 1 + -(-(hi - lo) // hop)  # as `_equalised` frames [lo, hi)
        part = np.zeros((JOIN_BANDS, frames))
        part[:, : min(frames, len(centres) - first)] = gains[:, first : first + frames]
        out[:, lo:hi] = _equalised(material[:, lo:hi], part, bank, n_fft, hop)
    return out


def _band_levels(audio: np.ndarray, bank: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """(B,) mean power in dB of the (C, N) audio's channel mean in each band of `bank`."""
    power = stft_power(audio.mean(axis=0), n_fft, hop)  # (K, F)
    return 10.0 * np.log10(bank @ power.mean(axis=1) + 1e-10)


def _equalised(audio: np.ndarray, gains: np.ndarray, bank: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """(C, S) audio through a time-varying EQ: `gains` (B, F) dB per band of `bank` for the Hann-windowed
    frames centred every `hop` samples from the first (F = 1 + ceil(S / hop)), each bin taking the bands'
    gains weighted by its share of them (a bin in no band is left as it is). The frames are overlap-added
    and normalised by the window's overlap, so a gain of 0 dB returns the input."""
    channels, size = audio.shape
    pad, frames = n_fft // 2, gains.shape[1]
    length = n_fft + (frames - 1) * hop  # covers [-pad, size + pad)
    padded = np.zeros((channels, length))
    padded[:, pad : pad + size] = audio
    idx = np.arange(n_fft)[None] + hop * np.arange(frames)[:, None]  # (F, n_fft)
    window = np.hanning(n_fft + 1)[:-1]  # periodic Hann
    share = bank / np.maximum(bank.sum(axis=0, keepdims=True), 1e-12)  # (B, K) each bin's bands sum to 1
    bins = 1.0 + (10.0 ** (gains / 20.0) - 1.0).T @ share  # (F, K) amplitude gain
    pieces = np.fft.irfft(np.fft.rfft(padded[:, idx] * window, axis=-1) * bins, n_fft, axis=-1) * window
    out = np.zeros((channels, length))
    overlap = np.zeros(length)
    for k in range(n_fft // hop):  # frames k, k + n_fft / hop, ... do not overlap: add them at once
        rows = pieces[:, k :: n_fft // hop]  # (C, F_k, n_fft)
        first = k * hop
        out[:, first : first + rows.shape[1] * n_fft] += rows.reshape(channels, -1)
        overlap[first : first + rows.shape[1] * n_fft] += np.tile(window**2, rows.shape[1])
    out = out[:, pad : pad + size] / np.maximum(overlap[pad : pad + size], 1e-12)
    return out.astype(np.float32)


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
