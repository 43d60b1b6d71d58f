"""Scores of an edited region against the original, for `musegenie eval edit` (numpy, librosa, sklearn).

Every function takes mono signals (N,) at one sample rate:
- `logmel_l1`: mean |log-mel(original) - log-mel(edit)| over the region, 128 mels (`training.metrics`'s
  definition: natural log, floored 80 dB below the original's peak). Lower is closer.
- `flatness_ratio`: the edit's mean spectral flatness over the original's (1 = as tonal as the original,
  > 1 noisier). Shaped noise sits far above 1; a smear of no notes too.
- `seam_flux_ratio`: spectral flux (mean |frame-to-frame log-mel change|) at the two region edges of
  the edited file, over the mean flux inside the original region. Natural audio at a random point is ~1;
  a click or a jump in level or timbre at a seam is far above it.
- `beat_ratio`: how much of the region's onset strength falls on the song's beats (tracked on the whole
  original as the song index does, engine.beats), the edit's over the original's: 1 keeps the groove.
- `two_sample_accuracy`: a classifier two-sample test (Lopez-Paz & Oquab 2017,
  https://arxiv.org/abs/1610.06545): logistic regression on per-frame features learns to tell
  edited frames from original ones; its held-out balanced accuracy, folds split by clip, is 0.5 when the
  two are indistinguishable and 1.0 when every frame gives itself away. Reference-free: no alignment;
  the features (`frame_features`) describe texture, not a clip's level, so they carry across clips.
- `visqol`: ViSQOL v3 MOS-LQO (audio mode, 48 kHz; 1 bad .. ~4.7 identical) of a signal against its
  reference, from the `visqol-python` package (its model ships inside the wheel).

Letters: N samples, M frames, F features.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence

import librosa
import numpy as np

from engine.audio import resample
from engine.beats import onset_envelope, song_beats, strength_at
from engine.song import FEATURE_HOP as FEATURE_HOP_16K
from engine.song import song_mel
from training.metrics import log_mel, log_mel_distance

log = logging.getLogger(__name__)

N_MELS = 128  # mel bands of the log-mel L1 and the flux (the edit benchmark's definition)
HOP = 256  # samples between analysis frames (16 ms at 16 kHz)
N_FFT = 1024
FEATURE_HOP = 512  # frames of the two-sample test's features
CONTRAST_BANDS = 6  # octave bands of the spectral contrast (above ~200 Hz at 16 kHz)
VISQOL_RATE = 48_000  # ViSQOL's audio mode is defined at 48 kHz
EPS = 1e-10
MODEL_RATE = 16_000  # beats are tracked as the song index does, on its 16 kHz log-mel


def logmel_l1(original: np.ndarray, edited: np.ndarray, sample_rate: int) -> float:
    """Log-mel L1 (128 mels) of an edited region (N,) to the original region (N,)."""
    return log_mel_distance(original, edited, sample_rate, n_mels=N_MELS)


def spectral_flatness(audio: np.ndarray) -> float:
    """Mean over frames of the power spectrum's geometric over arithmetic mean (0 tonal .. 1 white)."""
    flatness = librosa.feature.spectral_flatness(
        y=np.asarray(audio, np.float32), n_fft=N_FFT, hop_length=HOP, amin=EPS
    )
    return float(flatness.mean())


def flatness_ratio(original: np.ndarray, edited: np.ndarray) -> float:
    """Spectral flatness of the edit over that of the original (1 = as tonal)."""
    return spectral_flatness(edited) / max(spectral_flatness(original), EPS)


def frame_flux(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """(M - 1,) mean |log-mel change| between consecutive frames (hop HOP, frame m centred at m * HOP)."""
    spec = log_mel(audio, sample_rate, n_fft=N_FFT, hop=HOP, n_mels=N_MELS)  # (N_MELS, M)
    return np.abs(np.diff(spec, axis=1)).mean(axis=0)


def seam_flux(flux: np.ndarray, edges: Sequence[int], fade: int) -> float:
    """Mean flux of the frame pairs within `fade` + one hop of each edge sample."""
    values = []
    for edge in edges:
        lo = max(0, int(np.floor((edge - fade) / HOP)) - 1)
        hi = min(len(flux), int(np.ceil((edge + fade) / HOP)) + 1)
        values.extend(flux[lo:hi])
    if not values:
        raise ValueError("no flux frame near the region edges")
    return float(np.mean(values))


def seam_flux_ratio(
    original: np.ndarray, edited: np.ndarray, sample_rate: int, start: int, end: int, fade: int
) -> float:
    """Flux at the region edges of `edited` over the mean flux inside the original region.

    Args:
        original, edited: (N,) whole signals; the region is [start, end) samples.
        fade: crossfade length in samples (the seam spans it).
    """
    margin = fade + 4 * N_FFT  # enough frames around each edge; the rest of the file does not matter
    lo, hi = max(0, start - margin), min(len(edited), end + margin)
    flux = frame_flux(edited[lo:hi], sample_rate)  # (M - 1,)
    natural = float(frame_flux(original[start:end], sample_rate).mean())
    return seam_flux(flux, [start - lo, end - lo], fade) / max(natural, EPS)


def geometric_mean(values: Sequence[float]) -> float:
    """How the ratios are averaged over clips (one very tonal clip's 80x does not swamp the rest); NaN values
    (nothing to compare in that clip) are left out, and none left is NaN."""
    kept = [v for v in values if np.isfinite(v)]
    return float(np.exp(np.mean(np.log(np.maximum(kept, 1e-12))))) if kept else float("nan")


def beat_grid(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """(B,) the beats of a whole (N,) signal in samples, as the song index tracks them (engine.beats; empty
    when its onsets keep no grid)."""
    mono = resample(np.asarray(audio, np.float32)[None], sample_rate, MODEL_RATE)[0]
    beats = song_beats(song_mel(mono, MODEL_RATE), FEATURE_HOP_16K, MODEL_RATE)
    return beats * (sample_rate / MODEL_RATE)


def on_beat(audio: np.ndarray, sample_rate: int, start: int, end: int, beats: np.ndarray) -> float:
    """How much of the region's onset strength falls on `beats` (samples): the mean onset envelope at the
    beats inside [start, end) over its mean over the region (NaN without two beats there)."""
    inside = beats[(beats >= start) & (beats < end)]
    if len(inside) < 2:
        return float("nan")
    lo, hi = max(0, start - sample_rate), min(len(audio), end + sample_rate)  # a second each side: edges
    mono = resample(np.asarray(audio[lo:hi], np.float32)[None], sample_rate, MODEL_RATE)[0]
    env = onset_envelope(song_mel(mono, MODEL_RATE))  # (F,)
    scale = MODEL_RATE / sample_rate / FEATURE_HOP_16K
    first, last = int((start - lo) * scale), int(np.ceil((end - lo) * scale))
    frames = np.round((inside - lo) * scale).astype(np.int64)
    return strength_at(env, frames) / max(float(env[first:last].mean()), EPS)


def beat_ratio(
    original: np.ndarray, edited: np.ndarray, sample_rate: int, start: int, end: int, beats: np.ndarray
) -> float:
    """On-beat onset strength of the edit's region over the original's, at the song's beats (`beat_grid`):
    1 = the edit keeps the song's groove; material off the grid, a smear or noise fall toward 1 / the
    original's salience. NaN where the song has no grid or the region holds fewer than two beats."""
    return on_beat(edited, sample_rate, start, end, beats) / on_beat(original, sample_rate, start, end, beats)


def frame_features(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """(M, F) per-frame features of a region for the two-sample test: spectral contrast in octave bands
    (peaks over valleys: tonal vs noisy), log spectral flatness and the log-mel flux. All three describe
    texture rather than a clip's level or timbre, so a classifier trained on some clips carries over."""
    magnitude = np.abs(librosa.stft(np.asarray(audio, np.float32), n_fft=N_FFT, hop_length=FEATURE_HOP))
    contrast = librosa.feature.spectral_contrast(S=magnitude, sr=sample_rate, n_bands=CONTRAST_BANDS)
    flatness = np.log(librosa.feature.spectral_flatness(S=magnitude, amin=EPS) + EPS)  # (1, M)
    spec = log_mel(audio, sample_rate, n_fft=N_FFT, hop=FEATURE_HOP, n_mels=N_MELS)  # (N_MELS, M)
    flux = np.abs(np.diff(spec, axis=1, prepend=spec[:, :1])).mean(axis=0, keepdims=True)  # (1, M)
    return np.concatenate([contrast, flatness, flux]).T  # (M, CONTRAST_BANDS + 3)


def two_sample_accuracy(
    real: Sequence[tuple[int, np.ndarray]], fake: Sequence[tuple[int, np.ndarray]], seed: int = 0
) -> float:
    """Held-out balanced accuracy of a classifier telling `fake` frames from `real` ones (0.5 = alike).

    Args:
        real, fake: (clip index, (M, F) features) pairs; folds never split a clip, so the classifier is
            tested on clips it has not seen (with a single clip, frames are split at random instead).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold, StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = np.concatenate([f for _, f in real] + [f for _, f in fake])  # (M, F)
    y = np.concatenate([np.zeros(len(f)) for _, f in real] + [np.ones(len(f)) for _, f in fake])
    groups = np.concatenate([np.full(len(f), c) for c, f in [*real, *fake]])
    clips = len(np.unique(groups))
    if clips >= 2:
        folds, kwargs = GroupKFold(n_splits=min(5, clips)), {"groups": groups}
    else:
        folds, kwargs = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed), {}
    model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000, class_weight="balanced"))
    scores = cross_val_score(model, x, y, cv=folds, scoring="balanced_accuracy", **kwargs)
    return float(np.mean(scores))


@functools.lru_cache(maxsize=1)
def _visqol_api():
    from visqol import VisqolApi

    api = VisqolApi()
    api.create(mode="audio")
    return api


def visqol_available() -> str | None:
    """None when ViSQOL can run, else why not (the score is then left out)."""
    try:
        _visqol_api()
    except ImportError as err:
        return f"visqol-python is not installed ({err}): pip install -c constraints.txt -e '.[train]'"
    return None


def visqol(reference: np.ndarray, degraded: np.ndarray, sample_rate: int) -> float:
    """ViSQOL MOS-LQO of `degraded` against `reference` (both (N,)), scored at 48 kHz in audio mode."""
    ref = resample(np.asarray(reference, np.float32)[None], sample_rate, VISQOL_RATE)[0]
    deg = resample(np.asarray(degraded, np.float32)[None], sample_rate, VISQOL_RATE)[0]
    return float(
        _visqol_api().measure_from_arrays(ref.astype(np.float64), deg.astype(np.float64), VISQOL_RATE).moslqo
    )
