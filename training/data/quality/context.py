"""Song context: what the whole song says about a defect, appended to each of its segments' features.

Mild damage is stationary (a transfer's band limit, hiss, hum and crackle last the whole song), while music
changes from one segment to the next. A 5 s segment alone often cannot tell a quiet hiss from a cymbal
wash or a faint hum from a bass note; the song can:

- hum: the mains bins against their neighbours in the song's floor spectrum (how low each bin gets over
  the song's 1 s or 2 s frames). A hum 35 dB under the music is buried under the bass while the band plays,
  but it never goes away: in the quiet moments it is all the mains bins hold, while their neighbours fall
  with the music (`floor_hum_*`; under music that never gets quiet it is inaudible);
- band limit: the song's long-term spectrum falls off a cliff at a transfer's cut-off; music rolls off
  gently. `edge_drop` is the steepest fall over 500 Hz between 2.5 and 7.8 kHz, `edge_hf` the level of
  6.5-7.8 kHz against 1-4 kHz;
- every detector of the noise floor, clicks, hum and bandwidth, as its 10th, 50th and 90th percentile over
  the song's segments: the quietest segment shows a hiss floor, the median shows clicks that never stop.

A clip shorter than a song (a labelled 5 s head) gets its own context: its percentiles are its values.
Letters in shape comments: S segments, L samples per segment, K FFT bins.
"""

from __future__ import annotations

import numpy as np

from training.data.quality.detectors import MAINS_HZ, _harmonic_snr

HUM_FRAME_SECONDS = (1.0, 2.0)  # 1 Hz bins see short quiet moments; 0.5 Hz bins keep G1 (49 Hz) and B1
# (61.7 Hz) out of the mains bins
HUM_QUANTILE = 0.1  # the floor: how low each bin gets over the song (a hum never goes away)
EDGE_FFT = 1024  # 15.6 Hz bins: a cliff is sharp at this resolution, a long-term average is smooth
EDGE_WIDTH_HZ = 500.0  # the fall is measured over this width
EDGE_BAND = (2500.0, 7800.0)  # where a transfer's cut-off lies (below Nyquist of 16 kHz audio)
CONTEXT_OF = (  # per-segment features summarised over the song
    "hum_snr",
    "hum_contrast",
    "click_top",
    "click_max",
    "click_count",
    "spike_kurtosis",
    "quiet_flatness",
    "quiet_hf_db",
    "floor_slope",
    "floor_roughness",
    "floor_roughness_mid",
    "jitter_6k",
    "depth_6k",
    "hf6k_ratio",
    "bandwidth",
    "g7_p10",
)
QUANTILES = (0.1, 0.5, 0.9)
SONG_STATS = (
    *(f"floor_hum_{stat}_{seconds:g}s" for seconds in HUM_FRAME_SECONDS for stat in ("snr", "contrast")),
    "edge_drop",
    "edge_hf",
)


def context_names() -> list[str]:
    quantiled = [f"song_{name}_p{round(100 * q)}" for name in CONTEXT_OF for q in QUANTILES]
    return quantiled + list(SONG_STATS)


def _floor_hum(audio: np.ndarray, sample_rate: int, seconds: float) -> np.ndarray:
    """(N,) -> (2,): [hum_snr, hum_contrast] of the song's floor spectrum: per bin, the HUM_QUANTILE of its
    power over the song's frames of `seconds`."""
    size = int(seconds * sample_rate)
    frames = audio[: len(audio) // size * size].astype(np.float64).reshape(-1, size)  # (F, size)
    if len(frames) == 0:
        frames = np.pad(audio.astype(np.float64), (0, size - len(audio)))[None]  # (1, size)
    spectrum = np.fft.rfft(frames * np.hanning(size), axis=-1)  # (F, K)
    floor = np.quantile(spectrum.real**2 + spectrum.imag**2, HUM_QUANTILE, axis=0)[None]  # (1, K)
    mains = _harmonic_snr(floor, np.array(MAINS_HZ), sample_rate / size)[0]  # (2,)
    return np.array([mains.max(), mains.max() - mains.min()])


def _edge(segments: np.ndarray, sample_rate: int) -> np.ndarray:
    """(S, L) -> (2,): [edge_drop dB, edge_hf dB] of the song's long-term spectrum."""
    frames = segments.reshape(-1)[: segments.size // EDGE_FFT * EDGE_FFT].reshape(-1, EDGE_FFT)  # (F, N)
    spectrum = np.fft.rfft(frames * np.hanning(EDGE_FFT), axis=-1)  # (F, K)
    power = (spectrum.real**2 + spectrum.imag**2).mean(axis=0)  # (K,)
    db = 10 * np.log10(power + 1e-12 * power.max() + 1e-30)  # (K,)
    freqs = np.fft.rfftfreq(EDGE_FFT, 1 / sample_rate)  # (K,)
    step = int(round(EDGE_WIDTH_HZ / (sample_rate / EDGE_FFT)))
    smooth = np.convolve(db, np.ones(5) / 5, mode="same")  # (K,) over 5 bins: single partials do not count
    inside = np.flatnonzero((freqs >= EDGE_BAND[0]) & (freqs + EDGE_WIDTH_HZ <= EDGE_BAND[1]))
    drop = float((smooth[inside] - smooth[inside + step]).max()) if inside.size else 0.0
    high = db[(freqs >= 6500) & (freqs < 7800)].mean()  # the feature config's 16 kHz reaches 8 kHz
    return np.array([drop, high - db[(freqs >= 1000) & (freqs < 4000)].mean()])


def song_context(
    audio: np.ndarray, segments: np.ndarray, features: np.ndarray, names: list[str], sample_rate: int
) -> np.ndarray:
    """audio (N,), its segments (S, L) and their features (S, D) named `names` -> (S, len(context_names())),
    one row repeated."""
    columns = [names.index(name) for name in CONTEXT_OF]
    quantiled = np.quantile(features[:, columns], QUANTILES, axis=0).T.reshape(-1)  # (len(CONTEXT_OF) * 3,)
    row = np.concatenate(
        [
            quantiled,
            *(_floor_hum(audio, sample_rate, seconds) for seconds in HUM_FRAME_SECONDS),
            _edge(segments, sample_rate),
        ]
    )
    return np.repeat(row[None].astype(np.float32), len(segments), axis=0)  # (S, C)
