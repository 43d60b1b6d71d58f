"""A tiny regression task for the trainer tests: a registered toy model, a deterministic dataset, a Task."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch

from training.models import registry

registry.register("toy", "tests.training.toy", "ToyConfig", "ToyModel")


@dataclass
class ToyConfig:
    dim: int = 4  # input features
    hidden: int = 16  # hidden width
    dropout: float = 0.1  # uses the global RNG, so resume must restore it
    tags: tuple[str, ...] = ("toy",)  # a tuple: comes back from JSON as a list


class ToyModel(torch.nn.Module):
    def __init__(self, config: ToyConfig) -> None:
        super().__init__()
        self.config = config
        self.net = torch.nn.Sequential(
            torch.nn.Linear(config.dim, config.hidden),
            torch.nn.GELU(),
            torch.nn.Dropout(config.dropout),
            torch.nn.Linear(config.hidden, 1),
        )
        self.register_buffer("seen", torch.zeros(()))  # a buffer: EMA copies it

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            self.seen += x.shape[0]
        return self.net(x).squeeze(-1)  # (B,)


class ToyDataset(torch.utils.data.Dataset):
    """y = x . w + small noise; item i of epoch e is a pure function of (seed, epoch, i)."""

    def __init__(self, n: int = 40, dim: int = 4, seed: int = 0) -> None:
        self.n, self.dim, self.seed, self.epoch = n, dim, seed, 0
        self.w = np.random.default_rng(seed).normal(size=dim).astype(np.float32)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        g = np.random.default_rng([self.seed, i])
        x = g.normal(size=self.dim).astype(np.float32)
        noise = np.random.default_rng([self.seed, self.epoch, i]).normal() * 0.01
        return {"x": torch.from_numpy(x), "y": torch.tensor(float(x @ self.w + noise))}


class ToyTask:
    kind = "toy"

    def __init__(self, config: ToyConfig | None = None, n: int = 40, seed: int = 0) -> None:
        torch.manual_seed(seed)
        self.config = config or ToyConfig()
        self.model = ToyModel(self.config)
        self.dataset = ToyDataset(n=n, dim=self.config.dim, seed=seed)
        self.sampled_at: list[int] = []
        self.hook = None  # called as hook(step) from loss(): lets tests interrupt a run

    def model_config(self) -> dict:
        return dataclasses.asdict(self.config)

    def loss(self, model: torch.nn.Module, batch: dict, step: int) -> tuple[torch.Tensor, dict[str, float]]:
        if self.hook is not None:
            self.hook(step)
        pred = model(batch["x"])
        loss = torch.nn.functional.mse_loss(pred.float(), batch["y"])
        return loss, {"abs_err": (pred.float() - batch["y"]).abs().mean().detach()}

    def log_samples(self, ema_model: torch.nn.Module, writer, step: int) -> None:
        torch.randn(100)  # consumes the RNG: the trainer must shield the training streams from it
        self.sampled_at.append(step)
        writer.add_scalar("val/seen", float(ema_model.seen), step)
