"""Real music from Debian packages: songs and stems, licences, the held-out split, the manifests."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile

from training.data import annotations, real_music
from training.data.manifest import read_entries

SR = 16000


def _tone(seconds: float, on: list[tuple[int, int]], freq: float, sr: int = 44100) -> np.ndarray:
    """A sine that plays only in the [start, end) second ranges `on`, silent elsewhere."""
    t = np.arange(int(seconds * sr)) / sr
    gate = np.zeros_like(t)
    for start, end in on:
        gate[(t >= start) & (t < end)] = 1
    return (0.3 * np.sin(2 * np.pi * freq * t) * gate).astype(np.float32)


def _fake_packages(root: Path) -> dict[str, list[Path]]:
    """Two packages laid out like the real ones: game tracks copied per language, a stem song."""
    game = root / "usr/share/game/music"
    files: dict[str, list[Path]] = {"drascula-music": [], "fretsonfire-songs-sectoid": []}
    for number in (1, 2, 3):
        path = game / "audio" / f"track{number}.ogg"
        path.parent.mkdir(parents=True, exist_ok=True)
        soundfile.write(path, _tone(3, [(0, 3)], 220.0 * number), 44100)
        copy = game / "en" / path.name  # the same bytes in another folder count once
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, copy)
        files["drascula-music"] += [path, copy]
    song = root / "usr/share/songs/Metal madness"
    song.mkdir(parents=True)
    soundfile.write(song / "guitar.ogg", _tone(6, [(1, 3), (4, 6)], 330.0), 44100)
    soundfile.write(song / "song.ogg", _tone(6, [(0, 6)], 110.0), 44100)
    files["fretsonfire-songs-sectoid"] = sorted(song.glob("*.ogg"))
    docs = root / "doc"
    (docs / "drascula-music").mkdir(parents=True)
    (docs / "drascula-music/copyright").write_text(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\n"
        "Copyright: 1996-2008, Alcachofa Soft S.L.\nLicense: Drascula-License\n"
    )
    (docs / "fretsonfire-songs-sectoid").mkdir(parents=True)
    (docs / "fretsonfire-songs-sectoid/copyright").write_text(
        "Copyright:\n\nThe songs are all Copyright (c) 2006/2007  Carlos Viola Iborra\n\n"
        "Permission is hereby granted, free of charge, to any person obtaining a copy\n"
    )
    return files


def test_songs_group_stems_and_drop_copies(tmp_path: Path) -> None:
    files = _fake_packages(tmp_path)
    tracks = real_music.songs_of("drascula-music", files["drascula-music"])
    assert [s.name for s in tracks] == ["track1", "track2", "track3"]
    assert all(len(s.files) == 1 for s in tracks)
    (stems,) = real_music.songs_of("fretsonfire-songs-sectoid", files["fretsonfire-songs-sectoid"])
    assert stems.name == "Metal madness" and [p.name for p in stems.files] == ["guitar.ogg", "song.ogg"]


def test_licence_from_dep5_and_from_prose(tmp_path: Path) -> None:
    _fake_packages(tmp_path)
    assert real_music.licence("drascula-music", tmp_path / "doc") == (
        "Drascula-License",
        "1996-2008, Alcachofa Soft S.L.",
    )
    name, holder = real_music.licence("fretsonfire-songs-sectoid", tmp_path / "doc")
    assert name == "Expat" and "Carlos Viola Iborra" in holder
    (tmp_path / "doc/x").mkdir()
    (tmp_path / "doc/x/copyright").write_text("All rights reserved.\n")
    with pytest.raises(real_music.RealMusicError, match="no licence"):
        real_music.licence("x", tmp_path / "doc")


def test_held_out_split_is_per_package_and_stable() -> None:
    songs = [real_music.Song("a", f"s{i}", ()) for i in range(12)] + [
        real_music.Song("b", f"t{i}", ()) for i in range(3)
    ]
    held = real_music.held_out(songs, 0.25)
    assert sum(p == "a" for p, _ in held) == 3 and sum(p == "b" for p, _ in held) == 1
    assert held == real_music.held_out(list(reversed(songs)), 0.25)
    assert real_music.held_out(songs, 0.0) == set()


def test_manifests_licences_and_guitar_activity(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = _fake_packages(tmp_path)
    monkeypatch.setattr(real_music, "package_files", lambda package: files[package])
    doc_licence = real_music.licence
    monkeypatch.setattr(real_music, "licence", lambda package: doc_licence(package, tmp_path / "doc"))
    out = tmp_path / "out"
    train, held = real_music.write_real_music(out, tuple(files), held_out_fraction=0.5)
    assert len(train) + len(held) == 4 and len(held) == 2  # round(0.5 * 3) tracks; a lone song stays in
    for name, entries in ((real_music.TRAIN_NAME, train), (real_music.HELD_OUT_NAME, held)):
        rows = [json.loads(line) for line in (out / name).read_text().splitlines()]
        assert rows == entries
        assert [e.path for e in read_entries(out / name)] == [out / r["path"] for r in rows]
    every = {e["source_package"]: e for e in train + held}
    assert every["drascula-music"]["license"] == "Drascula-License"
    song = every["fretsonfire-songs-sectoid"]
    assert song["license"] == "Expat" and len(song["source_files"]) == 2
    audio, sr = soundfile.read(out / song["path"])
    assert sr == SR and audio.ndim == 1 and abs(len(audio) / SR - 6) < 0.01 and song["duration"] == 6.0
    ann = annotations.load(out / song["annotations"])
    assert ann["instruments"] == ["guitar"] and ann["stems"] == ["guitar", "song"]
    assert [row[0] for row in ann["activity"]] == [0, 1, 1, 0, 1, 1]


def test_unknown_package_and_missing_package_are_refused(tmp_path: Path) -> None:
    with pytest.raises(real_music.RealMusicError, match="only drascula-music"):
        real_music.write_real_music(tmp_path, ("some-other-music",))
    if subprocess.run(["which", "dpkg"], capture_output=True).returncode == 0:
        with pytest.raises(real_music.RealMusicError, match="not installed"):
            real_music.package_files("musegenie-no-such-package")


@pytest.mark.parametrize("package", real_music.PACKAGES)
def test_installed_packages_name_their_licence(package: str) -> None:
    if not Path(f"/usr/share/doc/{package}/copyright").is_file():
        pytest.skip(f"{package} is not installed (scripts/real_music.sh installs it)")
    name, holder = real_music.licence(package)
    assert name in ("Drascula-License", "GPL-2+", "CC-BY-SA-3.0", "Expat") and holder
    assert real_music.songs_of(package, real_music.package_files(package))
