"""Real 2-process gloo DDP runs on CPU: ranks stay identical, match one process with the joint batch, stop
together when one rank is signalled, and resume exactly."""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

import torch
import torch.multiprocessing as mp
from safetensors.torch import load_file

from tests.training.toy import ToyConfig, ToyTask
from training.data.sampler import ResumableSampler
from training.loop import checkpoint
from training.loop.trainer import TrainConfig, train


def config(batch_size: int) -> TrainConfig:
    return TrainConfig(
        max_steps=6,
        batch_size=batch_size,
        lr=1e-2,
        warmup_steps=2,
        checkpoint_every=3,
        sample_every=0,
        device="cpu",
        seed=5,
    )


def _worker(rank: int, port: int, run: str, dropout: float, stop_at: int, resume: bool) -> None:
    env = dict(
        RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE="2", MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port)
    )
    os.environ.update(env)
    torch.set_num_threads(1)
    task = ToyTask(ToyConfig(dropout=dropout))
    if rank == 1:
        torch.nn.init.normal_(task.model.net[0].weight)  # DDP must broadcast rank 0's weights
    if rank == 0 and stop_at >= 0:  # only rank 0 is told to stop: both must stop at the same step
        task.hook = lambda step: os.kill(os.getpid(), signal.SIGTERM) if step == stop_at else None
    train(task, config(batch_size=8), Path(run), resume=resume)
    torch.save({k: v.clone() for k, v in task.model.state_dict().items()}, Path(run) / f"rank{rank}.pt")


def ddp(run: Path, dropout: float = 0.0, stop_at: int = -1, resume: bool = False) -> list[dict]:
    """Train on two forked ranks (fork: they inherit the imported torch; spawn re-imports it, ~5 s each)."""
    port = _free_port()
    mp.start_processes(
        _worker, args=(port, str(run), dropout, stop_at, resume), nprocs=2, join=True, start_method="fork"
    )
    return [torch.load(run / f"rank{r}.pt", weights_only=True) for r in range(2)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_process_gloo_ddp_keeps_ranks_identical(tmp_path: Path) -> None:
    single = ToyTask(ToyConfig(dropout=0.0))  # one process, both ranks' items in each batch
    train(single, config(batch_size=16), tmp_path / "single")  # (also imports what the forked ranks need)
    rank0, rank1 = ddp(tmp_path / "run")
    for name in rank0:
        assert torch.equal(rank0[name], rank1[name]), name
    info = checkpoint.load_run(tmp_path / "run")
    assert info.step == 6 and [p.name for p in checkpoint.step_dirs(tmp_path / "run")] == [
        "step_000000003",
        "step_000000006",
    ]
    saved, _ = checkpoint.load_model(tmp_path / "run", ema=False)
    assert all(torch.equal(saved.state_dict()[k], rank0[k]) for k in rank0 if k != "seen")
    for name, value in single.model.state_dict().items():
        if name != "seen":  # each rank counts only its own items
            torch.testing.assert_close(rank0[name], value, rtol=1e-5, atol=1e-6)


def test_ddp_stops_together_and_resumes_exactly(tmp_path: Path) -> None:
    train(ToyTask(), config(batch_size=8), tmp_path / "warm")  # imports in the parent before forking
    straight = ddp(tmp_path / "straight", dropout=0.1)
    ddp(tmp_path / "split", dropout=0.1, stop_at=1)
    assert checkpoint.load_run(tmp_path / "split").step == 2
    assert len(load_file(checkpoint.resolve(tmp_path / "split") / "model.safetensors")) == 5
    resumed = ddp(tmp_path / "split", dropout=0.1, resume=True)
    for rank in range(2):
        for name, value in straight[rank].items():
            assert torch.equal(value, resumed[rank][name]), (rank, name)


def test_ranks_draw_disjoint_items_and_skip_resumes_mid_epoch() -> None:
    data = list(range(21))
    ranks = [ResumableSampler(data, rank=r, world_size=2, seed=1) for r in range(2)]
    for s in ranks:
        s.set_epoch(3)
    a, b = (list(s) for s in ranks)
    assert len(a) == len(b) == 10 and not set(a) & set(b)
    ranks[0].skip_to(4)
    assert list(ranks[0]) == a[4:] and len(ranks[0]) == 6
    ranks[0].set_epoch(4)
    ranks[0].skip_to(0)
    assert list(ranks[0]) != a
