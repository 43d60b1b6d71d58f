"""What audio to train on: a folder of audio files, a synthetic `corpus.jsonl`, or a filter manifest.

All three become a list of `Entry(path, start, end, annotations)`: a stretch of one file (end None = to the
file's end). A filter manifest contributes passed songs whole and, for failed songs, only their good
`spans` (see docs/interfaces.md).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import CommandError

log = logging.getLogger(__name__)

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".opus", ".mp3", ".aiff", ".aif")
CORPUS_NAME = "corpus.jsonl"


class ManifestError(CommandError, ValueError):
    """A manifest or folder that cannot be read as training data (the message says which line and why)."""


@dataclass(frozen=True)
class Entry:
    path: Path  # audio file
    start: float = 0.0  # seconds into the file where usable audio starts
    end: float | None = None  # seconds where it ends (None = end of file)
    annotations: Path | None = None  # annotation JSON of the piece (synthetic corpus / filter manifest)


def _resolve(base: Path, value: str | None) -> Path | None:
    if value is None:
        return None
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The objects of a JSON-lines listing, each with a 'path' (ManifestError names the bad line)."""
    rows = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise ManifestError(f"{path}:{number}: not JSON ({err.msg})") from err
        if not isinstance(row, dict) or "path" not in row:
            raise ManifestError(f"{path}:{number}: expected an object with a 'path'")
        rows.append(row)
    return rows


def _filter_entries(path: Path, rows: list[dict[str, Any]]) -> list[Entry]:
    entries = []
    for number, row in enumerate(rows, start=1):
        audio = _resolve(path.parent, row["path"])
        notes = _resolve(path.parent, row.get("annotations"))
        if row["passed"]:
            entries.append(Entry(audio, annotations=notes))
            continue
        for span in row.get("spans") or []:
            if len(span) != 2 or not 0 <= span[0] < span[1]:
                raise ManifestError(f"{path}:{number}: bad span {span!r} (expected [start_s, end_s])")
            entries.append(Entry(audio, float(span[0]), float(span[1]), notes))
    return entries


def audio_files(folder: Path) -> list[Path]:
    """Every audio file under `folder`, sorted (ManifestError when there is none)."""
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
    if not files:
        raise ManifestError(f"{folder}: no audio files ({', '.join(AUDIO_SUFFIXES)}) found")
    return files


def read_entries(path_or_dir: str | Path) -> list[Entry]:
    """Entries from a folder (its corpus.jsonl if it has one, else every audio file under it, sorted), a
    corpus.jsonl (paths relative to its folder) or a filter manifest (JSON lines with "passed")."""
    path = Path(path_or_dir).expanduser()
    if path.is_dir():
        if (path / CORPUS_NAME).is_file():
            return read_entries(path / CORPUS_NAME)
        return [Entry(p) for p in audio_files(path)]
    if not path.is_file():
        raise ManifestError(f"{path}: no such file or folder")
    if path.suffix.lower() in AUDIO_SUFFIXES:
        return [Entry(path)]
    rows = read_jsonl(path)
    if not rows:
        raise ManifestError(f"{path}: empty manifest")
    if "passed" in rows[0]:
        entries = _filter_entries(path, rows)
    else:
        entries = [
            Entry(_resolve(path.parent, r["path"]), annotations=_resolve(path.parent, r.get("annotations")))
            for r in rows
        ]
    if not entries:
        raise ManifestError(f"{path}: no song passed the filter and no failed song has good spans")
    return entries


def is_held_out(entry: Entry, fraction: float, seed: int = 0) -> bool:
    """Whether the piece belongs to the held-out split: a stable hash of (seed, file name), so every span
    of a song lands on the same side and the split does not change when the list grows."""
    digest = hashlib.sha256(f"{seed}:{entry.path.name}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


def split_entries(entries: list[Entry], fraction: float, seed: int = 0) -> tuple[list[Entry], list[Entry]]:
    """(train, held_out) by piece; at least one piece is held out when fraction > 0 and there are two or more."""
    held = [e for e in entries if is_held_out(e, fraction, seed)]
    if fraction > 0 and not held and len({e.path for e in entries}) > 1:
        last = max(e.path for e in entries)
        held = [e for e in entries if e.path == last]
    held_paths = {e.path for e in held}
    return [e for e in entries if e.path not in held_paths], held
