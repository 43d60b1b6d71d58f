"""Detectors for additive damage that mel-band statistics miss: mains hum, crackle and hiss.

At the levels old recordings (and the synthetic corpus) have them, these sit 20-30 dB under the music and
vanish in band averages; each detector looks where the damage differs in kind, not in level:

- hum is a steady tone at exactly 50 or 60 Hz and harmonics: over a whole segment (a rectangular window
  of a whole number of mains periods) it fills one FFT bin, music spreads over its neighbours. The
  statistic is the log ratio of the mains bins to the median of nearby bins, averaged over the
  HUM_STRONGEST harmonics with the highest ratio, for the stronger mains family; how much stronger it is
  than the other family (music favours neither);
- a click is one sample off the waveform: the 3-point residual x[n] - (x[n-1] + x[n+1]) / 2 jumps there
  while just before *and* just after it stays small. Cymbal and snare onsets are loud afterwards, noise
  is loud on both sides, so the energy ratio of a sample to the louder of its two neighbourhoods picks
  out isolated impulses (log of the largest ratios and how many pass CLICK_RATIO per second);
- hiss is a steady flat noise floor: in the quietest frames of a short STFT, where music has gaps, the
  spectrum above 1.5 kHz becomes flat (spectral flatness near that of white noise) and the floor keeps its
  level relative to the segment's loud level.

Letters in shape comments: S segments, L samples per segment, F frames, K FFT bins, H harmonics.
"""

from __future__ import annotations

import numpy as np

MAINS_HZ = (50.0, 60.0)  # the two mains frequencies
HUM_HARMONICS = (1, 2, 3, 4, 5, 6)  # multiples of the mains frequency looked at
HUM_STRONGEST = 3  # harmonics averaged: the strongest ones, whichever a hum has (mains, rectifier, buzz)
HUM_GUARD_BINS = 2  # bins next to a mains bin left out of its reference (leakage of a drifting hum)
HUM_REFERENCE_BINS = 10  # bins each side beyond the guard whose median is the local music level
CLICK_CONTEXT = 16  # samples each side a click's residual is compared with
CLICK_GAP = 1  # samples next to a click left out of its context (the spread of a filtered click)
CLICK_RATIO = 36.0  # energy ratio (6x in amplitude) above which an isolated sample counts as a click
CLICK_TOP = 20  # the largest ratios averaged into click_top
HISS_FFT = 256  # 16 ms frames: short enough to fall between notes and drum hits
HISS_QUIET = 0.05  # share of the quietest frames the hiss statistics are taken over
HISS_LOW_HZ = 1500.0  # hiss is looked for above this frequency
DETECTOR_STATS = (
    "hum_snr",
    "hum_contrast",
    "click_top",
    "click_max",
    "click_count",
    "quiet_flatness",
    "quiet_hf_db",
)


def _harmonic_snr(power: np.ndarray, fundamentals: np.ndarray, resolution: float) -> np.ndarray:
    """power (S, K), fundamentals (C,) Hz -> (S, C): mean log ratio of the HUM_STRONGEST strongest of the
    HUM_HARMONICS bins to the median of their neighbours."""
    reach = HUM_GUARD_BINS + HUM_REFERENCE_BINS
    offsets = np.r_[-reach:-HUM_GUARD_BINS, HUM_GUARD_BINS + 1 : reach + 1]  # (2 * REFERENCE,)
    centres = np.round(fundamentals[:, None] * np.array(HUM_HARMONICS) / resolution).astype(
        np.int64
    )  # (C, H)
    peak = power[:, centres]  # (S, C, H)
    reference = np.median(power[:, centres[..., None] + offsets], axis=-1)  # (S, C, H)
    floor = 1e-12 * power.max(-1).reshape(-1, 1, 1) + 1e-30  # (S, 1, 1) keeps silence finite
    ratio = np.sort(np.log((peak + floor) / (reference + floor)), axis=-1)  # (S, C, H)
    return ratio[..., -HUM_STRONGEST:].mean(-1)  # (S, C)


def hum_stats(segments: np.ndarray, sample_rate: int) -> np.ndarray:
    """(S, L) -> (S, 2): [hum_snr, hum_contrast] in natural log units."""
    spectrum = np.fft.rfft(segments.astype(np.float64), axis=-1)  # (S, K) rectangular window
    power = spectrum.real**2 + spectrum.imag**2  # (S, K)
    mains = _harmonic_snr(power, np.array(MAINS_HZ), sample_rate / segments.shape[1])  # (S, 2)
    return np.stack([mains.max(1), mains.max(1) - mains.min(1)], axis=1)  # (S, 2)


def click_stats(segments: np.ndarray, sample_rate: int) -> np.ndarray:
    """(S, L) -> (S, 3): [click_top, click_max, click_count (log1p of clicks per second)]."""
    x = segments.astype(np.float64)  # (S, L)
    residual = x[:, 1:-1] - 0.5 * (x[:, :-2] + x[:, 2:])  # (S, L - 2)
    energy = residual**2  # (S, n)
    s, n = energy.shape
    cumulative = np.concatenate([np.zeros((s, 1)), np.cumsum(energy, axis=-1)], axis=-1)  # (S, n + 1)
    centre = np.arange(CLICK_CONTEXT + CLICK_GAP, n - CLICK_CONTEXT - CLICK_GAP)  # (n',)
    before = cumulative[:, centre - CLICK_GAP] - cumulative[:, centre - CLICK_GAP - CLICK_CONTEXT]  # (S, n')
    after = cumulative[:, centre + CLICK_GAP + 1 + CLICK_CONTEXT] - cumulative[:, centre + CLICK_GAP + 1]
    floor = 1e-8 * energy.max(-1, keepdims=True) + 1e-30  # (S, 1) silence and digital zero stay finite
    context = np.maximum(before, after) / CLICK_CONTEXT + floor  # (S, n') the louder side's mean energy
    ratio = (energy[:, centre] + floor) / context  # (S, n') isolated impulses stand out on both sides
    top = np.partition(ratio, ratio.shape[1] - CLICK_TOP, axis=-1)[:, -CLICK_TOP:]  # (S, TOP)
    per_second = (ratio > CLICK_RATIO).sum(-1) * sample_rate / segments.shape[1]  # (S,)
    return np.stack([np.log(top.mean(-1)), np.log(top.max(-1)), np.log1p(per_second)], axis=1)  # (S, 3)


def hiss_stats(segments: np.ndarray, sample_rate: int, window: np.ndarray) -> np.ndarray:
    """(S, L) -> (S, 2): [quiet_flatness, quiet_hf_db] over the quietest HISS_QUIET of short frames;
    window is the (HISS_FFT,) analysis window."""
    frames = np.lib.stride_tricks.sliding_window_view(segments, HISS_FFT, axis=1)[
        :, :: HISS_FFT // 2
    ]  # (S, F, HISS_FFT)
    spectrum = np.fft.rfft(frames * window, axis=-1)  # (S, F, K)
    power = (spectrum.real**2 + spectrum.imag**2).astype(np.float64)  # (S, F, K)
    freqs = np.fft.rfftfreq(HISS_FFT, 1.0 / sample_rate)  # (K,)
    floor = 1e-10 * power.max(axis=(1, 2)).reshape(-1, 1, 1) + 1e-20  # (S, 1, 1) keeps silence finite
    high = power[..., freqs >= HISS_LOW_HZ] + floor  # (S, F, k)
    frame_energy = power.sum(-1)  # (S, F)
    quiet = frame_energy <= np.quantile(frame_energy, HISS_QUIET, axis=-1, keepdims=True)  # (S, F)
    flatness = np.exp(np.log(high).mean(-1)) / high.mean(-1)  # (S, F) 1 = white noise
    count = quiet.sum(-1)  # (S,) at least one frame: the quietest
    loud = np.quantile(frame_energy, 0.9, axis=-1) + floor[:, 0, 0]  # (S,) the segment's loud level
    high_db = 10.0 * np.log10(high.sum(-1) / loud[:, None])  # (S, F) level above 1.5 kHz, relative
    return np.stack([(flatness * quiet).sum(-1) / count, (high_db * quiet).sum(-1) / count], axis=1)


def detector_stats(segments: np.ndarray, sample_rate: int, hiss_window: np.ndarray) -> np.ndarray:
    """(S, L) -> (S, len(DETECTOR_STATS))."""
    return np.concatenate(
        [
            hum_stats(segments, sample_rate),
            click_stats(segments, sample_rate),
            hiss_stats(segments, sample_rate, hiss_window),
        ],
        axis=1,
    )
