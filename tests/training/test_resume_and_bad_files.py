"""A corrupt file cannot become the whole held-out split, and a resumed run logs the losses an
uninterrupted one would (the loss-averaging window travels in the checkpoint)."""

from __future__ import annotations

import signal
from pathlib import Path

import numpy as np
import torch

from engine.audio import save_wav
from tests.training.toy import ToyTask
from training.data.manifest import read_entries, split_entries
from training.loop import trainer
from training.loop.trainer import TrainConfig, train
from training.tasks.tokenizer import TokenizerTask, TokenizerTaskConfig

RATE = 16_000


def test_an_unreadable_file_that_would_be_held_out_is_skipped_first(tmp_path: Path):
    t = np.arange(RATE) / RATE
    for i in range(4):
        save_wav(tmp_path / f"piece_{i}.wav", (0.2 * np.sin(2 * np.pi * 220 * (i + 1) * t))[None], RATE)
    (tmp_path / "zz_broken.wav").write_bytes(b"RIFF not really a wave file" * 20)
    _, held = split_entries(read_entries(tmp_path), 0.05, 0)
    assert [e.path.name for e in held] == ["zz_broken.wav"]  # the case: the only held-out piece is bad
    config = TokenizerTaskConfig(preset="tiny", curriculum="0:0.25", val_fraction=0.05, sample_seconds=0.25)
    task = TokenizerTask(tmp_path, config, seed=0)
    assert task.sample_audio.shape[0] >= 1 and torch.isfinite(task.sample_audio).all()
    assert {s.path.name for s in task.dataset.sources} <= {f"piece_{i}.wav" for i in range(4)}
    assert len(task.dataset.sources) == 3  # one good piece is held out instead


def test_resumed_run_logs_the_losses_of_an_uninterrupted_one(tmp_path: Path, monkeypatch):
    logged: dict[int, dict[str, float]] = {}
    original = trainer._log_window

    def record(window, writer, pbar, step, config, info, lr):
        logged[step] = window.means()
        original(window, writer, pbar, step, config, info, lr)

    monkeypatch.setattr(trainer, "_log_window", record)
    config = TrainConfig(max_steps=8, batch_size=8, checkpoint_every=100, sample_every=0, log_every=4)
    train(ToyTask(), config, tmp_path / "whole")
    whole = dict(logged)
    logged.clear()
    interrupted = ToyTask()
    interrupted.hook = lambda step: signal.raise_signal(signal.SIGTERM) if step == 5 else None
    train(interrupted, config, tmp_path / "parts")  # stops (and saves) after step 6, mid-window
    assert logged.keys() == {4}
    train(ToyTask(), config, tmp_path / "parts", resume=True)
    assert logged[8] == whole[8] and logged[4] == whole[4]
