"""The labels CSV: `path,start,duration,label` with label `good` or `bad`, one labelled clip per row.

Written by `musegenie data label` (a row is appended as soon as a clip is labelled, so a session can stop
at any time and resume), read by `musegenie data train-filter`. Paths are written absolute; relative paths
in a hand-made CSV are read relative to the CSV's folder.

An optional `group` column names the recording a clip comes from, so that cross-validation never puts one
recording (a clean and a worn copy, excerpts of one song) on both sides of a fold: rows with the same
group are one recording, and a row with an empty group is its own file's. Without the column,
train-filter finds copies of one recording by ear (recordings.py).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from training.data.quality.clips import Clip
from training.data.quality.sources import Source

COLUMNS = ("path", "start", "duration", "label")
LABELS = ("good", "bad")


@dataclass(frozen=True)
class Label:
    path: Path  # absolute audio path
    start: float  # clip start, seconds
    duration: float  # clip length, seconds
    label: str  # "good" | "bad"
    group: str = ""  # the recording it comes from ("" = not given)

    @property
    def clip(self) -> Clip:
        return Clip(self.path, self.start, self.duration)


def clip_key(path: str | Path, start: float) -> tuple[str, float]:
    """What identifies a clip when resuming: its resolved path and start (to the millisecond)."""
    return str(Path(path).resolve()), round(float(start), 3)


def read_labels(path: str | Path, default_duration: float = 5.0, base: Path | None = None) -> list[Label]:
    """Rows of a labels CSV (`duration` may be missing: default_duration). Raises ValueError on a bad row.

    Relative paths are resolved against `base` (default: the CSV's folder).
    """
    path = Path(path)
    base = path.parent if base is None else Path(base)
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"path", "label"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(
                f"{path}: labels CSV lacks column(s) {sorted(missing)} (has {reader.fieldnames})"
            )
        rows = list(reader)
    labels = []
    for number, row in enumerate(rows, 2):
        label = (row.get("label") or "").strip().lower()
        if label not in LABELS:
            raise ValueError(f"{path}:{number}: label {row.get('label')!r} is not one of {LABELS}")
        try:
            start = float(row.get("start") or 0.0)
            duration = float(row.get("duration") or default_duration)
        except ValueError as err:
            raise ValueError(f"{path}:{number}: {err}") from err
        group = (row.get("group") or "").strip()
        labels.append(Label((base / row["path"]).resolve(), start, duration, label, group))
    return labels


def append_labels(path: str | Path, labels: list[Label]) -> None:
    """Append rows (writing the header first if the file is new or empty) and flush them to disk."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists() or path.stat().st_size == 0
    with path.open("a", newline="") as fh:
        writer = csv.writer(fh)
        if new:
            writer.writerow(COLUMNS)
        for item in labels:
            writer.writerow([str(item.path), f"{item.start:g}", f"{item.duration:g}", item.label])
        fh.flush()


def labels_from_annotations(clips: list[Clip], sources: list[Source]) -> list[Label]:
    """Label clips by the `quality` annotation of their song (the synthetic corpus knows what it degraded).

    Raises ValueError naming the first song without a good/bad annotation.
    """
    quality = {s.path: s.quality for s in sources}
    labels = []
    for clip in clips:
        value = quality.get(clip.path)
        if value is None:
            raise ValueError(f"{clip.path}: no 'quality' annotation (expected 'good' or 'bad')")
        labels.append(Label(clip.path, clip.start, clip.duration, value))
    return labels
