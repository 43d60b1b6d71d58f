"""Non-learned baselines for `musegenie eval edit`: what a user could get without the models.

- `copy_baseline`: similarity-graph inpainting in its simplest form (Perraudin et al. 2018, "Inpainting of
  long audio segments with similarity graphs", https://arxiv.org/abs/1607.06667): among the segments of
  the same file that do not touch the region, take the one whose surroundings best match the region's
  surroundings (log-mel L1 of the context before and after, frame by frame), and paste it over the region.
  The region itself is never looked at.
- `shaped_noise`: Gaussian noise with the average power spectrum of the context on both sides: the floor
  any edit should clear.

Both are crossfaded in exactly like an engine edit (`engine.window.stitch`). Signals are mono (N,) at
one rate; the region is [start, end) samples, `fade` the crossfade length in samples.
Letters: N samples, B mel bands, M frames, K frequency bins.
"""

from __future__ import annotations

import librosa
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from engine.window import stitch
from training.metrics import log_mel

MATCH_HOP = 512  # samples between candidate positions and between the frames compared
MATCH_MELS = 64
NOISE_FFT = 1024
BLOCK = 256  # candidate positions compared at once (bounds the memory of the comparison)


class BaselineError(ValueError):
    """The file leaves no room for a baseline (e.g. no segment elsewhere as long as the region)."""


def _context_distance(features: np.ndarray, template: np.ndarray) -> np.ndarray:
    """(P,) mean |features[:, p : p + W] - template| for every position p; template (B, W)."""
    windows = sliding_window_view(features, template.shape[1], axis=1)  # (B, P, W)
    out = np.empty(windows.shape[1], np.float32)
    for i in range(0, len(out), BLOCK):
        block = windows[:, i : i + BLOCK]  # (B, b, W)
        out[i : i + BLOCK] = np.abs(block - template[:, None]).mean(axis=(0, 2))
    return out


def copy_source(audio: np.ndarray, sample_rate: int, start: int, end: int, context: int) -> int:
    """Start sample of the segment whose surroundings best match the region's (never the region's own).

    Frames are MATCH_HOP apart; frame m covers [m - 1, m + 1) hops, so the frames compared before a
    position end at it and those after begin at the segment's end: neither side hears the segment. A
    candidate's side that runs past the file or into the region is left out (the other side decides);
    one with neither side, or overlapping the region, is never taken.
    """
    offset = start % MATCH_HOP  # align the frame grid with the region start
    features = log_mel(audio[offset:], sample_rate, n_fft=2 * MATCH_HOP, hop=MATCH_HOP, n_mels=MATCH_MELS)
    frames = features.shape[1]  # M
    region = (start - offset) // MATCH_HOP  # region start, in frames
    length = -(-(end - start) // MATCH_HOP)  # region length, in frames (rounded up)
    width = max(1, context // MATCH_HOP)  # context frames compared on each side
    after = length + 1  # first frame after a segment starting at frame 0 that does not hear it
    if region - width < 0 or region + after + width > frames:
        raise BaselineError("the region's context runs past the file's edges")
    q = np.arange(frames)  # candidate start frames
    before_d = np.full(frames, np.nan, np.float32)
    after_d = np.full(frames, np.nan, np.float32)
    before_d[width:] = _context_distance(features, features[:, region - width : region])[: frames - width]
    after_t = features[:, region + after : region + after + width]
    tail = _context_distance(features, after_t)  # (M - W + 1,) for a window starting at each frame
    ok = q + after + width <= frames
    after_d[ok] = tail[q[ok] + after]

    def overlaps(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        return (lo < region + length) & (hi > region)

    before_d[overlaps(q - width, q)] = np.nan
    after_d[overlaps(q + after, q + after + width)] = np.nan
    sides = np.stack([before_d, after_d])  # (2, M)
    counted = (~np.isnan(sides)).sum(axis=0)  # (M,) sides that count: 0, 1 or 2
    cost = np.nansum(sides, axis=0) / np.maximum(counted, 1)  # (M,)
    samples = q * MATCH_HOP + offset
    bad = (counted == 0) | overlaps(q, q + length) | (samples + (end - start) > len(audio))
    cost[bad] = np.inf
    if not np.isfinite(cost).any():
        raise BaselineError(
            f"no segment of {(end - start) / sample_rate:.2f} s with context on a side fits elsewhere in the file"
        )
    return int(samples[int(np.argmin(cost))])


def copy_baseline(
    audio: np.ndarray, sample_rate: int, start: int, end: int, context: int, fade: int
) -> tuple[np.ndarray, int]:
    """(the file with the best-matching segment pasted over the region (N,), the segment's start)."""
    source = copy_source(audio, sample_rate, start, end, context)
    generated = np.zeros_like(audio)  # (N,) what is pasted, in the region's coordinates
    lo, hi = max(0, start - fade), min(len(audio), end + fade)
    shift = source - start
    take_lo, take_hi = max(lo, -shift), min(hi, len(audio) - shift)  # keep the source inside the file
    generated[take_lo:take_hi] = audio[take_lo + shift : take_hi + shift]
    edited = stitch(audio[None], generated, start, end, fade, limits=(take_lo, take_hi))[0]
    return edited, source


def shaped_noise(audio: np.ndarray, start: int, end: int, context: int, fade: int, seed: int) -> np.ndarray:
    """The file with the region replaced by noise of the context's average power spectrum: (N,)."""
    before, after = audio[max(0, start - context) : start], audio[end : end + context]
    surroundings = np.concatenate([before, after]).astype(np.float32)
    if len(surroundings) < NOISE_FFT:
        raise BaselineError("less than one analysis frame of context around the region")
    power = (np.abs(librosa.stft(surroundings, n_fft=NOISE_FFT, hop_length=NOISE_FFT // 4)) ** 2).mean(axis=1)
    lo, hi = max(0, start - fade), min(len(audio), end + fade)
    white = np.random.default_rng(seed).standard_normal(hi - lo).astype(np.float32)  # (n,)
    spectrum = librosa.stft(white, n_fft=NOISE_FFT, hop_length=NOISE_FFT // 4)  # (K, M)
    window_energy = float(np.sum(np.hanning(NOISE_FFT + 1)[:-1] ** 2))  # E|X_k|^2 of unit white noise
    spectrum *= np.sqrt(power / window_energy)[:, None].astype(np.float32)
    noise = librosa.istft(spectrum, hop_length=NOISE_FFT // 4, length=hi - lo)  # (n,)
    generated = np.zeros_like(audio)
    generated[lo:hi] = noise
    return stitch(audio[None], generated, start, end, fade, limits=(lo, hi))[0]
