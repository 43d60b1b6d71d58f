"""Recording-quality features: statistics over groups of mel bands, one row per 5 s segment.

The seed's filter ("Data Filtering" in the author notes) trains ExtraTrees on simple statistics of a mel
spectrogram. Here each 5 s segment of 16 kHz mono audio becomes one feature row:

- per band group (the mel bands split into `band_groups` contiguous groups), on the log-mel level relative
  to the segment's loud level: mean, temporal std, p10 (noise floor), p90, p99 - p50 (spikiness: crackle),
  mean absolute frame-to-frame flux, and temporal flatness of the power (impulses lower it);
- global: spectral flatness (mean, std), energy ratio above 4 and 6 kHz, 95 % roll-off, bandwidth (the
  highest band within 50 dB of the loudest: band-limited old recordings stop early), frame level mean/std,
  silence fraction, clipping fraction, crest factor, click rate and kurtosis of the signal above 4 kHz
  (crackle), zero-crossing rate, and for the 4-6 and 6-8 kHz bands the mean frame-to-frame level change
  and how far the level falls below its median (steady hiss keeps both small), the kurtosis of what a
  3-sample median filter removes (one-sample clicks), and the slope and roughness of the 3-8 kHz and
  1.5-3.5 kHz noise floor (p10 over time per FFT bin: hiss makes it smooth);
- detectors (detectors.py) for the additive damage band statistics miss at the levels old recordings have
  it: mains hum (50/60 Hz bins against their neighbours over the whole segment), isolated clicks (3-point
  residual against the louder of its two neighbourhoods) and hiss (spectral flatness and level above
  1.5 kHz in the quietest short frames).

- song context (context.py): what the whole song says (long-term spectrum, averaged mains bins, the
  detectors' percentiles over its segments), the same in each of its rows.

Everything is vectorised numpy over (segments, bands, frames); the mel filter bank is engine.spectrogram's.
Letters in shape comments: S segments, L samples per segment, F frames, K FFT bins, M mel bands, G groups.
Change FEATURE_VERSION whenever a feature changes: saved filters record it and refuse other versions.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy.signal import butter, sosfilt

from engine.spectrogram import mel_filterbank
from training.data.quality.context import context_names, song_context
from training.data.quality.detectors import DETECTOR_STATS, HISS_FFT, detector_stats

FEATURE_VERSION = 3  # 2: hum, click and hiss detectors; 3: song context
EPS = 1e-10  # absolute power floor (-100 dB): keeps silence finite
FLOOR_DB = 90.0  # power more than this below the segment's peak counts as the floor: keeps levels relative
GROUP_STATS = ("mean", "std", "p10", "p90", "spike", "flux", "tflat")
GLOBAL_STATS = (
    "sflat_mean",
    "sflat_std",
    "hf4k_ratio",
    "hf6k_ratio",
    "rolloff95",
    "bandwidth",
    "level_mean",
    "level_std",
    "silence_frac",
    "clip_frac",
    "crest_db",
    "click_rate",
    "hf_kurtosis",
    "zcr",
    "jitter_4k",
    "jitter_6k",
    "depth_4k",
    "depth_6k",
    "spike_kurtosis",
    "floor_slope",
    "floor_roughness",
    "floor_slope_mid",
    "floor_roughness_mid",
)


@dataclass(frozen=True)
class FeatureConfig:
    sample_rate: int = 16_000  # every clip is resampled to the model rate before features
    segment_seconds: float = 5.0  # one feature row (and one probability) per segment, as in the seed
    n_fft: int = 1024  # 64 ms window: enough resolution for the 4-8 kHz bands where hiss and clicks live
    hop: int = 256  # 16 ms frames: short enough to see single clicks in the temporal statistics
    n_mels: int = 64  # mel bands up to Nyquist
    band_groups: int = 8  # contiguous groups of mel bands the per-band statistics are pooled over
    chunk_segments: int = 16  # segments framed at once: bounds memory on long songs

    @property
    def segment_samples(self) -> int:
        return int(round(self.segment_seconds * self.sample_rate))


def segment_feature_names(config: FeatureConfig = FeatureConfig()) -> list[str]:
    """Column names of `segment_features` rows, in order."""
    group = [f"g{g}_{s}" for g in range(config.band_groups) for s in GROUP_STATS]
    return group + list(GLOBAL_STATS) + list(DETECTOR_STATS)


def feature_names(config: FeatureConfig = FeatureConfig()) -> list[str]:
    """Column names of `audio_features` rows: the segment's own features, then the song context."""
    return segment_feature_names(config) + context_names()


@functools.lru_cache(maxsize=8)
def _mel_basis(sample_rate: int, n_fft: int, n_mels: int) -> np.ndarray:
    return mel_filterbank(sample_rate, n_fft, n_mels)  # (M, K)


@functools.lru_cache(maxsize=8)
def _highpass(sample_rate: int) -> np.ndarray:
    return butter(4, 4000, btype="highpass", fs=sample_rate, output="sos")


@functools.lru_cache(maxsize=8)
def _window(n_fft: int) -> np.ndarray:
    return np.hanning(n_fft + 1)[:-1].astype(np.float32)


def segment_starts(num_samples: int, config: FeatureConfig = FeatureConfig()) -> np.ndarray:
    """Sample offsets of the segments of a song: back to back, plus a last one ending at the song's end
    when at least a fifth of a segment is left over; a song shorter than a segment has one (start 0)."""
    length = config.segment_samples
    starts = np.arange(max(num_samples // length, 1)) * length
    if num_samples > length and num_samples - starts[-1] - length >= length // 5:
        starts = np.append(starts, num_samples - length)
    return starts.astype(np.int64)


def split_segments(
    audio: np.ndarray, config: FeatureConfig = FeatureConfig()
) -> tuple[np.ndarray, np.ndarray]:
    """(N,) mono audio -> (segments (S, L), starts (S,)); a song shorter than L is tiled up to L."""
    audio = np.asarray(audio, dtype=np.float32).reshape(-1)
    length = config.segment_samples
    if audio.size < length:
        return np.resize(audio, length)[None], np.zeros(1, dtype=np.int64)  # (1, L)
    starts = segment_starts(audio.size, config)
    index = starts[:, None] + np.arange(length)[None, :]  # (S, L)
    return audio[index], starts


def power_spectrogram(segments: np.ndarray, config: FeatureConfig = FeatureConfig()) -> np.ndarray:
    """(S, L) -> (S, F, K) power STFT with centred, reflect-padded frames."""
    pad = config.n_fft // 2
    padded = np.pad(segments, ((0, 0), (pad, pad)), mode="reflect")  # (S, L + n_fft)
    frames = np.lib.stride_tricks.sliding_window_view(padded, config.n_fft, axis=1)[
        :, :: config.hop
    ]  # (S, F, n_fft)
    spec = np.fft.rfft(frames * _window(config.n_fft), axis=-1)  # (S, F, K)
    return (spec.real**2 + spec.imag**2).astype(np.float32)


def log_mel(segments: np.ndarray, config: FeatureConfig = FeatureConfig()) -> np.ndarray:
    """(S, L) -> (S, M, F) log-mel power in dB (the picture the labeller shows)."""
    power = power_spectrogram(segments, config)  # (S, F, K)
    mel = np.einsum("mk,sfk->smf", _mel_basis(config.sample_rate, config.n_fft, config.n_mels), power)
    return 10.0 * np.log10(mel + EPS)  # (S, M, F)


def _floor(power: np.ndarray) -> np.ndarray:
    """(S, ...) power -> (S, 1, ...) floor FLOOR_DB below each segment's peak, so a quiet recording's empty
    bands read like a loud one's."""
    peak = power.reshape(len(power), -1).max(axis=1)  # (S,)
    return (peak * 10 ** (-FLOOR_DB / 10) + EPS).reshape((-1,) + (1,) * (power.ndim - 1))


def _quantiles(x: np.ndarray, qs: tuple[float, ...]) -> np.ndarray:
    return np.quantile(x, qs, axis=-1)  # (len(qs), ...)


def _group_stats(power_mel: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """(S, M, F) mel power -> (S, G * len(GROUP_STATS))."""
    s, m, f = power_mel.shape
    power_mel = power_mel + _floor(power_mel)  # (S, M, F)
    db = 10.0 * np.log10(power_mel)  # (S, M, F)
    ref = np.quantile(db.reshape(s, -1), 0.99, axis=1)[:, None, None]  # (S, 1, 1) loud level of the segment
    rel = db - ref  # (S, M, F) level-invariant
    groups = np.array_split(np.arange(m), config.band_groups)
    out = []
    for bands in groups:
        band_rel = rel[:, bands]  # (S, b, F)
        level = band_rel.mean(axis=1)  # (S, F) group level over time
        p10, p50, p90, p99 = _quantiles(level, (0.1, 0.5, 0.9, 0.99))  # each (S,)
        flux = np.abs(np.diff(band_rel, axis=-1)).mean(axis=(1, 2)) if f > 1 else np.zeros(s)  # (S,)
        power = power_mel[:, bands]  # (S, b, F)
        tflat = np.exp(np.log(power).mean(axis=-1)) / power.mean(
            axis=-1
        )  # (S, b) 1 = steady, ->0 = impulsive
        out.append(
            np.stack([level.mean(-1), level.std(-1), p10, p90, p99 - p50, flux, tflat.mean(-1)], axis=1)
        )
    return np.concatenate(out, axis=1)  # (S, G * 7)


def _floor_shape(p: np.ndarray, freqs: np.ndarray, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    """p (S, F, K) floored power -> (slope, roughness) each (S,) of the noise floor (p10 over time per FFT
    bin, dB) between lo and hi Hz: a line fit and the std around it (hiss fills the gaps between
    harmonics and makes the floor smooth)."""
    floor_db = np.quantile(10.0 * np.log10(p[..., (freqs >= lo) & (freqs < hi)]), 0.1, axis=1)  # (S, k)
    bins = np.linspace(-1.0, 1.0, floor_db.shape[-1])  # (k,) centred frequency axis for a line fit
    slope = (floor_db * bins).sum(-1) / (bins**2).sum()  # (S,) least-squares slope
    roughness = (floor_db - floor_db.mean(-1, keepdims=True) - slope[:, None] * bins).std(-1)  # (S,)
    return slope, roughness


def _global_stats(
    segments: np.ndarray, power: np.ndarray, power_mel: np.ndarray, config: FeatureConfig
) -> np.ndarray:
    """segments (S, L), power (S, F, K), power_mel (S, M, F) -> (S, len(GLOBAL_STATS))."""
    s, _, k = power.shape
    freqs = np.linspace(0.0, config.sample_rate / 2, k)  # (K,)
    p = power + _floor(power)  # (S, F, K)
    sflat = np.exp(np.log(p).mean(-1)) / p.mean(-1)  # (S, F)
    total = p.sum(axis=(1, 2))  # (S,)
    hf4 = np.log10(p[..., freqs >= 4000].sum(axis=(1, 2)) / total)  # (S,)
    hf6 = np.log10(p[..., freqs >= 6000].sum(axis=(1, 2)) / total)  # (S,)
    spectrum = p.sum(axis=1)  # (S, K)
    cumulative = np.cumsum(spectrum, axis=-1) / spectrum.sum(-1, keepdims=True)  # (S, K)
    rolloff = (cumulative < 0.95).sum(-1) / k  # (S,) fraction of Nyquist
    band_db = 10.0 * np.log10(power_mel.mean(-1) + _floor(power_mel)[..., 0])  # (S, M)
    audible = band_db >= band_db.max(-1, keepdims=True) - 50.0  # (S, M)
    bandwidth = (
        config.n_mels - np.argmax(audible[:, ::-1], axis=-1)
    ) / config.n_mels  # (S,) highest audible band
    frame_db = 10.0 * np.log10(p.mean(-1))  # (S, F)
    peak = np.abs(segments).max(-1)  # (S,)
    rms = np.sqrt((segments.astype(np.float64) ** 2).mean(-1))  # (S,)
    clip_frac = (np.abs(segments) >= 0.99 * peak[:, None]).mean(-1)  # (S,) samples on the flat tops
    crest = 20.0 * np.log10((peak + 1e-8) / (rms + 1e-8))  # (S,)
    high = np.abs(sosfilt(_highpass(config.sample_rate), segments, axis=-1))  # (S, L) above 4 kHz: clicks
    blocks = high[:, : high.shape[1] // config.hop * config.hop].reshape(s, -1, config.hop)  # (S, B, hop)
    local = np.median(blocks, axis=-1, keepdims=True)  # (S, B, 1) robust local scale
    click_rate = (blocks > 8.0 * local + 1e-7 * peak[:, None, None]).mean(
        axis=(1, 2)
    ) * 1000.0  # (S,) per 1000
    high_power = high.astype(np.float64) ** 2  # (S, L)
    kurt = np.log((high_power**2).mean(-1) / (high_power.mean(-1) ** 2 + 1e-30) + 1e-6)  # (S,) impulsiveness
    left, right = segments[:, :-2], segments[:, 2:]  # (S, L - 2) neighbours of each inner sample
    centre = segments[:, 1:-1]
    median3 = np.maximum(np.minimum(left, right), np.minimum(np.maximum(left, right), centre))  # (S, L - 2)
    spike = (centre - median3).astype(np.float64) ** 2  # (S, L - 2) one-sample clicks survive, music does not
    spike_kurt = np.log((spike**2).mean(-1) / (spike.mean(-1) ** 2 + 1e-30) + 1e-6)  # (S,)
    slope, roughness = _floor_shape(p, freqs, 3000.0, 7800.0)
    slope_mid, roughness_mid = _floor_shape(p, freqs, 1500.0, 3500.0)
    jitter, depth = [], []
    for lo, hi in ((4000, 6000), (6000, 8001)):
        level = 10.0 * np.log10(p[..., (freqs >= lo) & (freqs < hi)].sum(-1))  # (S, F)
        jitter.append(np.abs(np.diff(level, axis=-1)).mean(-1))  # steady hiss: small frame-to-frame change
        p5, p50 = np.quantile(level, (0.05, 0.5), axis=-1)  # (S,) each
        depth.append(p50 - p5)  # steady hiss: the band never falls far below its median
    signs = np.signbit(segments)  # (S, L)
    zcr = (signs[:, 1:] != signs[:, :-1]).mean(-1)  # (S,)
    columns = [
        sflat.mean(-1),
        sflat.std(-1),
        hf4,
        hf6,
        rolloff,
        bandwidth,
        frame_db.mean(-1),
        frame_db.std(-1),
        (frame_db < -60.0).mean(-1),
        clip_frac,
        crest,
        click_rate,
        kurt,
        zcr,
        *jitter,
        *depth,
        spike_kurt,
        slope,
        roughness,
        slope_mid,
        roughness_mid,
    ]
    return np.stack(columns, axis=1)  # (S, len(GLOBAL_STATS))


def segment_features(segments: np.ndarray, config: FeatureConfig = FeatureConfig()) -> np.ndarray:
    """(S, L) segments at config.sample_rate -> (S, len(segment_feature_names())) float32 features."""
    segments = np.atleast_2d(np.asarray(segments, dtype=np.float32))
    if segments.shape[1] != config.segment_samples:
        raise ValueError(f"segments have {segments.shape[1]} samples, expected {config.segment_samples}")
    rows = []
    basis = _mel_basis(config.sample_rate, config.n_fft, config.n_mels)  # (M, K)
    for first in range(0, len(segments), config.chunk_segments):
        chunk = segments[first : first + config.chunk_segments]  # (s, L)
        power = power_spectrogram(chunk, config)  # (s, F, K)
        power_mel = np.einsum("mk,sfk->smf", basis, power)  # (s, M, F)
        rows.append(
            np.concatenate(
                [
                    _group_stats(power_mel, config),
                    _global_stats(chunk, power, power_mel, config),
                    detector_stats(chunk, config.sample_rate, _window(HISS_FFT)),
                ],
                1,
            )
        )
    return np.concatenate(rows).astype(np.float32)  # (S, len(segment_feature_names()))


def audio_features(
    audio: np.ndarray, config: FeatureConfig = FeatureConfig()
) -> tuple[np.ndarray, np.ndarray]:
    """(N,) or (1, N) mono audio at config.sample_rate -> (features (S, D), segment starts in samples (S,)):
    each segment's own features, then the context of the whole audio (context.py)."""
    segments, starts = split_segments(audio, config)
    own = segment_features(segments, config)  # (S, D0)
    whole = np.asarray(audio, dtype=np.float32).reshape(-1)  # (N,)
    context = song_context(whole, segments, own, segment_feature_names(config), config.sample_rate)  # (S, C)
    return np.concatenate([own, context], axis=1), starts
