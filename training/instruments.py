"""Train the instrument-activity estimator (engine/instruments.py) on annotated audio.

Each second of each annotated piece (the synthetic corpus's per-second activity; real songs whose stems
gave them annotations) is one example: its `second_features` and the multi-hot of who plays. A
scikit-learn MLP learns all instruments at once (multi-label); its weights are copied into the numpy
`InstrumentEstimator`, so the engine runs the same function without sklearn. Scores are per second on
pieces the training never saw: accuracy per instrument (and their mean), precision and recall, and how
often the whole set of players is exactly right.

Letters: S seconds, F features, I instruments.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass, field

import numpy as np
from sklearn.neural_network import MLPClassifier
from tqdm import tqdm

from engine import audio as audio_io
from engine.instruments import SAMPLE_RATE, InstrumentEstimator, second_features
from training.data import annotations
from training.data.manifest import Entry

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EstimatorTrainConfig:
    hidden: tuple[int, ...] = (256,)  # MLP hidden widths (measured: 256 and 256-128 tie on held-out pieces)
    alpha: float = 1e-2  # L2 penalty: keeps the net from memorising a piece's mix
    max_iter: int = 300  # Adam epochs (early stopping on a tenth of the training seconds usually ends sooner)
    seed: int = 0


@dataclass
class EstimatorReport:
    names: list[str]
    train_seconds: int
    test_seconds: int
    accuracy: dict[str, float] = field(default_factory=dict)  # per instrument, per second
    precision: dict[str, float] = field(default_factory=dict)
    recall: dict[str, float] = field(default_factory=dict)
    mean_accuracy: float = math.nan  # mean of the per-instrument accuracies
    exact_set: float = math.nan  # fraction of seconds whose whole set of players is right
    skipped: list[str] = field(default_factory=list)  # entries without annotations or unreadable audio

    def format(self) -> str:
        lines = [
            f"instrument estimator: {self.train_seconds} training seconds, {self.test_seconds} held-out seconds",
            f"{'instrument':<12} {'accuracy':>9} {'precision':>10} {'recall':>7}",
        ]
        for name in self.names:
            lines.append(
                f"{name:<12} {self.accuracy[name]:>9.3f} {self.precision[name]:>10.3f} {self.recall[name]:>7.3f}"
            )
        lines.append(
            f"mean per-second accuracy {self.mean_accuracy:.3f}; exact set of players {self.exact_set:.3f}"
        )
        if self.skipped:
            lines.append(f"skipped {len(self.skipped)} entries (no annotations or unreadable audio)")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return asdict(self)


def entry_examples(entry: Entry) -> tuple[np.ndarray, np.ndarray]:
    """One annotated entry -> (S, F) features and (S, I) activity in `annotations.INSTRUMENTS` order."""
    if entry.annotations is None:
        raise ValueError(f"{entry.path}: no annotations (who plays is unknown)")
    ann = annotations.load(entry.annotations)
    duration = None if entry.end is None else entry.end - entry.start
    audio, _ = audio_io.load(entry.path, SAMPLE_RATE, mono=True, start=entry.start, duration=duration)
    features = second_features(audio[0])  # (S, F)
    activity = annotations.activity_frames(ann, 1.0, len(features), start=entry.start)  # (S, I)
    return features, activity


def collect(entries: list[Entry], desc: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Stack the examples of many entries; entries that cannot be used are skipped and named."""
    xs, ys, skipped = [], [], []
    for entry in tqdm(entries, desc=desc, unit="piece"):
        try:
            x, y = entry_examples(entry)
        except (OSError, ValueError) as err:
            log.warning("skipping %s: %s", entry.path, err)
            skipped.append(str(entry.path))
            continue
        xs.append(x)
        ys.append(y)
    if not xs:
        raise ValueError(f"none of the {len(entries)} entries has readable audio and annotations")
    return np.concatenate(xs), np.concatenate(ys), skipped


def fit(x: np.ndarray, y: np.ndarray, config: EstimatorTrainConfig) -> InstrumentEstimator:
    """Fit the MLP on (S, F) features and (S, I) activity; return the numpy estimator."""
    mean = x.mean(axis=0)
    scale = x.std(axis=0) + 1e-6
    mlp = MLPClassifier(
        config.hidden,
        alpha=config.alpha,
        max_iter=config.max_iter,
        early_stopping=True,
        random_state=config.seed,
    )
    mlp.fit((x - mean) / scale, y)
    return InstrumentEstimator(
        names=annotations.INSTRUMENTS,
        mean=mean.astype(np.float32),
        scale=scale.astype(np.float32),
        weights=tuple(w.astype(np.float32) for w in mlp.coefs_),
        biases=tuple(b.astype(np.float32) for b in mlp.intercepts_),
    )


def score(estimator: InstrumentEstimator, x: np.ndarray, y: np.ndarray, report: EstimatorReport) -> None:
    """Fill the report's per-second scores of `estimator` on held-out (S, F) features and (S, I) truth."""
    predicted = (estimator.probabilities_from_features(x) >= estimator.threshold).astype(np.uint8)  # (S, I)
    for i, name in enumerate(estimator.names):
        p, t = predicted[:, i], y[:, i]
        report.accuracy[name] = float((p == t).mean())
        report.precision[name] = float((p & t).sum() / max(p.sum(), 1))
        report.recall[name] = float((p & t).sum() / max(t.sum(), 1))
    report.mean_accuracy = float(np.mean(list(report.accuracy.values())))
    report.exact_set = float((predicted == y).all(axis=1).mean())
