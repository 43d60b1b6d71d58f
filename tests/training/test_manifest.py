"""Manifest readers (folder, corpus.jsonl, filter manifest), held-out split, AudioSegments, Curriculum."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.audio import save_wav
from training.data.audio_segments import AudioSegments, Curriculum, random_crop
from training.data.manifest import Entry, ManifestError, read_entries, split_entries


def tone(path: Path, seconds: float, freq: float = 220.0, sr: int = 16_000, channels: int = 1) -> Path:
    t = np.arange(int(seconds * sr)) / sr
    audio = np.stack([0.3 * np.sin(2 * np.pi * freq * (c + 1) * t) for c in range(channels)]).astype(
        np.float32
    )
    return save_wav(path, audio, sr)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    lines = []
    for i in range(3):
        tone(root / f"piece{i}.wav", 1.0 + i, freq=200.0 + 50 * i)
        (root / f"piece{i}.json").write_text(json.dumps({"name": f"piece{i}"}))
        lines.append(
            {
                "path": f"piece{i}.wav",
                "annotations": f"piece{i}.json",
                "duration": 1.0 + i,
                "sample_rate": 16000,
                "quality": "good",
                "degradations": [],
            }
        )
    (root / "corpus.jsonl").write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    return root


def test_folder_lists_audio_sorted_and_recursive(tmp_path: Path) -> None:
    tone(tmp_path / "b.wav", 0.5)
    tone(tmp_path / "sub" / "a.wav", 0.5)
    (tmp_path / "notes.txt").write_text("not audio")
    entries = read_entries(tmp_path)
    assert [e.path for e in entries] == [tmp_path / "b.wav", tmp_path / "sub" / "a.wav"]
    assert entries[0] == Entry(tmp_path / "b.wav")


def test_corpus_paths_are_relative_to_the_jsonl(corpus: Path) -> None:
    for source in (corpus, corpus / "corpus.jsonl"):  # the folder finds its corpus.jsonl
        entries = read_entries(source)
        assert [e.path for e in entries] == [corpus / f"piece{i}.wav" for i in range(3)]
        assert entries[1].annotations == corpus / "piece1.json"
        assert entries[1].start == 0.0 and entries[1].end is None


def test_filter_manifest_passed_whole_failed_as_spans(tmp_path: Path) -> None:
    good, bad = tone(tmp_path / "good.wav", 2.0), tone(tmp_path / "bad.wav", 4.0)
    rows = [
        {
            "path": str(good),
            "duration": 2.0,
            "sample_rate": 16000,
            "mean_prob": 0.9,
            "passed": True,
            "segment_probs": [],
            "smoothed_probs": [],
            "spans": [[0, 2]],
            "annotations": None,
        },
        {
            "path": str(bad),
            "duration": 4.0,
            "sample_rate": 16000,
            "mean_prob": 0.3,
            "passed": False,
            "segment_probs": [],
            "smoothed_probs": [],
            "spans": [[0.5, 1.5], [3, 4]],
            "annotations": None,
        },
    ]
    manifest = tmp_path / "filtered.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert read_entries(manifest) == [Entry(good), Entry(bad, 0.5, 1.5), Entry(bad, 3.0, 4.0)]


def test_bad_manifests_say_where(tmp_path: Path) -> None:
    manifest = tmp_path / "m.jsonl"
    manifest.write_text('{"path": "a.wav"}\n{oops\n')
    with pytest.raises(ManifestError, match=r"m.jsonl:2"):
        read_entries(manifest)
    with pytest.raises(ManifestError, match="no such file"):
        read_entries(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ManifestError, match="no audio files"):
        read_entries(tmp_path / "empty")


def test_split_is_by_piece_and_stable(tmp_path: Path) -> None:
    entries = [Entry(tmp_path / f"song{i}.wav", s, s + 1) for i in range(20) for s in (0.0, 5.0)]
    train, held = split_entries(entries, 0.2, seed=1)
    assert held and train and len(train) + len(held) == len(entries)
    assert not {e.path for e in train} & {e.path for e in held}
    assert split_entries(list(reversed(entries)), 0.2, seed=1)[1] == list(reversed(held))
    assert split_entries(entries[:4], 0.01)[1]  # at least one piece held out


def test_segments_are_deterministic_per_seed_epoch_index(corpus: Path) -> None:
    ds = AudioSegments(read_entries(corpus), seconds=0.5, seed=3)
    assert len(ds) == int(6.0 // 0.5)
    a = ds[4]["audio"]
    assert a.shape == (1, 8000) and a.dtype == torch.float32 and a.abs().max() > 0.1
    assert torch.equal(a, AudioSegments(read_entries(corpus), seconds=0.5, seed=3)[4]["audio"])
    assert not torch.equal(a, ds[5]["audio"])
    ds.set_epoch(1)
    assert not torch.equal(a, ds[4]["audio"])


def test_segments_resample_downmix_and_pad(tmp_path: Path) -> None:
    tone(tmp_path / "stereo44.wav", 0.25, sr=44_100, channels=2)
    ds = AudioSegments(read_entries(tmp_path), seconds=1.0, items_per_epoch=2)
    audio = ds[0]["audio"]
    assert audio.shape == (1, 16_000) and len(ds) == 2
    assert (
        audio[0, :3900].abs().max() > 0.1 and audio[0, 4100:].abs().max() == 0
    )  # 0.25 s of sound, then zeros


def test_corrupt_files_are_skipped_with_one_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    tone(tmp_path / "ok.wav", 1.0)
    (tmp_path / "garbage.wav").write_bytes(b"RIFF????WAVEjunk" * 10)
    (tmp_path / "empty.flac").write_bytes(b"")
    with caplog.at_level(logging.WARNING):
        ds = AudioSegments(read_entries(tmp_path), seconds=0.5)
    assert sorted(p.name for p, _ in ds.skipped) == ["empty.flac", "garbage.wav"]
    assert sum("skipping" in r.message and "garbage.wav" in r.message for r in caplog.records) == 1
    assert all(ds[i]["audio"].shape == (1, 8000) for i in range(len(ds)))
    (tmp_path / "ok.wav").write_bytes(b"broken now")
    with pytest.raises(ManifestError, match="none of the"):
        AudioSegments(read_entries(tmp_path), seconds=0.5)


def test_curriculum_steps_and_parsing() -> None:
    c = Curriculum(((0, 1.0), (2000, 2.0), (6000, 5.0)))
    assert [c.seconds(s) for s in (0, 1999, 2000, 5999, 6000, 10**6)] == [1.0, 1.0, 2.0, 2.0, 5.0, 5.0]
    assert c == Curriculum.parse("0:1, 2000:2, 6000:5") and c.max_seconds == 5.0
    assert Curriculum.parse("5").seconds(123) == 5.0
    assert c.samples(2500, multiple=2048) == 30720  # 2 s = 32000 samples rounded down to 15 hops
    with pytest.raises(ValueError):
        Curriculum(((100, 1.0),))
    with pytest.raises(ValueError):
        Curriculum.parse("0:1,x:2")


def test_random_crop_takes_windows_of_each_item() -> None:
    audio = torch.arange(40.0).reshape(2, 1, 20)
    crop = random_crop(audio, 5)
    assert crop.shape == (2, 1, 5)
    for item, window in zip(audio, crop, strict=True):
        start = int(window[0, 0] - item[0, 0])
        assert torch.equal(window, item[..., start : start + 5])
    assert random_crop(audio, 30) is audio


def test_data_merge_keeps_each_inputs_files_spans_and_provenance(tmp_path, synth_corpus, capsys):
    from engine.cli import main

    real = tmp_path / "real"
    real.mkdir()
    tone(real / "song.flac", 3.0)
    (real / "listing.jsonl").write_text(
        json.dumps(
            {
                "path": "song.flac",
                "annotations": None,
                "duration": 3.0,
                "source_package": "asc-music",
                "license": "GPL-2+",
            }
        )
        + "\n"
    )
    loose = tmp_path / "loose"
    loose.mkdir()
    tone(loose / "a.wav", 2.0)
    failed = tmp_path / "filtered.jsonl"  # a filter manifest: a failed song keeps only its good span
    failed.write_text(
        json.dumps(
            {
                "path": str(loose / "a.wav"),
                "duration": 2.0,
                "passed": False,
                "spans": [[0.5, 1.5]],
                "annotations": None,
            }
        )
        + "\n"
    )
    out = tmp_path / "mix.jsonl"
    args = ["data", "merge", "--out", str(out), str(synth_corpus), str(real / "listing.jsonl"), str(failed)]
    assert main([*args, str(loose)]) == 0  # loose/a.wav again: kept once, as the filter manifest has it
    printed = capsys.readouterr().out
    assert "Debian package `asc-music`" in printed and "GPL-2+" in printed and "8 files" in printed
    entries = read_entries(out)
    assert len(entries) == 8 and all(e.path.is_absolute() and e.path.exists() for e in entries)
    assert Entry(loose / "a.wav", 0.5, 1.5) in entries and Entry(real / "song.flac") in entries
    synth = [e for e in entries if e.path.parent == synth_corpus]
    assert len(synth) == 6 and all(e.annotations and e.annotations.exists() for e in synth)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert {r.get("renderer") for r in rows[:6]} == {"additive"} and rows[6]["license"] == "GPL-2+"
    assert (
        main(["data", "merge", "--out", str(failed), str(failed), str(loose)]) != 0
    )  # never overwrite an input
    assert main(["data", "merge", "--out", str(out), str(tmp_path / "missing")]) != 0
    assert "no such file or folder" in capsys.readouterr().err
