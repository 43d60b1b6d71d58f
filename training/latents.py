"""The latent cache: one `NAME.npz` per source entry plus an `index.jsonl`, and windows over it for training.

Format (docs/interfaces.md, "Latent cache"): `NAME.npz` holds `latents` (T, D) float16 and, when the entry
was annotated, `instruments` (T, I) uint8 multi-hot and `events` (T, E) uint8 onsets; each `index.jsonl`
line is `{"name", "source", "start", "frames", "frame_rate", "tokenizer_sha"}` (plus `annotated`).
An entry's npz is written atomically before its index line is appended (one `write` on an O_APPEND file),
so shards can write into one folder at once and an interrupted run resumes from the index.
Letters: T frames, D latent channels, I instruments, E event types.
"""

from __future__ import annotations

import json
import logging
import os
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.published_file import atomic_write
from training.data.annotations import EVENT_TYPES, INSTRUMENTS

log = logging.getLogger(__name__)

INDEX = "index.jsonl"


def read_index(latent_dir: str | os.PathLike) -> list[dict[str, Any]]:
    """Index records in write order; a torn last line (a run killed mid-append) is skipped with a warning."""
    path = Path(latent_dir) / INDEX
    if not path.is_file():
        return []
    records: dict[str, dict[str, Any]] = {}
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            log.warning("%s:%d: skipping an unreadable index line", path, n)
            continue
        records[record["name"]] = record
    return list(records.values())


def write_entry(
    latent_dir: str | os.PathLike,
    name: str,
    latents: np.ndarray,
    *,
    source: str,
    start: float,
    frame_rate: float,
    tokenizer_sha: str,
    instruments: np.ndarray | None = None,
    events: np.ndarray | None = None,
) -> dict[str, Any]:
    """Write `NAME.npz` atomically, then append its index line; returns the index record."""
    latent_dir = Path(latent_dir)
    latent_dir.mkdir(parents=True, exist_ok=True)
    arrays = {"latents": np.asarray(latents, dtype=np.float16)}  # (T, D)
    frames = arrays["latents"].shape[0]
    for key, value in (("instruments", instruments), ("events", events)):
        if value is not None:
            if value.shape[0] != frames:
                raise ValueError(f"{name}: {key} has {value.shape[0]} frames, latents have {frames}")
            arrays[key] = np.asarray(value, dtype=np.uint8)  # (T, I) or (T, E)
    with atomic_write(latent_dir / f"{name}.npz") as fh:
        np.savez(fh, **arrays)
    record = {
        "name": name,
        "source": source,
        "start": float(start),
        "frames": int(frames),
        "frame_rate": float(frame_rate),
        "tokenizer_sha": tokenizer_sha,
        "annotated": instruments is not None,
    }
    line = (json.dumps(record) + "\n").encode()
    fd = os.open(latent_dir / INDEX, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)
    return record


def load_entry(latent_dir: str | os.PathLike, name: str) -> dict[str, np.ndarray]:
    """The arrays of one entry: `latents` (T, D) float32 and, if annotated, `instruments`, `events` (uint8)."""
    with np.load(Path(latent_dir) / f"{name}.npz") as data:
        out = {key: data[key] for key in data.files}
    out["latents"] = out["latents"].astype(np.float32)
    return out


def split_sources(sources: list[str], split: str, seed: int, val_fraction: float) -> set[str]:
    """The sources (pieces) of one split: a seeded shuffle, the first `val_fraction` (at least one) is val."""
    if split not in ("train", "val"):
        raise ValueError(f"split must be 'train' or 'val', got {split!r}")
    unique = sorted(set(sources))
    random.Random(seed).shuffle(unique)
    n_val = 0 if len(unique) < 2 or val_fraction <= 0 else max(1, round(val_fraction * len(unique)))
    return set(unique[:n_val]) if split == "val" else set(unique[n_val:])


@dataclass
class _Window:
    entry: int  # index into the loaded entries
    offset: int  # first frame of the window (before any per-epoch jitter)
    slack: int  # frames the window may shift right without leaving the entry


class LatentWindows:
    """Fixed-length windows over a latent cache, split by piece (source file), for map-style loading.

    Items are `{"latents": (T, D), "instruments": (T, I), "events": (T, E)}` float32 with I = E = 0 when no
    entry in the folder is annotated (unannotated entries in an annotated folder get zeros). Train windows
    tile each entry with a half-window stride and are shifted by a seeded per-epoch jitter (`set_epoch`);
    val windows tile without overlap or jitter. Entries shorter than a window are skipped.
    """

    def __init__(
        self,
        latent_dir: str | os.PathLike,
        window_frames: int,
        split: str = "train",
        seed: int = 0,
        val_fraction: float = 0.1,
    ):
        if window_frames < 1:
            raise ValueError(f"window_frames must be positive, got {window_frames}")
        self.latent_dir = Path(latent_dir)
        records = read_index(self.latent_dir)
        if not records:
            raise FileNotFoundError(
                f"{self.latent_dir}: no latent cache here (no {INDEX}); run musegenie tokenize"
            )
        rates = {r["frame_rate"] for r in records}
        shas = {r["tokenizer_sha"] for r in records}
        if len(rates) > 1 or len(shas) > 1:
            raise ValueError(
                f"{self.latent_dir}: entries from different tokenizers (rates {rates}, shas {shas})"
            )
        self.frame_rate = float(rates.pop())
        self.tokenizer_sha = shas.pop()
        self.window_frames = window_frames
        self.split = split
        self.seed = seed
        self.epoch = 0
        keep = split_sources([r["source"] for r in records], split, seed, val_fraction)
        self.records = [r for r in records if r["source"] in keep]
        annotated = any(r.get("annotated", False) for r in records)
        self.num_instruments = len(INSTRUMENTS) if annotated else 0
        self.num_events = len(EVENT_TYPES) if annotated else 0
        self.entries = [self._load(r["name"]) for r in self.records]
        self.latent_dim = int(self.entries[0]["latents"].shape[1]) if self.entries else 0
        stride = window_frames // 2 if split == "train" else window_frames
        stride = max(1, stride)
        self.windows: list[_Window] = []
        for i, entry in enumerate(self.entries):
            frames = entry["latents"].shape[0]
            if frames < window_frames:
                log.debug(
                    "%s: %d frames < window %d, skipped", self.records[i]["name"], frames, window_frames
                )
                continue
            last = frames - window_frames
            offsets = list(range(0, last + 1, stride))
            for n, offset in enumerate(offsets):
                slack = (offsets[n + 1] - offset - 1) if n + 1 < len(offsets) else last - offset
                self.windows.append(_Window(i, offset, slack if split == "train" else 0))

    def _load(self, name: str) -> dict[str, np.ndarray]:
        arrays = load_entry(self.latent_dir, name)
        frames = arrays["latents"].shape[0]
        for key, width in (("instruments", self.num_instruments), ("events", self.num_events)):
            value = arrays.get(key)
            arrays[key] = np.zeros((frames, width), np.float32) if value is None else value.astype(np.float32)
        return arrays

    def set_epoch(self, epoch: int) -> None:
        """Choose the per-epoch jitter of train windows (item i stays deterministic given the epoch)."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        window = self.windows[index]
        shift = 0
        if window.slack > 0:
            shift = random.Random(f"{self.seed}-{self.epoch}-{index}").randint(0, window.slack)
        entry = self.entries[window.entry]
        sl = slice(window.offset + shift, window.offset + shift + self.window_frames)
        return {key: entry[key][sl] for key in ("latents", "instruments", "events")}  # each (T, *)


class MaskedWindows:
    """Windows plus a `mask` from `draw(key, frames)` with key = [seed, epoch, index]: item i is deterministic.

    Both the LAM (chunk masks) and the dynamics model (frame masks) train on this; each passes its own draw
    (a module-level function or functools.partial, so DataLoader workers can pickle it).
    """

    def __init__(
        self, windows: LatentWindows, draw: Callable[[list[int], int], np.ndarray], seed: int
    ) -> None:
        self.windows = windows
        self.draw = draw
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        self.windows.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        item = dict(self.windows[index])
        item["mask"] = self.draw([self.seed, self.epoch, index], item["latents"].shape[0])
        return item
