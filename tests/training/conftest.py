"""Shared fixtures for training tests: a small synthetic corpus rendered once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.data.synth import write_corpus

CORPUS_PIECES = 6
CORPUS_PIECE_SECONDS = 12


@pytest.fixture(scope="session")
def synth_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Folder with 6 pieces x 12 s (half of them damaged, seed 0): NAME.wav, NAME.json, corpus.jsonl."""
    out = tmp_path_factory.mktemp("synth_corpus")
    write_corpus(
        out,
        minutes=CORPUS_PIECES * CORPUS_PIECE_SECONDS / 60,
        seed=0,
        degrade_fraction=0.5,
        piece_seconds=(CORPUS_PIECE_SECONDS, CORPUS_PIECE_SECONDS),
        progress=False,
    )
    return out
