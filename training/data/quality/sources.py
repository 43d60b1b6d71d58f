"""The songs a quality command works on, from a folder of audio, a JSON-lines file or a CSV.

Accepted inputs (AUDIO_DIR_OR_MANIFEST on the command line):
- a folder: every audio file below it; a `NAME.json` beside `NAME.wav` is taken as its annotations
  (the synthetic corpus layout);
- a `.jsonl` file whose lines carry `"path"`: the synthetic corpus' `corpus.jsonl`, a filter manifest, or any
  list of songs with extra metadata keys (`"year"`, ...); relative paths are relative to the file's folder;
- a `.csv` file with a `path` column and any metadata columns (for example `year`).
"""

from __future__ import annotations

import csv
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".au", ".w64", ".caf")


@dataclass
class Source:
    """One song: where it is and what is known about it."""

    path: Path  # absolute path of the audio file
    key: str  # the path as the input names it (relative to the input's folder): stable across machines
    annotations: Path | None = None  # the synthetic corpus' NAME.json, when there is one
    quality: str | None = None  # "good" | "bad" when an annotation says so
    metadata: dict[str, Any] = field(default_factory=dict)  # the input's other columns (year, ...)


def _quality_from(annotations: Path | None, line: dict[str, Any]) -> str | None:
    quality = line.get("quality")
    if quality is None and annotations is not None and annotations.is_file():
        try:
            quality = json.loads(annotations.read_text()).get("quality")
        except (OSError, json.JSONDecodeError) as err:
            log.warning("%s: unreadable annotations (%s)", annotations, err)
    return quality if quality in ("good", "bad") else None


def _from_folder(folder: Path) -> list[Source]:
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
    sources = []
    for path in files:
        sidecar = path.with_suffix(".json")
        annotations = sidecar if sidecar.is_file() else None
        key = path.relative_to(folder).as_posix()
        sources.append(Source(path.resolve(), key, annotations, _quality_from(annotations, {}), {}))
    return sources


def _from_jsonl(listing: Path) -> list[Source]:
    sources = []
    for number, text in enumerate(listing.read_text().splitlines(), 1):
        if not text.strip():
            continue
        try:
            line = json.loads(text)
        except json.JSONDecodeError as err:
            log.warning("%s:%d: skipped, not JSON (%s)", listing, number, err)
            continue
        if "path" not in line:
            raise ValueError(f"{listing}:{number}: a line without a 'path' key")
        path = (listing.parent / line["path"]).resolve()
        notes = line.get("annotations")
        annotations = (listing.parent / notes).resolve() if notes else None
        if annotations is None and path.with_suffix(".json").is_file():
            annotations = path.with_suffix(".json")
        meta = {k: v for k, v in line.items() if k not in ("path", "annotations")}
        sources.append(Source(path, str(line["path"]), annotations, _quality_from(annotations, line), meta))
    return sources


def _from_csv(listing: Path) -> list[Source]:
    with listing.open(newline="") as fh:
        reader = csv.DictReader(fh)
        if "path" not in (reader.fieldnames or []):
            raise ValueError(f"{listing}: a song list CSV needs a 'path' column, found {reader.fieldnames}")
        rows = list(reader)
    sources = []
    for row in rows:
        path = (listing.parent / row["path"]).resolve()
        meta = {k: v for k, v in row.items() if k != "path"}
        sources.append(Source(path, row["path"], None, _quality_from(None, row), meta))
    return sources


def list_sources(path: str | Path) -> list[Source]:
    """The songs named by a folder, a `.jsonl` listing or a `.csv` listing (see the module docstring).

    A path listed twice is kept once. Raises FileNotFoundError or ValueError with a message naming the input.
    """
    path = Path(path)
    if path.is_dir():
        sources = _from_folder(path)
    elif path.is_file() and path.suffix.lower() in (".jsonl", ".json"):
        sources = _from_jsonl(path)
    elif path.is_file() and path.suffix.lower() == ".csv":
        sources = _from_csv(path)
    elif path.is_file():
        raise ValueError(f"{path}: expected a folder of audio, a .jsonl listing or a .csv listing")
    else:
        raise FileNotFoundError(f"{path}: no such file or folder")
    unique: dict[Path, Source] = {}
    for source in sources:
        unique.setdefault(source.path, source)
    if not unique:
        raise ValueError(f"{path}: no audio found")
    return list(unique.values())
