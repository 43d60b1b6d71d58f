"""A real 2-process gloo DDP run on CPU: ranks stay identical and match one process with the joint batch."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import torch
import torch.multiprocessing as mp

from tests.training.toy import ToyConfig, ToyTask
from training import checkpoint
from training.data.sampler import ResumableSampler
from training.trainer import TrainConfig, train


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


def _worker(rank: int, world_size: int, port: int, out: str) -> None:
    os.environ.update(
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        WORLD_SIZE=str(world_size),
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
    )
    torch.set_num_threads(1)
    task = ToyTask(ToyConfig(dropout=0.0))
    if rank == 1:
        torch.nn.init.normal_(task.model.net[0].weight)  # DDP must broadcast rank 0's weights
    train(task, config(batch_size=8), Path(out) / "run")
    torch.save({k: v.clone() for k, v in task.model.state_dict().items()}, Path(out) / f"rank{rank}.pt")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_process_gloo_ddp_keeps_ranks_identical(tmp_path: Path) -> None:
    single = ToyTask(ToyConfig(dropout=0.0))  # one process, both ranks' items in each batch
    train(single, config(batch_size=16), tmp_path / "single")  # (also imports what the forked ranks need)
    # fork: the children inherit the imported torch (spawn would re-import it, ~5 s each on a busy box)
    mp.start_processes(
        _worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True, start_method="fork"
    )
    rank0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    rank1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    for name in rank0:
        assert torch.equal(rank0[name], rank1[name]), name
    info = checkpoint.load_run(tmp_path / "run")
    assert info.step == 6 and len(os.listdir(tmp_path / "run" / "checkpoints")) == 3  # step 3, step 6, latest
    saved, _ = checkpoint.load_model(tmp_path / "run", ema=False)
    assert all(torch.equal(saved.state_dict()[k], rank0[k]) for k in rank0 if k != "seen")
    for name, value in single.model.state_dict().items():
        if name != "seen":  # each rank counts only its own items
            torch.testing.assert_close(rank0[name], value, rtol=1e-5, atol=1e-6)


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
