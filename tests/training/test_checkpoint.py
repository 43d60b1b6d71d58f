"""Checkpoint folders: atomic writes, pointer, pruning, loading models back, and surviving kill -9."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests.training.toy import ToyConfig, ToyModel, ToyTask
from training.loop import checkpoint
from training.loop.trainer import TrainConfig, train
from training.models import registry

REPO = Path(__file__).resolve().parents[2]
FILES = {"model.safetensors", "ema.safetensors", "optimizer.pt", "state.json", "rng.json"}


def save(run: Path, step: int, model: torch.nn.Module, state: dict | None = None, keep: int = 3) -> Path:
    optimizer = torch.optim.AdamW(model.parameters())
    state = state or {
        "kind": "toy",
        "model_config": {"dim": 4, "hidden": 16, "dropout": 0.1, "tags": ["toy"]},
        "train_config": {},
        "extra": {},
    }
    return checkpoint.save(run, step, model, model, optimizer, state, [{}], keep)


def test_load_run_and_model_from_run_or_checkpoint_folder(tmp_path: Path) -> None:
    task = ToyTask()
    final = train(
        task,
        TrainConfig(max_steps=6, batch_size=8, checkpoint_every=3, sample_every=0, ema_decay=0.9),
        tmp_path,
    )
    assert {p.name for p in final.iterdir()} == FILES
    for where in (tmp_path, final):
        info = checkpoint.load_run(where)
        assert (info.kind, info.step, info.path, info.model_config) == (
            "toy",
            6,
            final,
            {"dim": 4, "hidden": 16, "dropout": 0.1, "tags": ["toy"]},
        )
        assert info.train_config["max_steps"] == 6
    ema_model, config = checkpoint.load_model(tmp_path)
    raw_model, _ = checkpoint.load_model(tmp_path / "checkpoints" / "step_000000003", ema=False)
    assert isinstance(ema_model, ToyModel) and config == ToyConfig() and not ema_model.training
    assert torch.equal(ema_model.net[0].weight, load_file(final / "ema.safetensors")["net.0.weight"])
    assert not torch.equal(ema_model.net[0].weight, task.model.net[0].weight.detach())
    assert not torch.equal(raw_model.net[0].weight, task.model.net[0].weight.detach())  # step 3, not 6
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        checkpoint.load_run(tmp_path / "nothing")


def test_a_failed_save_leaves_the_previous_checkpoint_and_no_partial_folder(tmp_path: Path) -> None:
    model = ToyModel(ToyConfig())
    first = save(tmp_path, 1, model)
    with pytest.raises(TypeError):
        save(tmp_path, 2, model, state={"kind": "toy", "model_config": object()})  # not JSON: fails mid-write
    assert [p.name for p in (tmp_path / "checkpoints").iterdir() if p.name != "latest"] == [first.name]
    assert checkpoint.latest_checkpoint(tmp_path) == first
    assert (tmp_path / "checkpoints" / "latest").read_text().strip() == first.name


def test_pointer_pruning_and_fallbacks(tmp_path: Path) -> None:
    model = ToyModel(ToyConfig())
    for step in (2, 4, 6, 8):
        last = save(tmp_path, step, model, keep=2)
    assert [p.name for p in checkpoint.step_dirs(tmp_path)] == ["step_000000006", "step_000000008"]
    assert checkpoint.latest_checkpoint(tmp_path) == last
    (tmp_path / "checkpoints" / "latest").write_text("step_000000099\n")  # dangling pointer
    assert checkpoint.latest_checkpoint(tmp_path) == last
    (tmp_path / "checkpoints" / "latest").unlink()
    stale = tmp_path / "checkpoints" / ".tmp-step_000000010-123"
    stale.mkdir()
    (stale / "state.json").write_text("{}")
    assert checkpoint.latest_checkpoint(tmp_path) == last  # a temp folder is never a checkpoint
    checkpoint.remove_stale_temps(tmp_path)
    assert not stale.exists()


def test_config_from_dict_restores_tuples_and_rejects_unknown_fields() -> None:
    @dataclass
    class Config:
        widths: tuple[int, ...] = (1, 2)  # per stage
        name: str = "x"  # label

    assert registry.config_from_dict(
        Config, json.loads(json.dumps({"widths": [3, 4], "name": "y"}))
    ) == Config((3, 4), "y")
    with pytest.raises(ValueError, match="no fields"):
        registry.config_from_dict(Config, {"depth": 3})
    with pytest.raises(KeyError, match="unknown model kind"):
        registry.classes("nope")


SCRIPT = """
import sys, time
from pathlib import Path
from tests.training.toy import ToyTask
from training.loop.trainer import TrainConfig, train
task = ToyTask()
progress = Path(sys.argv[2])
def hook(step):
    progress.write_text(str(step))  # steps completed before this one
    time.sleep(0.03)
task.hook = hook
train(task, TrainConfig(max_steps=10_000, batch_size=8, checkpoint_every=3, sample_every=0, log_every=1), Path(sys.argv[1]))
"""


def test_kill_9_loses_at_most_checkpoint_every_steps_and_the_run_resumes(tmp_path: Path) -> None:
    run, progress = tmp_path / "run", tmp_path / "progress"
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(run), str(progress)], cwd=REPO, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while not (progress.is_file() and progress.read_text() and int(progress.read_text()) >= 8):
            assert proc.poll() is None and time.monotonic() < deadline, "training subprocess died or hung"
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    done = int(progress.read_text())
    info = checkpoint.load_run(run)
    assert done - 3 <= info.step <= done + 1 and info.step % 3 == 0
    for path in checkpoint.step_dirs(run):
        assert {p.name for p in path.iterdir()} == FILES

    resumed = ToyTask()
    resumed.hook = lambda step: signal.raise_signal(signal.SIGTERM) if step == info.step + 1 else None
    final = train(
        resumed,
        TrainConfig(max_steps=10_000, batch_size=8, checkpoint_every=3, sample_every=0),
        run,
        resume=True,
    )
    assert checkpoint.load_run(run).step == info.step + 2 and final.name == f"step_{info.step + 2:09d}"
    assert not list((run / "checkpoints").glob(".tmp-*"))
