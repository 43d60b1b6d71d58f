"""Where training audio comes from and under which licence, so a model card can name every source.

Real-music manifests (`musegenie data real-music`) carry each song's `source_package`, `license` and
`copyright`; synth corpora carry their `renderer` and `soundfont`; `musegenie data filter` and `data merge`
keep these keys (PROVENANCE_KEYS). `data_sources` sums a manifest up per (source, licence).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

PROVENANCE_KEYS = (
    "source_package",
    "source_files",
    "license",
    "copyright",
    "renderer",
    "soundfont",
    "soundfont_sha256",
)

# Licences of the General MIDI soundfonts `musegenie synth --renderer soundfont` finds (their Debian
# copyright files); the audio they render is a derived work of their samples.
SOUNDFONT_LICENCES = {
    "FluidR3_GM.sf2": "MIT (fluid-soundfont-gm)",
    "TimGM6mb.sf2": "GPL-2 (timgm6mb-soundfont)",
    "MuseScore_General.sf3": "MIT (musescore-general-soundfont)",
}
ADDITIVE = ("musegenie synth, additive synthesiser", "Apache-2.0 (musegenie's own synthesiser and scores)")


def _row_minutes(row: Mapping[str, Any]) -> float:
    if "passed" in row and not row["passed"]:  # a failed song of a filter manifest: its good spans only
        return sum(end - start for start, end in row.get("spans") or []) / 60
    return float(row.get("duration") or 0.0) / 60


def _row_source(row: Mapping[str, Any], corpus_rows: Mapping[str, Mapping[str, Any]]) -> tuple[str, str]:
    """(source, licence) of one manifest row; synth rows without provenance are looked up in the
    corpus.jsonl beside their audio."""
    if row.get("source_package"):
        return f"Debian package `{row['source_package']}`", str(row.get("license") or "unknown licence")
    info = row if row.get("renderer") else corpus_rows.get(str(Path(row["path"]).resolve()), {})
    if info.get("renderer") == "soundfont":
        font = str(info.get("soundfont") or "a soundfont")
        return f"musegenie synth, sampled instruments ({font})", SOUNDFONT_LICENCES.get(
            font, "see the soundfont"
        )
    if (
        info.get("renderer", "additive" if info else None) == "additive"
    ):  # corpora before --renderer: additive
        return ADDITIVE
    return "unrecorded", "unknown licence"


def data_sources(data: str | Path | None) -> list[dict[str, Any]]:
    """What a JSON-lines training manifest (corpus.jsonl or filter manifest) is made of: one row per
    (source, licence) with its files and minutes. Empty when `data` is not such a readable file."""
    path = Path(data) if data else None
    if path is None or not path.is_file() or path.suffix != ".jsonl":
        return []
    corpus_rows: dict[str, dict[str, Any]] = {}
    totals: dict[tuple[str, str], list[float]] = {}
    for text in path.read_text().splitlines():
        if not text.strip():
            continue
        row = json.loads(text)
        audio = Path(row["path"]) if Path(row["path"]).is_absolute() else path.parent / row["path"]
        row = {**row, "path": str(audio)}
        corpus = audio.parent / "corpus.jsonl"
        if not row.get("renderer") and corpus.is_file() and str(corpus) not in corpus_rows:
            corpus_rows[str(corpus)] = {}
            for line in corpus.read_text().splitlines():
                entry = json.loads(line)
                corpus_rows[str((audio.parent / entry["path"]).resolve())] = entry
        key = _row_source(row, corpus_rows)
        files, minutes = totals.get(key, [0, 0.0])
        totals[key] = [files + 1, minutes + _row_minutes(row)]
    return [
        {"source": source, "licence": licence, "files": int(files), "minutes": round(minutes, 1)}
        for (source, licence), (files, minutes) in sorted(totals.items(), key=lambda kv: (-kv[1][1], kv[0]))
    ]


def _merge_rows(path: Path) -> list[dict[str, Any]]:
    """One input of `merge`: filter-manifest rows with absolute paths (a folder's corpus.jsonl, a corpus or
    real-music listing, or a filter manifest kept as it is)."""
    from engine import audio as audio_io
    from training.data.manifest import CORPUS_NAME, ManifestError, audio_files, read_jsonl

    if path.is_dir():
        if (path / CORPUS_NAME).is_file():
            return _merge_rows(path / CORPUS_NAME)
        rows = []
        for file in audio_files(path):
            try:
                duration = audio_io.info(file).duration
            except audio_io.AudioError as err:
                raise ManifestError(f"{file}: unreadable ({err})") from err
            rows.append({"path": str(file.resolve()), "duration": round(duration, 3), "annotations": None})
        return [{**r, "passed": True, "spans": [[0.0, r["duration"]]]} for r in rows]
    if not path.is_file():
        raise ManifestError(f"{path}: no such file or folder")
    rows = []
    for number, row in enumerate(read_jsonl(path), start=1):
        if "duration" not in row:
            raise ManifestError(
                f"{path}: entry {number} has no 'duration' (a corpus, listing or filter manifest has one)"
            )
        for key in ("path", "annotations"):
            if row.get(key):
                row[key] = str((path.parent / row[key]).resolve())
        if "passed" not in row:  # a corpus or real-music listing: every file whole
            row |= {"passed": True, "spans": [[0.0, float(row["duration"])]]}
        rows.append(row)
    return rows


def merge(inputs: list[Path]) -> list[dict[str, Any]]:
    """The rows of one filter manifest over several inputs (folders, corpus.jsonl, real-music listings,
    filter manifests), each with its provenance; a file named twice is kept once (the first time)."""
    from training.data.manifest import ManifestError

    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for path in inputs:
        listed = _merge_rows(Path(path))
        if not listed:
            raise ManifestError(f"{path}: empty")
        fresh = [r for r in listed if r["path"] not in seen]
        if len(fresh) < len(listed):
            log.warning(
                "%s: %d of its %d files were already listed: kept once",
                path,
                len(listed) - len(fresh),
                len(listed),
            )
        seen.update(r["path"] for r in fresh)
        rows += fresh
    return rows
