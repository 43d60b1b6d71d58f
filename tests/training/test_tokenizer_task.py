"""Tokenizer task, evaluation and CLI on a tiny generated corpus (real files, real tensorboard events)."""

import json
import logging
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.audio import save_wav
from engine.cli import main
from training.evaluation.tokenizer import griffin_lim_baseline
from training.loop.checkpoint import load_run
from training.metrics import log_mel_distance
from training.tasks.tokenizer import TokenizerTask, TokenizerTaskConfig

try:
    import tomllib
except ModuleNotFoundError:  # python 3.10
    import tomli as tomllib

RATE = 16_000


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    rng = np.random.default_rng(0)
    t = np.arange(2 * RATE) / RATE
    for i in range(4):
        freqs = 110 * 2 ** (rng.integers(0, 24, size=3) / 12)
        audio = sum(0.2 * np.sin(2 * np.pi * f * t) * (t > k * 0.5) for k, f in enumerate(freqs))
        save_wav(folder / f"piece_{i}.wav", audio[None].astype(np.float32), RATE)
    return folder


def make_task(corpus, **config):
    config = TokenizerTaskConfig(
        preset="tiny", curriculum="0:0.201,2:0.5", val_fraction=0.25, sample_seconds=0.25, **config
    )
    return TokenizerTask(corpus, config, seed=0)


def test_task_crops_to_the_curriculum_and_trains(corpus):
    torch.manual_seed(0)
    task = make_task(corpus)
    item = task.dataset[0]["audio"]
    assert item.shape == (1, RATE // 2)  # the longest curriculum length
    batch = {"audio": torch.stack([task.dataset[i]["audio"] for i in range(2)])}
    loss, metrics = task.loss(task.model, batch, step=0)
    assert metrics["seconds"] == pytest.approx(0.2)  # 3216 samples rounded down to 100 hops of 32
    assert task.loss(task.model, batch, step=5)[1]["seconds"] == 0.5
    loss.backward()
    assert torch.isfinite(loss) and all(
        p.grad is not None for p in task.model.parameters() if p.requires_grad
    )
    assert task.model_config()["latent_dim"] == 8


def test_log_samples_writes_audio_and_distance(corpus, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from torch.utils.tensorboard import SummaryWriter

    task = make_task(corpus, sample_clips=1, sample_steps=2)
    with SummaryWriter(str(tmp_path)) as writer:
        task.log_samples(task.model.eval(), writer, step=7)
    events = EventAccumulator(str(tmp_path), size_guidance={"audio": 0}).Reload()
    assert set(events.Tags()["audio"]) == {"samples/0/original", "samples/0/reconstruction"}
    assert events.Scalars("samples/log_mel_l1")[0].step == 7


def test_griffin_lim_baseline_is_same_length_and_close_for_a_tone():
    t = np.arange(RATE // 2) / RATE
    tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None]
    out = griffin_lim_baseline(tone, RATE, n_mels=64, hop=128, iters=16)
    assert out.shape == tone.shape and out.dtype == np.float32
    noise = np.random.default_rng(0).standard_normal(tone.shape).astype(np.float32) * 0.2
    assert log_mel_distance(tone, out, RATE) < log_mel_distance(tone, noise, RATE)
    chord = tone + np.roll(tone, 37) * 0.5  # seeded: a rerun gives the same audio, another seed other phases
    first = griffin_lim_baseline(chord, RATE, n_mels=64, hop=128, iters=4, seed=1)
    assert np.array_equal(first, griffin_lim_baseline(chord, RATE, n_mels=64, hop=128, iters=4, seed=1))
    assert not np.array_equal(first, griffin_lim_baseline(chord, RATE, n_mels=64, hop=128, iters=4, seed=2))


def test_train_then_eval_cli(corpus, tmp_path):
    run = tmp_path / "run"
    common = [
        "--data",
        str(corpus),
        "--set",
        "task.preset=tiny",
        "--out",
        str(run),
        "--set",
        "task.curriculum=0:0.25",
    ]
    args = [
        "train",
        "tokenizer",
        *common,
        "--max-steps",
        "3",
        "--batch-size",
        "2",
        "--set",
        "train.sample_every=0",
    ]
    assert main(args) == 0
    recipe = (run / "recipe.toml").read_text()
    assert main(args) == 1  # the run exists and --resume was not given
    assert (run / "recipe.toml").read_text() == recipe  # and its recipe is left as it was
    resolved = tomllib.loads(recipe)
    assert resolved["kind"] == "tokenizer" and resolved["task"]["curriculum"] == "0:0.25"
    assert resolved["train"]["max_steps"] == 3 and resolved["train"]["lr"] == 1e-3  # default.toml's
    assert resolved["model"]["latent_dim"] == 8  # the tiny preset's, written out in full
    again = tmp_path / "again"  # the resolved recipe is a recipe: the same model and schedule again
    assert (
        main(
            [
                "train",
                "tokenizer",
                "--data",
                str(corpus),
                "--recipe",
                str(run / "recipe.toml"),
                "--out",
                str(again),
            ]
        )
        == 0
    )
    assert tomllib.loads((again / "recipe.toml").read_text())["model"] == resolved["model"]
    assert load_run(again).train_config == load_run(run).train_config
    out = tmp_path / "eval"
    args = [
        "eval",
        "tokenizer",
        "--checkpoint",
        str(run),
        "--out",
        str(out),
        "--clips",
        "1",
        "--seconds",
        "0.5",
    ]
    assert main([*args, "--steps", "2", "--griffin-lim-iters", "2"]) == 0
    result = json.loads((out / "metrics.json").read_text())
    assert result["step"] == 3 and result["floats_per_second"] == 8 * RATE / 32
    assert set(result["mean"]) == {"tokenizer", "griffin_lim"}
    assert all(np.isfinite(v) for m in result["mean"].values() for v in m.values())
    bands = result["log_mel_bands"]["tokenizer"]
    assert len(bands["hz"]) == len(bands["l1"]) == 8
    assert np.mean(bands["l1"]) == pytest.approx(result["mean"]["tokenizer"]["log_mel_l1"], abs=1e-3)
    names = {p.name for p in out.iterdir()}
    assert {"00_original.wav", "00_reconstruction.wav", "00_griffin_lim.wav", "spectrograms.png"} <= names


def warm_start_args(corpus, tmp_path) -> tuple[Path, list[str]]:
    """Train a 1-step tiny source run; return it and the arguments of a 1-step warm start from it."""
    common = ["--data", str(corpus), "--set", "task.curriculum=0:0.25", "--batch-size", "2"]
    common += ["--set", "train.sample_every=0"]
    source = tmp_path / "source"
    assert (
        main(
            [
                "train",
                "tokenizer",
                *common,
                "--set",
                "task.preset=tiny",
                "--out",
                str(source),
                "--max-steps",
                "1",
            ]
        )
        == 0
    )
    warm = ["train", "tokenizer", *common, "--init-from", str(source), "--max-steps", "1"]
    return source, warm


def test_warm_start_can_change_the_decoder_space_emphasis(corpus, tmp_path):
    source, warm = warm_start_args(corpus, tmp_path)
    assert main([*warm, "--set", "model.emphasis=1.0", "--out", str(tmp_path / "bad")]) == 1
    assert main([*warm, "--set", "model.emphasis=0.5", "--out", str(tmp_path / "warm")]) == 0
    state = json.loads(next((tmp_path / "warm" / "checkpoints").glob("step_*/state.json")).read_text())
    source_state = json.loads(next((source / "checkpoints").glob("step_*/state.json")).read_text())
    assert state["model_config"] == {**source_state["model_config"], "emphasis": 0.5}


def test_warm_start_can_move_the_companding_grid_and_window_and_warns_on_another_seed(
    corpus, tmp_path, caplog
):
    _, warm = warm_start_args(corpus, tmp_path)
    assert (
        main([*warm, "--set", "model.compand_bins=6", "--out", str(tmp_path / "bad")]) == 1
    )  # not a divisor
    assert main([*warm, "--set", "model.compand_window=2", "--out", str(tmp_path / "bad")]) == 1  # even
    with caplog.at_level(logging.WARNING):
        warm_run = [*warm, "--set", "model.compand_bins=16", "--set", "model.compand_window=3"]
        warm_run += ["--set", "model.latent_mel_weight=10", "--seed", "1"]
        assert main([*warm_run, "--out", str(tmp_path / "warm")]) == 0
    assert "held-out split differs" in caplog.text
    state = json.loads(next((tmp_path / "warm" / "checkpoints").glob("step_*/state.json")).read_text())
    config = state["model_config"]
    assert (config["compand_bins"], config["compand_window"], config["latent_mel_weight"]) == (16, 3, 10.0)
