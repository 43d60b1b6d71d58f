"""Who plays: a per-second instrument-activity estimator that runs without torch.

The engine uses it to fill the context's instrument multi-hot from the audio (an instrument-conditioned
bundle needs it for every edit), `actions infer` reports who plays per chunk with it, and `eval edit`
measures with it whether an edit that asked for an instrument set got it. It is a small multi-label MLP
(trained with scikit-learn by `musegenie train instruments`, see training/instruments.py) over per-second
log-mel statistics; its weights travel in a `.npz` that needs only numpy to load, so the bundle stays
torch- and sklearn-free.

Letters: S seconds, F features, M mel bands, I instruments, T frames.
"""

from __future__ import annotations

import math
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.spectrogram import log_mel

FEATURE_VERSION = 1
SAMPLE_RATE = 16000  # features are computed on mono audio at this rate
N_MELS = 64
N_FFT = 1024
HOP = 256
THRESHOLD = 0.5  # probability above which an instrument counts as playing
HEARD_SHARE = 0.5  # an instrument plays in a passage when it plays in at least this share of its seconds
BUNDLE_FILE = "instruments.npz"  # the estimator's name inside a bundle folder


class EstimatorError(ValueError):
    """An estimator file that cannot be used (missing, corrupt, or of another feature version)."""


def second_features(
    audio: np.ndarray, sample_rate: int = SAMPLE_RATE, mel: np.ndarray | None = None
) -> np.ndarray:
    """Per-second log-mel statistics of mono audio: (S, 4 M) with S = ceil(seconds).

    For each band and each whole second: the mean and standard deviation of its level (who is loud, how it
    moves), the mean frame-to-frame change (drums and plucked notes change fast, pads do not) and the 90th
    percentile (a note's attack). A last partial second uses the frames it has. `mel` (M, F), when given,
    is the audio's `log_mel` with this module's N_MELS, N_FFT and HOP, already computed (the song index's).
    """
    if sample_rate != SAMPLE_RATE:
        raise ValueError(f"second_features expects {SAMPLE_RATE} Hz audio, got {sample_rate} Hz")
    audio = np.asarray(audio, dtype=np.float32)
    seconds = math.ceil(audio.shape[-1] / sample_rate)
    if seconds == 0:
        return np.zeros((0, 4 * N_MELS), np.float32)
    if mel is None:
        mel = log_mel(audio, sample_rate, n_mels=N_MELS, n_fft=N_FFT, hop=HOP)  # (M, F)
    per_second = sample_rate / HOP
    rows = []
    for s in range(seconds):
        lo = min(int(round(s * per_second)), mel.shape[1] - 1)
        hi = max(int(round((s + 1) * per_second)), lo + 2)
        x = mel[:, lo:hi]  # (M, frames of this second)
        change = np.abs(np.diff(x, axis=1)).mean(axis=1) if x.shape[1] > 1 else np.zeros(N_MELS)
        rows.append(np.concatenate([x.mean(axis=1), x.std(axis=1), change, np.percentile(x, 90, axis=1)]))
    return np.asarray(rows, dtype=np.float32)  # (S, 4 M)


def seconds_to_frames(activity: np.ndarray, frame_rate: float, frames: int, start: float = 0.0) -> np.ndarray:
    """Per-second activity (S, I) to per-frame (T, I): frame t takes the second its centre falls in."""
    out = np.zeros((frames, activity.shape[1]), dtype=np.float32)  # (T, I)
    if frames == 0 or len(activity) == 0:
        return out
    centres = start + (np.arange(frames) + 0.5) / frame_rate  # (T,)
    index = np.clip(np.floor(centres).astype(np.int64), 0, len(activity) - 1)  # (T,)
    return activity[index].astype(np.float32)


@dataclass(frozen=True)
class InstrumentEstimator:
    """A multi-label MLP (ReLU hidden layers, sigmoid outputs) over standardised `second_features`."""

    names: tuple[str, ...]  # I instrument names, in output order
    mean: np.ndarray  # (F,) feature mean over the training seconds
    scale: np.ndarray  # (F,) feature standard deviation
    weights: tuple[np.ndarray, ...]  # per layer (F_in, F_out)
    biases: tuple[np.ndarray, ...]  # per layer (F_out,)
    threshold: float = THRESHOLD

    def __post_init__(self) -> None:
        if not self.names or len(self.weights) != len(self.biases) or not self.weights:
            raise EstimatorError("an instrument estimator needs names and one bias per weight matrix")
        if self.weights[-1].shape[1] != len(self.names):
            raise EstimatorError(
                f"the estimator's last layer has {self.weights[-1].shape[1]} outputs for {len(self.names)} names"
            )
        if self.weights[0].shape[0] != self.mean.shape[0]:
            raise EstimatorError("the estimator's first layer does not match its feature size")

    def probabilities_from_features(self, features: np.ndarray) -> np.ndarray:
        """(S, F) features -> (S, I) probability that each instrument plays in each second."""
        x = (features - self.mean) / self.scale  # (S, F)
        for w, b in zip(self.weights[:-1], self.biases[:-1], strict=True):
            x = np.maximum(x @ w + b, 0.0)  # (S, hidden)
        logits = x @ self.weights[-1] + self.biases[-1]  # (S, I)
        return (1.0 / (1.0 + np.exp(-np.clip(logits, -60.0, 60.0)))).astype(np.float32)

    def probabilities(
        self, audio: np.ndarray, sample_rate: int = SAMPLE_RATE, mel: np.ndarray | None = None
    ) -> np.ndarray:
        """Mono audio at 16 kHz -> (S, I) probabilities, one row per (started) second."""
        return self.probabilities_from_features(second_features(audio, sample_rate, mel))

    def activity(
        self, audio: np.ndarray, sample_rate: int = SAMPLE_RATE, mel: np.ndarray | None = None
    ) -> np.ndarray:
        """Mono audio at 16 kHz -> (S, I) 0/1 multi-hot of who plays in each second (`mel`: its
        precomputed log-mel, see `second_features`)."""
        return (self.probabilities(audio, sample_rate, mel) >= self.threshold).astype(np.uint8)

    def save(self, path: str | os.PathLike) -> Path:
        path = Path(path)
        arrays = {"mean": self.mean, "scale": self.scale}
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            arrays[f"w{i}"], arrays[f"b{i}"] = w.astype(np.float32), b.astype(np.float32)
        np.savez(
            path,
            names=np.asarray(self.names),
            threshold=np.float32(self.threshold),
            feature_version=np.int64(FEATURE_VERSION),
            layers=np.int64(len(self.weights)),
            **arrays,
        )
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> InstrumentEstimator:
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as data:
                version = int(data["feature_version"])
                if version != FEATURE_VERSION:
                    raise EstimatorError(
                        f"{path}: instrument estimator of feature version {version}; this engine reads "
                        f"version {FEATURE_VERSION}: retrain it with `musegenie train instruments`"
                    )
                layers = int(data["layers"])
                return cls(
                    names=tuple(str(n) for n in data["names"]),
                    mean=data["mean"].astype(np.float32),
                    scale=data["scale"].astype(np.float32),
                    weights=tuple(data[f"w{i}"] for i in range(layers)),
                    biases=tuple(data[f"b{i}"] for i in range(layers)),
                    threshold=float(data["threshold"]),
                )
        except (OSError, KeyError, ValueError) as err:
            if isinstance(err, EstimatorError):
                raise
            raise EstimatorError(f"{path}: not a readable instrument estimator ({err})") from err


def install(source: str | os.PathLike, bundle_dir: str | os.PathLike, vocabulary: Sequence[str]) -> str:
    """Copy an estimator into a bundle folder after checking that it loads and hears every instrument of
    the bundle's conditioning vocabulary; returns its file name there (the manifest's estimator key)."""
    estimator = InstrumentEstimator.load(source)
    missing = [name for name in vocabulary if name not in estimator.names]
    if missing:
        raise EstimatorError(
            f"{source}: the instrument estimator cannot hear {missing} (it knows {list(estimator.names)})"
        )
    shutil.copyfile(source, Path(bundle_dir) / BUNDLE_FILE)
    return BUNDLE_FILE
