"""The whole tiny pipeline trained on unannotated audio gets its action names from the audio its edits
produce: `export --describe-data` and `actions describe` (the same path), with no annotation read."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from engine import audio as audio_io
from engine.bundle import load_bundle
from engine.cli import main
from training.data import manifest

SR = 16000
TINY = ["--set", "task.preset=tiny", "--set", "train.warmup_steps=1", "--set", "train.sample_every=0"]


def write_songs(folder: Path, count: int = 4, seconds: float = 3.0) -> Path:
    """Audio only (no corpus.jsonl, no annotations): each song alternates loud low chords with quiet high
    notes and clicks, so edits have something to move."""
    folder.mkdir()
    g = np.random.default_rng(0)
    t = np.arange(int(seconds * SR)) / SR
    for n in range(count):
        low = sum(np.sin(2 * np.pi * 110 * 2 ** ((k + n) / 12) * t) for k in (0, 4, 7))
        high = np.sin(2 * np.pi * 880 * 2 ** (n / 12) * t)
        switch = (np.floor(t / 0.5) % 2 == 0).astype(np.float32)  # (N,) half-second sections
        clicks = g.standard_normal(len(t)) * (np.sin(2 * np.pi * 4 * t) > 0.97)
        song = 0.25 * switch * low + 0.05 * (1 - switch) * high + 0.1 * clicks
        audio_io.save_wav(folder / f"song{n}.wav", song[None].astype(np.float32), SR)
    return folder


@pytest.mark.slow
def test_tiny_pipeline_on_unannotated_audio_names_its_actions_from_edits(tmp_path):
    songs = write_songs(tmp_path / "songs")
    assert all(e.annotations is None for e in manifest.read_entries(songs))  # audio alone: nothing to read
    tok, lat, lam, dyn, bundle = (tmp_path / n for n in ("tok", "latents", "lam", "dyn", "bundle"))
    common = ["--max-steps", "2", "--device", "cpu", *TINY]
    assert (
        main(
            ["train", "tokenizer", "--data", str(songs), "--out", str(tok), "--batch-size", "2", *common]
            + ["--set", "task.curriculum=0:0.25"]
        )
        == 0
    )
    assert main(["tokenize", "--checkpoint", str(tok), "--data", str(songs), "--out", str(lat)]) == 0
    lam_sets = [
        "--set",
        "task.chunk_seconds=0.01",
        "--set",
        "task.window_chunks=6",
        "--set",
        "task.actions=4",
    ]
    assert (
        main(
            [
                "train",
                "lam",
                "--latents",
                str(lat),
                "--out",
                str(lam),
                "--batch-size",
                "4",
                *common,
                *lam_sets,
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "train",
                "dynamics",
                "--latents",
                str(lat),
                "--lam",
                str(lam),
                "--out",
                str(dyn),
                "--batch-size",
                "2",
            ]
            + [*common, "--set", "task.window_seconds=0.064"]
        )
        == 0
    )
    describe = ["--clips", "2", "--regions", "2", "--region-seconds", "0.5"]
    export = [
        "export",
        "--tokenizer",
        str(tok),
        "--lam",
        str(lam),
        "--dynamics",
        str(dyn),
        "--out",
        str(bundle),
    ]
    export += ["--default-context-seconds", "0.5", "--describe-data", str(songs)]
    assert main(export + [f"--describe-{a[2:]}" if a.startswith("--") else a for a in describe]) == 0

    exported = load_bundle(bundle)
    names = [a.name for a in exported.actions]
    assert len(set(names)) == 4 and not any(re.search(r"\d|moderate change|action", n) for n in names)
    assert all(a.claims and a.name_fidelity is not None for a in exported.actions)
    card = (bundle / "MODEL_CARD.md").read_text()
    assert "## Actions" in card and all(f"| {n} |" in card for n in names)

    out = tmp_path / "described"
    assert (
        main(
            [
                "actions",
                "describe",
                "--bundle",
                str(bundle),
                "--data",
                str(songs),
                "--out",
                str(out),
                *describe,
            ]
        )
        == 0
    )
    described = json.loads((out / "describe.json").read_text())
    assert [a["name"] for a in described["actions"]] == names  # the same path gives the same names
    assert described["regions"] == 4 and described["missing"].keys() <= {"estimator"}
    first = described["per_region"][0]
    assert set(first["edits"]) == {"0", "1", "2", "3"} and "loudness" in first["original"]
