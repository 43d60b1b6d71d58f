"""The quality classifier: ExtraTrees on segment features, p(good) per 5 s segment.

Training reports k-fold accuracy with folds split by recording (a recording, under one file name or
several, is never in the training and the test part of a fold at once, so the figure is about unseen
recordings), the out-of-fold confusion matrix and the most useful features, and chooses the song threshold
from the out-of-fold predictions unless they are no better than chance. The saved file (joblib) holds the model with its FEATURE_VERSION, the feature config
and the training metadata; loading a filter made with another feature version is refused.
"""

from __future__ import annotations

import logging
import pickle
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from scipy.stats import mannwhitneyu
from sklearn.ensemble import ExtraTreesClassifier
from sklearn.metrics import confusion_matrix
from sklearn.model_selection import StratifiedGroupKFold
from tqdm import tqdm

from engine.audio import AudioError
from training.data.quality.clips import load_clip
from training.data.quality.features import FEATURE_VERSION, FeatureConfig, audio_features, feature_names
from training.data.quality.labels import Label
from training.data.quality.recordings import recording_groups

log = logging.getLogger(__name__)

FORMAT = "musegenie-quality-filter"
DEFAULT_THRESHOLD = 0.55  # the seed's song threshold: filters that could not be cross-validated keep it
NEUTRAL_THRESHOLD = 0.5  # where a classifier that weighs the classes alike is undecided: kept when the
# out-of-fold predictions are no better than chance, instead of a threshold fitted to noise
CHANCE_P = 0.05  # out-of-fold songs ranked good above bad with a Mann-Whitney p-value below this beat chance


@dataclass
class FilterTrainConfig:
    n_estimators: int = 400  # trees: more only smooth the probabilities, ExtraTrees barely overfit
    min_samples_leaf: int = 2  # leaves of at least 2 segments give less all-or-nothing probabilities
    max_features: float = 0.5  # share of features tried per split: beats sqrt on few clips

    folds: int = 10  # k of the k-fold accuracy and threshold (split by recording; fewer when a class has
    # fewer): out-of-fold models trained on 90 % of the recordings judge like the final one, so the threshold holds
    top_features: int = 12  # how many of the most useful features the report lists
    seed: int = 0  # seeds the trees and the fold split
    n_jobs: int = 1  # cores for the trees (-1 = all)


class FilterFormatError(ValueError):
    """A file that is not a quality filter, or one made with another feature version."""


@dataclass
class QualityFilter:
    model: ExtraTreesClassifier  # classes_ are [0, 1] = [bad, good]
    feature_config: FeatureConfig
    metadata: dict[str, Any] = field(default_factory=dict)  # training data, report, config, date
    feature_version: int = FEATURE_VERSION
    threshold: float = (
        DEFAULT_THRESHOLD  # song pass threshold on mean p(good), chosen out of fold in training
    )

    def predict_good(self, features: np.ndarray) -> np.ndarray:
        """(S, D) features -> (S,) p(good) float32."""
        proba = self.model.predict_proba(features)  # (S, classes)
        classes = list(self.model.classes_)
        if 1 not in classes:
            return np.zeros(len(features), dtype=np.float32)
        return proba[:, classes.index(1)].astype(np.float32)


@dataclass
class TrainReport:
    recordings: int  # labelled recordings whose audio could be read (the units the folds keep whole)
    segments: int  # feature rows (clips longer than a segment give several)
    good: int  # good segments
    bad: int  # bad segments
    folds: int  # k actually used (0 = too few recordings per class for cross-validation)
    fold_accuracy: list[float]  # accuracy of each fold
    confusion: list[list[int]]  # out-of-fold, rows = true [bad, good], columns = predicted [bad, good]
    top_features: list[tuple[str, float]]  # (name, mean impurity decrease), most useful first
    unreadable: list[str]  # labelled clips whose audio could not be read
    threshold: float = DEFAULT_THRESHOLD  # the song threshold the filter keeps
    threshold_rule: str = "no cross-validation"  # how it was set: "out of fold" | "chance" (neutral kept)
    chance_p: float = float("nan")  # Mann-Whitney p that out-of-fold good songs outrank bad ones by chance

    @property
    def accuracy(self) -> float:
        return float(np.mean(self.fold_accuracy)) if self.fold_accuracy else float("nan")

    def format(self) -> str:
        lines = [f"{self.recordings} recordings, {self.segments} segments ({self.good} good, {self.bad} bad)"]
        if self.folds:
            lines.append(
                f"{self.folds}-fold accuracy (split by recording): {self.accuracy:.3f} +- "
                f"{np.std(self.fold_accuracy):.3f}"
            )
            (tn, fp), (fn, tp) = self.confusion
            lines += [
                "confusion (rows true, columns predicted):",
                "         bad   good",
                f"  bad  {tn:5d}  {fp:5d}",
                f"  good {fn:5d}  {tp:5d}",
            ]
            if self.threshold_rule == "chance":
                lines.append(
                    f"WARNING: out of fold, good songs rank above bad ones no better than chance (Mann-Whitney "
                    f"p = {self.chance_p:.2g} >= {CHANCE_P}): neutral song threshold {self.threshold:.2f} kept; "
                    "label more recordings"
                )
            else:
                lines.append(
                    f"song threshold (best balanced accuracy out of fold): {self.threshold:.2f} (better than "
                    f"chance: Mann-Whitney p = {self.chance_p:.2g})"
                )
        else:
            lines.append(
                f"no cross-validation: each class needs at least 2 recordings; song threshold {self.threshold:.2f}"
            )
        lines.append("most useful features:")
        lines += [f"  {name:<18} {value:.4f}" for name, value in self.top_features]
        if self.unreadable:
            lines.append(f"{len(self.unreadable)} unreadable clips skipped: {', '.join(self.unreadable[:5])}")
        return "\n".join(lines)


def labelled_features(
    labels: list[Label], config: FeatureConfig = FeatureConfig()
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Features of labelled clips -> (X (S, D), y (S,) 1 = good, groups (S,) recording index, unreadable
    paths). Recordings come from the labels' `group` column, else from the audio (recordings.py)."""
    recordings = recording_groups(labels)  # (len(labels),)
    rows, targets, groups, unreadable = [], [], [], []
    for item, recording in zip(
        tqdm(labels, desc="features", unit="clip", disable=None), recordings, strict=True
    ):
        try:
            audio = load_clip(item.path, item.start, item.duration, config)  # (N,)
        except AudioError as err:
            log.warning("skipped: %s", err)
            unreadable.append(str(item.path))
            continue
        features, _ = audio_features(audio, config)  # (s, D)
        rows.append(features)
        targets.append(np.full(len(features), int(item.label == "good")))
        groups.append(np.full(len(features), recording))
    if not rows:
        raise ValueError("no labelled clip could be read")
    return np.concatenate(rows), np.concatenate(targets), np.concatenate(groups), unreadable


def _model(config: FilterTrainConfig) -> ExtraTreesClassifier:
    return ExtraTreesClassifier(
        n_estimators=config.n_estimators,
        min_samples_leaf=config.min_samples_leaf,
        max_features=config.max_features,
        random_state=config.seed,
        n_jobs=config.n_jobs,
        class_weight="balanced",  # damaged copies of each song outnumber it: weigh the classes alike
    )


def _song_means(proba: np.ndarray, y: np.ndarray, units: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(S,) p(good), labels and unit ids -> ((U,) mean p(good) per unit, (U,) whether the unit is good)."""
    _, index = np.unique(units.astype(np.int64) * 2 + y, return_inverse=True)  # (S,) a unit has one label
    count = np.bincount(index)  # (U,)
    return np.bincount(index, proba) / count, np.bincount(index, y) / count > 0.5


def song_threshold(proba: np.ndarray, y: np.ndarray, units: np.ndarray) -> float:
    """The threshold on a song's mean p(good) that best separates clean from damaged songs out of fold.

    proba (S,) out-of-fold p(good), y (S,) labels, units (S,) ids of what is scored as one song (a clip,
    or one version of a song). Maximises balanced accuracy; of equally good thresholds, the middle one.
    """
    mean, good = _song_means(proba, y, units)  # (U,) each
    if good.all() or not good.any():
        return DEFAULT_THRESHOLD
    candidates = np.round(np.arange(0.05, 0.951, 0.01), 2)
    scores = np.array([0.5 * (mean[good] > t).mean() + 0.5 * (mean[~good] <= t).mean() for t in candidates])
    best = candidates[scores >= scores.max() - 1e-9]
    return float(best[len(best) // 2])


def chance_p_value(proba: np.ndarray, y: np.ndarray, units: np.ndarray) -> float:
    """How likely chance alone ranks the good songs' mean out-of-fold p(good) as far above the bad songs' as
    they are: the one-sided Mann-Whitney U test's p-value (1 when a class has no song)."""
    mean, good = _song_means(proba, y, units)  # (U,) each
    if good.all() or not good.any():
        return 1.0
    return float(mannwhitneyu(mean[good], mean[~good], alternative="greater").pvalue)


def train_filter(
    x: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    config: FilterTrainConfig = FilterTrainConfig(),
    feature_config: FeatureConfig = FeatureConfig(),
    units: np.ndarray | None = None,
) -> tuple[QualityFilter, TrainReport]:
    """Cross-validate by recording, choose the song threshold out of fold, then fit on everything.

    x (S, D), y (S,) 1 = good, groups (S,) recording ids (folds never split one), units (S,) what is scored
    as one song when choosing the threshold (default: a recording's segments of one label). When the
    out-of-fold songs are ranked no better than chance (chance_p_value >= CHANCE_P), the threshold fitted
    to them would fit noise, and often an extreme one: NEUTRAL_THRESHOLD is kept, with a warning.
    """
    songs_per_class = [len(np.unique(groups[y == c])) for c in (0, 1)]
    folds = min(config.folds, *songs_per_class)
    fold_accuracy, predicted, proba = [], np.full(len(y), -1), np.zeros(len(y))
    if folds >= 2:
        splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=config.seed)
        for train, test in splitter.split(x, y, groups):
            proba[test] = _model(config).fit(x[train], y[train]).predict_proba(x[test])[:, 1]
            predicted[test] = proba[test] > 0.5
            fold_accuracy.append(float((predicted[test] == y[test]).mean()))
    else:
        folds = 0
        log.warning("too few recordings per class (%s) for cross-validation", songs_per_class)
    units = groups if units is None else units
    chance_p, threshold, rule = float("nan"), DEFAULT_THRESHOLD, "no cross-validation"
    if folds:
        chance_p = chance_p_value(proba, y, units)
        threshold, rule = song_threshold(proba, y, units), "out of fold"
        if chance_p >= CHANCE_P:
            threshold, rule = NEUTRAL_THRESHOLD, "chance"
            log.warning(
                "out-of-fold predictions are no better than chance (Mann-Whitney p = %.2g): "
                "the neutral song threshold %.2f is kept",
                chance_p,
                NEUTRAL_THRESHOLD,
            )
    model = _model(config).fit(x, y)
    names = feature_names(feature_config)
    order = np.argsort(model.feature_importances_)[::-1][: config.top_features]
    confusion = (
        confusion_matrix(y[predicted >= 0], predicted[predicted >= 0], labels=[0, 1])
        if folds
        else np.zeros((2, 2))
    )
    report = TrainReport(
        recordings=len(np.unique(groups)),
        segments=len(y),
        good=int(y.sum()),
        bad=int(len(y) - y.sum()),
        folds=folds,
        fold_accuracy=fold_accuracy,
        confusion=confusion.astype(int).tolist(),
        top_features=[(names[i], float(model.feature_importances_[i])) for i in order],
        unreadable=[],
        threshold=threshold,
        threshold_rule=rule,
        chance_p=chance_p,
    )
    metadata = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "train_config": asdict(config),
    }
    return QualityFilter(model, feature_config, metadata, threshold=report.threshold), report


def save_filter(quality_filter: QualityFilter, path: str | Path) -> Path:
    """Write the filter (model, feature version and config, metadata) with joblib."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT,
        "feature_version": quality_filter.feature_version,
        "feature_config": asdict(quality_filter.feature_config),
        "feature_names": feature_names(quality_filter.feature_config),
        "metadata": quality_filter.metadata,
        "threshold": quality_filter.threshold,
        "model": quality_filter.model,
    }
    joblib.dump(payload, path, compress=3)
    return path


def load_filter(path: str | Path) -> QualityFilter:
    """Read a filter written by save_filter; raises FilterFormatError on another format or feature version."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such filter file")
    try:
        payload = joblib.load(path)
    except (EOFError, ValueError, KeyError, OSError, pickle.UnpicklingError) as err:
        raise FilterFormatError(f"{path}: not a readable filter file ({err})") from err
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise FilterFormatError(f"{path}: not a musegenie quality filter")
    if payload["feature_version"] != FEATURE_VERSION:
        raise FilterFormatError(
            f"{path}: made with feature version {payload['feature_version']}, this code computes version "
            f"{FEATURE_VERSION}: retrain it with `musegenie data train-filter`"
        )
    config = FeatureConfig(**payload["feature_config"])
    threshold = payload.get("threshold", DEFAULT_THRESHOLD)
    return QualityFilter(payload["model"], config, payload["metadata"], payload["feature_version"], threshold)
