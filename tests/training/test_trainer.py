"""The shared training loop on a toy regression task: learning, budgets, signals, EMA, exact resume."""

from __future__ import annotations

import logging
import os
import signal
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from engine.errors import CommandError
from tests.training.toy import ToyConfig, ToyTask
from training.loop import checkpoint
from training.loop.ema import EMA
from training.loop.optimizer import lr_at
from training.loop.trainer import RunExistsError, TrainConfig, train


def config(**overrides) -> TrainConfig:
    base = dict(
        max_steps=12,
        batch_size=8,
        lr=1e-2,
        warmup_steps=2,
        checkpoint_every=4,
        log_every=2,
        sample_every=5,
        ema_decay=0.9,
    )
    return TrainConfig(**{**base, **overrides})


def weights(run: Path) -> tuple[dict, dict]:
    ckpt = checkpoint.resolve(run)
    return load_file(ckpt / "model.safetensors"), load_file(ckpt / "ema.safetensors")


def test_loss_goes_down_and_run_is_written(tmp_path: Path) -> None:
    task = ToyTask(n=64)
    losses = []
    original = task.loss

    def recording(model, batch, step):
        loss, metrics = original(model, batch, step)
        losses.append(loss.item())
        return loss, metrics

    task.loss = recording
    final = train(
        task,
        config(max_steps=60, lr=2e-2, warmup_steps=3, checkpoint_every=25, keep_checkpoints=2),
        tmp_path / "run",
        extra={"data": "toy"},
    )
    assert final == tmp_path / "run" / "checkpoints" / "step_000000060"
    assert sum(losses[-10:]) < 0.1 * sum(losses[:10])
    assert [p.name for p in checkpoint.step_dirs(tmp_path / "run")] == ["step_000000050", "step_000000060"]
    info = checkpoint.load_run(tmp_path / "run")
    assert (info.kind, info.step, info.extra, info.train_config["max_steps"]) == (
        "toy",
        60,
        {"data": "toy"},
        60,
    )
    assert list((tmp_path / "run" / "tb").glob("events.out.tfevents.*"))
    assert (tmp_path / "run" / "train.log").is_file()
    assert task.sampled_at == [5 * k for k in range(1, 13)]
    model, cfg = checkpoint.load_model(tmp_path / "run", ema=False)
    assert cfg == task.config and not model.training
    for name, value in model.state_dict().items():
        assert torch.equal(value, task.model.state_dict()[name])


def test_resume_after_sigterm_matches_an_uninterrupted_run_bitwise(tmp_path: Path) -> None:
    straight = ToyTask()
    train(straight, config(), tmp_path / "straight")

    first = ToyTask()
    first.hook = lambda step: os.kill(os.getpid(), signal.SIGTERM) if step == 6 else None  # mid-epoch 1
    assert train(first, config(), tmp_path / "split").name == "step_000000007"
    assert checkpoint.load_run(tmp_path / "split").step == 7
    with pytest.raises(RunExistsError):
        train(ToyTask(), config(), tmp_path / "split")
    with pytest.raises(CommandError, match="different configuration"):
        train(ToyTask(ToyConfig(hidden=8)), config(), tmp_path / "split", resume=True)
    with pytest.raises(TypeError, match="JSON"):
        train(ToyTask(), config(), tmp_path / "other", extra={"path": Path("x")})
    second = ToyTask()
    torch.nn.init.normal_(
        second.model.net[0].weight
    )  # a different init: everything must come from the checkpoint
    train(second, config(), tmp_path / "split", resume=True)

    (a_model, a_ema), (b_model, b_ema) = weights(tmp_path / "straight"), weights(tmp_path / "split")
    for name in a_model:
        assert torch.equal(a_model[name], b_model[name]), name
        assert torch.equal(a_ema[name], b_ema[name]), name
    opt_a = torch.load(checkpoint.resolve(tmp_path / "straight") / "optimizer.pt", weights_only=True)
    opt_b = torch.load(checkpoint.resolve(tmp_path / "split") / "optimizer.pt", weights_only=True)
    for key, state in opt_a["state"].items():
        assert torch.equal(state["exp_avg_sq"], opt_b["state"][key]["exp_avg_sq"])
    assert first.sampled_at + second.sampled_at == [
        5,
        7,
        10,
        12,
    ]  # the extra sample at the stop changed nothing


def test_resume_with_dataloader_workers_is_exact(tmp_path: Path) -> None:
    train(ToyTask(), config(max_steps=8, num_workers=2), tmp_path / "straight")
    train(ToyTask(), config(max_steps=8, num_workers=2, checkpoint_every=3), tmp_path / "split")
    for path in checkpoint.step_dirs(tmp_path / "split"):
        if path.name != "step_000000003":
            for p in path.iterdir():
                p.unlink()
            path.rmdir()
    (tmp_path / "split" / "checkpoints" / "latest").unlink()  # as if killed right after step 3's checkpoint
    train(ToyTask(), config(max_steps=8, num_workers=2, checkpoint_every=3), tmp_path / "split", resume=True)
    a, b = weights(tmp_path / "straight")[0], weights(tmp_path / "split")[0]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_max_minutes_stops_with_a_checkpoint(tmp_path: Path) -> None:
    task = ToyTask()
    task.hook = lambda step: time.sleep(0.02)
    started = time.monotonic()
    final = train(
        task, config(max_steps=100_000, max_minutes=0.3 / 60, checkpoint_every=1000), tmp_path / "run"
    )
    assert time.monotonic() - started < 30  # 100k steps of 20 ms would take half an hour
    step = checkpoint.load_run(tmp_path / "run").step
    assert 1 <= step < 1000 and final.name == f"step_{step:09d}"


def test_ctrl_c_stops_cleanly_and_a_nan_loss_is_an_error(tmp_path: Path) -> None:
    task = ToyTask()
    task.hook = lambda step: signal.raise_signal(signal.SIGINT) if step == 2 else None
    before = signal.getsignal(signal.SIGINT)  # SIG_IGN under nohup, the default handler in a terminal
    assert train(task, config(), tmp_path / "run").name == "step_000000003"
    assert signal.getsignal(signal.SIGINT) is before  # the trainer put it back

    task = ToyTask()
    original = task.loss
    task.loss = lambda model, batch, step: (original(model, batch, step)[0] * float("nan"), {})
    with pytest.raises(FloatingPointError, match="within steps 1..2"):
        train(task, config(), tmp_path / "nan")
    task = ToyTask()
    task.hook = lambda step: step == 5 and task.model.net[0].weight.data.fill_(float("inf"))
    with pytest.raises(FloatingPointError, match="within steps 1..8"):
        train(task, config(log_every=100), tmp_path / "inf")
    assert checkpoint.load_run(tmp_path / "inf").step == 4  # the broken weights were never saved
    assert all(v.isfinite().all() for v in weights(tmp_path / "inf")[0].values())
    with pytest.raises(TypeError, match="lacks kind, model, dataset, model_config, loss"):
        train(object(), config(), tmp_path / "none")


def test_bf16_autocast_trains_on_cpu(tmp_path: Path) -> None:
    task = ToyTask(n=64)
    before = torch.nn.functional.mse_loss(
        task.model.eval()(task.dataset[0]["x"][None]), task.dataset[0]["y"][None]
    )
    train(task, config(max_steps=30, lr=2e-2, precision="bf16", sample_every=0), tmp_path / "run")
    xs = torch.stack([task.dataset[i]["x"] for i in range(64)])
    ys = torch.stack([task.dataset[i]["y"] for i in range(64)])
    after = torch.nn.functional.mse_loss(task.model.eval()(xs), ys)
    assert after < 0.5 * ys.var() and torch.isfinite(before)
    assert all(p.dtype == torch.float32 for p in task.model.parameters())


def test_ema_follows_the_warmed_up_formula() -> None:
    model = torch.nn.Linear(3, 2)
    ema = EMA(model, decay=0.5)
    expected = [p.detach().clone() for p in model.parameters()]
    for n in range(5):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(torch.randn_like(p))
        decay = min(0.5, (1 + n) / (10 + n))
        assert ema.current_decay() == decay
        ema.update(model)
        expected = [
            decay * e + (1 - decay) * p.detach() for e, p in zip(expected, model.parameters(), strict=True)
        ]
    for got, want in zip(ema.model.parameters(), expected, strict=True):
        torch.testing.assert_close(got, want, rtol=0, atol=1e-6)
    assert not any(p.requires_grad for p in ema.model.parameters())


def test_ema_copies_buffers_and_lives_in_the_checkpoint(tmp_path: Path) -> None:
    task = ToyTask()
    train(task, config(max_steps=5, sample_every=0), tmp_path / "run")
    _, ema = weights(tmp_path / "run")
    assert float(ema["seen"]) == 5 * 8 == float(task.model.seen)
    assert not torch.equal(ema["net.0.weight"], task.model.net[0].weight.detach())


def test_learning_rate_schedule() -> None:
    cfg = TrainConfig(max_steps=110, lr=1.0, warmup_steps=10, min_lr_ratio=0.1)
    assert lr_at(0, cfg) == pytest.approx(0.1) and lr_at(9, cfg) == pytest.approx(1.0)
    assert lr_at(60, cfg) == pytest.approx(0.55) and lr_at(110, cfg) == pytest.approx(0.1)
    assert all(lr_at(s, cfg) >= lr_at(s + 1, cfg) for s in range(10, 120))


def test_too_small_a_dataset_and_resume_without_a_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(CommandError, match="too few for one batch"):
        train(ToyTask(n=5), config(), tmp_path / "small")
    train(ToyTask(), config(max_steps=2), tmp_path / "fresh", resume=True)
    assert "no checkpoint to resume from" in caplog.text
    assert checkpoint.load_run(tmp_path / "fresh").step == 2


def test_init_from_starts_a_new_run_from_another_runs_ema_weights(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    train(ToyTask(n=64), config(), tmp_path / "a")
    _, source_ema = weights(tmp_path / "a")
    with caplog.at_level(logging.WARNING):
        train(ToyTask(n=64, seed=1), config(lr=0.0, init_from=str(tmp_path / "a")), tmp_path / "b")
    assert "held-out split differs" not in caplog.text  # same --seed
    started, _ = weights(tmp_path / "b")  # lr 0: the weights it started from
    assert started.keys() == source_ema.keys()
    assert all(torch.equal(started[k], source_ema[k]) for k in started if k != "seen")  # seen counts on
    with pytest.raises(ValueError, match="another shape"):
        train(ToyTask(ToyConfig(hidden=8), n=64), config(init_from=str(tmp_path / "a")), tmp_path / "c")
    with caplog.at_level(logging.WARNING):  # any task (LAM, dynamics too): the held-out split follows --seed
        train(ToyTask(n=64), config(seed=3, init_from=str(tmp_path / "a")), tmp_path / "d")
    assert "--seed 3 differs from the --init-from run's" in caplog.text


def test_train_only_trains_the_named_parameters_and_freezes_the_rest(tmp_path: Path) -> None:
    train(ToyTask(n=64), config(), tmp_path / "a")
    train(ToyTask(n=64), config(init_from=str(tmp_path / "a"), train_only="net.3"), tmp_path / "b")
    tuned, _ = weights(tmp_path / "b")
    _, source_ema = weights(tmp_path / "a")
    assert torch.equal(tuned["net.0.weight"], source_ema["net.0.weight"])  # frozen at the warm start
    assert not torch.equal(tuned["net.3.weight"], source_ema["net.3.weight"])  # trained
    with pytest.raises(CommandError, match="names no parameter"):
        train(ToyTask(n=64), config(train_only="decoder"), tmp_path / "c")
    with pytest.raises(CommandError, match="names no prefix"):
        train(ToyTask(n=64), config(train_only=" , "), tmp_path / "d")
