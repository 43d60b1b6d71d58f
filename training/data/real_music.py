"""Free-licensed real recordings from Debian packages, as a training manifest and a held-out one.

Only the packages in PACKAGES are read, so a model card can name every source and licence: game
soundtracks (`drascula-music`: orchestral and jazzy adventure-game music; `asc-music`: electronic) and the
Frets on Fire song packs (`fretsonfire-songs-muldjord`, `fretsonfire-songs-sectoid`: metal and rock), whose
songs come as separate stems (`guitar.ogg` and the rest of the band in `song.ogg`, sometimes
`rhythm.ogg`). Each song is decoded, mixed (stems summed) and written as a 16 kHz mono FLAC; a stem song
also gets a `NAME.json` annotation whose per-second `guitar` activity comes from the guitar stem's energy
(it lists only the instruments its stems tell apart, so `instruments` is the mask of what is known).

The files of a package come from `dpkg -L`, its licence from the first `License:` of
/usr/share/doc/PKG/copyright (or, for the free-form ones, the licence its text grants). The held-out split is
a fixed share of each package's songs, chosen by a hash of the song's name: the same on every machine.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import subprocess
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile

from engine.audio import load
from training.data.annotations import validate

log = logging.getLogger(__name__)

PACKAGES = (
    "drascula-music",
    "asc-music",
    "fretsonfire-songs-muldjord",
    "fretsonfire-songs-sectoid",
)
SUFFIXES = (".ogg", ".mp3", ".wav", ".flac")
STEM_LABELS = {"guitar": "guitar", "rhythm": "guitar"}  # stem file name -> the instrument it plays
ACTIVE_DB = 35.0  # a stem is playing in a second whose level is within this of its loud (p95) level
SILENT_DBFS = -60.0  # ... and above this absolute level
# licences granted in prose by copyright files that are not machine-readable (DEP-5)
PROSE_LICENCES = (
    ("Creative Commons Attribution ShareAlike licence 3.0", "CC-BY-SA-3.0"),
    ("Creative Commons Attribute Share-Alike", "CC-BY-SA-3.0"),
    ("Permission is hereby granted, free of charge", "Expat"),
)
TRAIN_NAME, HELD_OUT_NAME = "real_music.jsonl", "real_music_heldout.jsonl"


class RealMusicError(RuntimeError):
    """A package that is not installed or has no audio: the message says how to get it."""


@dataclass(frozen=True)
class Song:
    package: str
    name: str  # unique within the package
    files: tuple[Path, ...]  # one file, or the stems of one song


def package_files(package: str) -> list[Path]:
    """The audio files an installed package ships (raises RealMusicError when it is not installed)."""
    done = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RealMusicError(
            f"{package} is not installed: run scripts/real_music.sh (or `sudo apt-get install {package}`)"
        )
    files = [Path(line) for line in done.stdout.splitlines() if Path(line).suffix.lower() in SUFFIXES]
    return sorted(p for p in files if p.is_file())


def songs_of(package: str, files: list[Path]) -> list[Song]:
    """Group a package's files into songs: a folder holding a `song.*` stem is one song, any other file is
    a song of its own; copies of one file (the same bytes in several folders) count once."""
    by_folder: dict[Path, list[Path]] = defaultdict(list)
    for path in files:
        by_folder[path.parent].append(path)
    songs, seen = [], set()
    for folder, paths in sorted(by_folder.items()):
        if any(p.stem == "song" for p in paths):
            songs.append(Song(package, folder.name, tuple(sorted(paths))))
            continue
        for path in paths:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if digest not in seen:
                seen.add(digest)
                songs.append(Song(package, path.stem, (path,)))
    return songs


def licence(package: str, doc_root: Path = Path("/usr/share/doc")) -> tuple[str, str]:
    """(licence, copyright holder line) from the package's copyright file."""
    text = (doc_root / package / "copyright").read_text(errors="replace")
    holder = re.search(r"^Copyright:[ \t]*(\S.*)$", text, re.MULTILINE)
    spdx = re.search(r"^License:[ \t]*(\S.*)$", text, re.MULTILINE)
    if spdx is None:
        flat = " ".join(text.split())
        found = next((name for phrase, name in PROSE_LICENCES if phrase in flat), None)
        if found is None:
            raise RealMusicError(f"{package}: no licence recognised in {doc_root / package / 'copyright'}")
        line = re.search(r"Copyright \(c\)[^\n]*", text)
        return found, line.group(0).strip() if line else ""
    return spdx.group(1).strip(), holder.group(1).strip() if holder else ""


def held_out(songs: list[Song], fraction: float) -> set[tuple[str, str]]:
    """(package, name) of the held-out songs: round(fraction * n), at least one, of each package's songs,
    taken in the order of a hash of their names."""
    chosen = set()
    by_package: dict[str, list[Song]] = defaultdict(list)
    for song in songs:
        by_package[song.package].append(song)
    for package, group in by_package.items():
        ranked = sorted(group, key=lambda s: hashlib.sha256(f"{package}/{s.name}".encode()).hexdigest())
        count = max(1, round(fraction * len(group))) if fraction > 0 and len(group) > 1 else 0
        chosen |= {(package, s.name) for s in ranked[:count]}
    return chosen


def stem_activity(stem: np.ndarray, sample_rate: int, seconds: int) -> np.ndarray:
    """(seconds,) uint8: 1 where the stem plays (level near its loud level and above silence)."""
    padded = np.pad(stem, (0, max(0, seconds * sample_rate - len(stem))))[: seconds * sample_rate]
    db = 10 * np.log10((padded.reshape(seconds, sample_rate) ** 2).mean(axis=1) + 1e-12)  # (seconds,)
    loud = np.percentile(db, 95)
    return ((db > loud - ACTIVE_DB) & (db > SILENT_DBFS)).astype(np.uint8)


def _song_entry(song: Song, out: Path, sample_rate: int, rights: tuple[str, str]) -> dict[str, Any]:
    stems = {p.stem: load(p, sample_rate=sample_rate, mono=True)[0][0] for p in song.files}  # name -> (N,)
    length = max(len(a) for a in stems.values())
    mix = np.zeros(length, dtype=np.float64)
    for audio in stems.values():
        mix[: len(audio)] += audio
    peak = float(np.abs(mix).max())
    if peak > 0.99:  # summed stems can clip: scale down, never up (the recording's level is kept)
        mix *= 0.99 / peak
    stem_name = re.sub(r"[^A-Za-z0-9_.-]+", "_", song.name)
    relative = Path(song.package) / f"{stem_name}.flac"
    (out / relative).parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(out / relative, mix.astype(np.float32), sample_rate, subtype="PCM_16")  # FLAC
    duration = length / sample_rate
    entry: dict[str, Any] = {
        "path": relative.as_posix(),
        "annotations": None,
        "duration": round(duration, 3),
        "sample_rate": sample_rate,
        "source_package": song.package,
        "source_files": [str(p) for p in song.files],
        "license": rights[0],
        "copyright": rights[1],
    }
    labelled = {STEM_LABELS[n] for n in stems if n in STEM_LABELS}
    if labelled:
        seconds = int(np.ceil(duration - 1e-6))
        instruments = sorted(labelled)
        activity = np.zeros((seconds, len(instruments)), dtype=np.uint8)
        for name, audio in stems.items():
            if name in STEM_LABELS:
                column = instruments.index(STEM_LABELS[name])
                activity[:, column] |= stem_activity(audio, sample_rate, seconds)
        ann = {
            "name": stem_name,
            "sample_rate": sample_rate,
            "duration": duration,
            "tempo": None,
            "key": None,
            "instruments": instruments,
            "activity": activity.tolist(),
            "events": [],
            "quality": "good",
            "degradations": [],
            "stems": sorted(stems),
        }
        notes = relative.with_suffix(".json")
        (out / notes).write_text(json.dumps(validate(ann, source=str(notes))))
        entry["annotations"] = notes.as_posix()
    return entry


def write_real_music(
    out: str | Path,
    packages: tuple[str, ...] = PACKAGES,
    held_out_fraction: float = 0.25,
    sample_rate: int = 16000,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Decode every song of the packages into `out` and write the two manifests; returns (train, held out)."""
    unknown = [p for p in packages if p not in PACKAGES]
    if unknown:
        raise RealMusicError(f"only {', '.join(PACKAGES)} are sources of real music, not {unknown}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    songs = [song for package in packages for song in songs_of(package, package_files(package))]
    rights = {package: licence(package) for package in packages}
    held = held_out(songs, held_out_fraction)
    train, evaluation = [], []
    for song in songs:
        entry = _song_entry(song, out, sample_rate, rights[song.package])
        (evaluation if (song.package, song.name) in held else train).append(entry)
        log.info("%s/%s: %.0f s", song.package, song.name, entry["duration"])
    for name, entries in ((TRAIN_NAME, train), (HELD_OUT_NAME, evaluation)):
        (out / name).write_text("".join(json.dumps(e) + "\n" for e in entries))
    return train, evaluation
