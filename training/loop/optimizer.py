"""The optimisation side of `training.loop.trainer`: the learning-rate schedule, AdamW's parameter groups and
`--train-only`'s freezing, shared by the tokenizer, LAM and dynamics runs."""

from __future__ import annotations

import math

import torch

from engine.errors import CommandError
from training.loop.train_config import TrainConfig


def lr_at(step: int, config: TrainConfig) -> float:
    """Learning rate for (0-based) step: linear warm-up to `lr`, then cosine to `min_lr_ratio * lr` at max_steps."""
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    span = max(1, config.max_steps - config.warmup_steps)
    progress = min(1.0, (step - config.warmup_steps) / span)
    floor = config.min_lr_ratio
    return config.lr * (floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress)))


def freeze_all_but(model: torch.nn.Module, prefixes: str) -> None:
    """`--train-only`: only parameters whose names start with one of the comma-separated `prefixes` train
    (e.g. a zero-initialised part added to a trained model); the rest keep their weights."""
    wanted = tuple(p.strip() for p in prefixes.split(",") if p.strip())
    if not wanted:
        raise CommandError(f"--train-only {prefixes!r} names no prefix; leave it out to train everything")
    names = [name for name, _ in model.named_parameters()]
    for prefix in wanted:
        if not any(name.startswith(prefix) for name in names):
            raise CommandError(
                f"--train-only {prefix!r} names no parameter of the model; names look like {names[0]!r}"
            )
    for name, parameter in model.named_parameters():
        parameter.requires_grad_(name.startswith(wanted))


def make_optimizer(model: torch.nn.Module, config: TrainConfig) -> torch.optim.AdamW:
    """AdamW with weight decay on tensors of rank >= 2 (matrices, convolutions, embeddings) only."""
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    groups = [
        {"params": decay, "weight_decay": config.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    fused = bool(params) and params[0].device.type == "cuda"
    return torch.optim.AdamW(groups, lr=config.lr, betas=(0.9, 0.99), fused=fused or None)
