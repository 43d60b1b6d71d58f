"""Annotations of the synthetic corpus: the instrument and event vocabularies, reading, per-frame arrays.

A piece's `NAME.json` (see docs/interfaces.md) holds per-second instrument activity and timed musical
events. Models work on frames (a tokenizer hop at some frame rate), so the helpers here turn seconds into
frames at any frame rate: activity as a multi-hot `(T, I)` array, events as onsets in a `(T, E)` array.
Letters: T frames, I instruments, E event types.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

INSTRUMENTS = ("piano", "guitar", "bass", "drums", "sax", "trumpet", "vibes")
EVENT_TYPES = (
    "enter",
    "exit",
    "solo_change",
    "dynamics_up",
    "dynamics_down",
    "register_jump",
    "drum_pattern",
    "bass_mode",
)
QUALITIES = ("good", "bad")
DEGRADATIONS = ("crackle", "hiss", "hum", "band_limit", "wow_flutter", "clipping")
REQUIRED_KEYS = (
    "name",
    "sample_rate",
    "duration",
    "tempo",
    "key",
    "instruments",
    "activity",
    "events",
    "quality",
    "degradations",
)


class AnnotationError(ValueError):
    """An annotation that breaks the contract: the message says which one and why."""


def validate(ann: dict[str, Any], source: str = "annotation") -> dict[str, Any]:
    """Check an annotation dict against the contract in docs/interfaces.md; return it unchanged."""
    missing = [k for k in REQUIRED_KEYS if k not in ann]
    if missing:
        raise AnnotationError(f"{source}: missing keys {missing}")
    unknown = [name for name in ann["instruments"] if name not in INSTRUMENTS]
    if unknown:
        raise AnnotationError(f"{source}: unknown instruments {unknown}")
    activity = np.asarray(ann["activity"])
    seconds = math.ceil(float(ann["duration"]) - 1e-6)
    if activity.shape != (seconds, len(ann["instruments"])):
        raise AnnotationError(
            f"{source}: activity has shape {activity.shape}, expected ({seconds}, {len(ann['instruments'])})"
        )
    if activity.size and not np.isin(activity, (0, 1)).all():
        raise AnnotationError(f"{source}: activity must be 0 or 1")
    for event in ann["events"]:
        if event.get("type") not in EVENT_TYPES:
            raise AnnotationError(f"{source}: unknown event type {event.get('type')!r}")
        if not 0.0 <= float(event["time"]) < float(ann["duration"]):
            raise AnnotationError(f"{source}: event at {event['time']} s lies outside the piece")
        if event.get("instrument") is not None and event["instrument"] not in INSTRUMENTS:
            raise AnnotationError(f"{source}: event names unknown instrument {event['instrument']!r}")
    if ann["quality"] not in QUALITIES:
        raise AnnotationError(f"{source}: quality must be one of {QUALITIES}, got {ann['quality']!r}")
    bad = [d for d in ann["degradations"] if d not in DEGRADATIONS]
    if bad:
        raise AnnotationError(f"{source}: unknown degradations {bad}")
    if (ann["quality"] == "bad") != bool(ann["degradations"]):
        raise AnnotationError(f"{source}: quality {ann['quality']!r} disagrees with degradations")
    return ann


def load(path: str | os.PathLike) -> dict[str, Any]:
    """Read and validate a `NAME.json` annotation file."""
    path = Path(path)
    try:
        ann = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise AnnotationError(f"{path}: not a readable annotation ({err})") from err
    return validate(ann, source=str(path))


def activity_frames(ann: dict[str, Any], frame_rate: float, frames: int, start: float = 0.0) -> np.ndarray:
    """Per-frame instrument activity: `(T, I)` uint8 with columns in INSTRUMENTS order.

    Frame t covers `start + [t, t + 1) / frame_rate` seconds of the piece and takes the activity of the
    second its centre falls in (clamped to the piece). Instruments the annotation does not list stay 0.
    """
    out = np.zeros((frames, len(INSTRUMENTS)), dtype=np.uint8)  # (T, I)
    activity = np.asarray(ann["activity"], dtype=np.uint8)  # (seconds, len(ann["instruments"]))
    if frames == 0 or activity.size == 0:
        return out
    centres = start + (np.arange(frames) + 0.5) / frame_rate  # (T,)
    seconds = np.clip(np.floor(centres).astype(np.int64), 0, len(activity) - 1)  # (T,)
    for col, name in enumerate(ann["instruments"]):
        out[:, INSTRUMENTS.index(name)] = activity[seconds, col]
    return out


def event_frames(ann: dict[str, Any], frame_rate: float, frames: int, start: float = 0.0) -> np.ndarray:
    """Per-frame event onsets: `(T, E)` uint8, 1 in the frame that contains the event's time.

    Columns follow EVENT_TYPES. Events before `start` or after the last frame are dropped.
    """
    out = np.zeros((frames, len(EVENT_TYPES)), dtype=np.uint8)  # (T, E)
    for event in ann["events"]:
        frame = math.floor((float(event["time"]) - start) * frame_rate + 1e-6)
        if 0 <= frame < frames:
            out[frame, EVENT_TYPES.index(event["type"])] = 1
    return out
