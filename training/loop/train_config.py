"""The trainer's settings (`TrainConfig`), in a module of their own: the trainer, the optimizer side and the
recipes all read them, and none of those needs another's code to do so."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TrainConfig:
    max_steps: int = 10_000  # optimizer steps to train for (also the length of the cosine schedule)
    max_minutes: float | None = None  # stop (with a checkpoint) after this many minutes of this invocation
    batch_size: int = 16  # items per step on each process
    lr: float = 3e-4  # peak AdamW learning rate, reached after the warm-up
    weight_decay: float = 0.01  # AdamW decoupled weight decay, applied to weight matrices only
    warmup_steps: int = 500  # linear learning-rate warm-up from 0, then cosine decay
    min_lr_ratio: float = 0.1  # the cosine ends at this fraction of lr
    grad_clip: float = 1.0  # clip the global gradient norm to this (0 = no clipping)
    ema_decay: float = 0.999  # EMA of the weights (sampling/export use the EMA)
    precision: str = "fp32"  # fp32 or bf16 (autocast; weights and optimizer stay fp32)
    compile: bool = False  # torch.compile the model's forward
    checkpoint_every: int = 500  # steps between checkpoints (a kill -9 loses at most this many)
    keep_checkpoints: int = 3  # keep only the newest K checkpoints
    log_every: int = 25  # steps between tensorboard scalars / progress-bar updates
    sample_every: int = 1000  # steps between task.log_samples calls (0 = never)
    num_workers: int = 0  # DataLoader worker processes (0 = load in the training process)
    seed: int = 0  # seeds the data order and the training RNG streams
    device: str = "auto"  # auto (cuda if available), cpu, cuda or cuda:N
    init_from: str | None = None  # a run or checkpoint folder whose EMA weights start a new run (fine-tuning)
    train_only: str = ""  # parameter-name prefixes that train, comma-separated, the rest frozen ("" = all)

    def __post_init__(self) -> None:
        if self.precision not in ("fp32", "bf16"):
            raise ValueError(f"precision must be 'fp32' or 'bf16', got {self.precision!r}")
        for name in ("max_steps", "batch_size", "checkpoint_every", "log_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.max_minutes is not None and self.max_minutes <= 0:
            raise ValueError(f"max_minutes must be positive, got {self.max_minutes}")
        if not 0.0 <= self.min_lr_ratio <= 1.0:
            raise ValueError(f"min_lr_ratio must be in [0, 1], got {self.min_lr_ratio}")
