"""The one training loop shared by the tokenizer, the LAM and the dynamics model.

A model-specific `Task` supplies the model, a map-style dataset and the loss; `train()` does the rest:
AdamW with decoupled weight decay (matrices only), linear warm-up then cosine decay, gradient clipping, EMA
weights, bf16 autocast, optional `torch.compile`, torchrun DDP, tensorboard, a tqdm bar, step/time budgets,
and atomic checkpoints from which `resume=True` continues exactly as if the run had never stopped.

Exact resume rests on three things: the data order is a pure function of (seed, epoch, position) (see
`ResumableSampler`; datasets must draw their randomness from (seed, epoch, index), not the global RNG);
the global RNG states are saved and restored with the weights; and sample logging runs inside
`rng.preserved()`, so it never shifts the training streams.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from engine.errors import CommandError
from training.data.sampler import ResumableSampler
from training.loop import checkpoint, distributed, rng
from training.loop.ema import EMA
from training.loop.optimizer import freeze_all_but, lr_at, make_optimizer
from training.loop.stop import StopFlag
from training.loop.train_config import TrainConfig

log = logging.getLogger(__name__)

RECIPE_NAME = "recipe.toml"  # RUN/recipe.toml: the resolved recipe of the run's latest invocation

# Fields whose change between a run and its resume breaks bit-for-bit continuation (budgets and logging don't).
_EXACTNESS_FIELDS = (
    "batch_size",
    "lr",
    "weight_decay",
    "warmup_steps",
    "min_lr_ratio",
    "grad_clip",
    "ema_decay",
    "precision",
    "seed",
)


@runtime_checkable
class Task(Protocol):
    """What a model brings to the trainer. Optional extras: `log_samples(ema_model, writer, step)` (called
    on rank 0 under no_grad with the RNG preserved), `collate(items) -> batch`, and
    `find_unused_parameters = True` for models whose loss leaves some parameters without a gradient (DDP)."""

    kind: str  # "tokenizer" | "lam" | "dynamics": the registry rebuilds the model from it
    model: torch.nn.Module
    dataset: Dataset  # map-style; item i a pure function of (seed, epoch, i); `set_epoch(e)` if it has one

    def model_config(self) -> dict[str, Any]: ...  # asdict(model config)

    def loss(
        self, model: torch.nn.Module, batch: dict, step: int
    ) -> tuple[torch.Tensor, dict[str, float]]: ...


class RunExistsError(CommandError, FileExistsError):
    """The output folder already holds a run and --resume was not given."""


class _TaskLoss(torch.nn.Module):
    """Runs `task.loss` inside forward(), so DDP synchronises gradients whatever model methods it calls."""

    def __init__(self, task: Task) -> None:
        super().__init__()
        self.model = task.model
        self._loss = task.loss

    def forward(self, batch: dict, step: int) -> tuple[torch.Tensor, dict[str, Any]]:
        return self._loss(self.model, batch, step)


def to_device(batch: Any, device: torch.device) -> Any:
    """Move every tensor of a (nested) batch to `device`."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, list | tuple):
        return type(batch)(to_device(v, device) for v in batch)
    return batch


class _Window:
    """Sums of loss and metrics over the steps since the last log line."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.steps = 0
        self.sums: dict[str, Any] = {}
        self.started = time.perf_counter()

    def add(self, loss: torch.Tensor, metrics: dict[str, Any]) -> None:
        self.steps += 1
        for name, value in {"loss": loss.detach(), **metrics}.items():
            value = value.detach().float() if isinstance(value, torch.Tensor) else float(value)
            self.sums[name] = self.sums.get(name, 0.0) + value

    def state(self) -> dict[str, Any]:
        """The running sums, for a checkpoint: a resumed run then logs what an uninterrupted one would."""
        return {"steps": self.steps, "sums": {k: float(v) for k, v in self.sums.items()}}

    def load(self, state: dict[str, Any] | None) -> None:
        if state is not None:  # checkpoints written before the window was saved have none
            self.steps, self.sums = int(state["steps"]), dict(state["sums"])

    def means(self) -> dict[str, float]:
        return {k: float(v) / max(1, self.steps) for k, v in self.sums.items()}

    def check_finite(self, step: int, info: distributed.DistInfo) -> None:
        """Raise (on every rank) if the loss or gradient norm was NaN/inf in this window: the weights are
        then broken, so nothing more is logged or saved and the newest checkpoint stays a good one."""
        bad = any(not math.isfinite(float(self.sums.get(k, 0.0))) for k in ("loss", "grad_norm"))
        if distributed.any_rank(bad, info):
            raise FloatingPointError(
                f"the loss or gradient norm became NaN/inf within steps {step - self.steps + 1}..{step}; "
                "resume from the newest checkpoint with a lower train.lr or train.grad_clip (--set)"
            )


def _batches(
    task: Task, sampler: ResumableSampler, config: TrainConfig, epoch: int, position: int, pin: bool
) -> Iterator[Any]:
    """The batches of `epoch` from batch `position` on, in the order an uninterrupted run would draw them."""
    sampler.set_epoch(epoch)
    sampler.skip_to(position * config.batch_size)
    if hasattr(task.dataset, "set_epoch"):
        task.dataset.set_epoch(epoch)
    loader = DataLoader(
        task.dataset,
        batch_size=config.batch_size,
        sampler=sampler,
        num_workers=config.num_workers,
        collate_fn=getattr(task, "collate", None),
        pin_memory=pin,
        drop_last=True,
        generator=torch.Generator().manual_seed(
            config.seed * 1_000_003 + epoch
        ),  # worker seeds, not the global RNG
    )
    yield from loader


def _as_json(value: Any, what: str) -> Any:
    """`value` as it will read back from a checkpoint (tuples become lists); fails early if it is not JSON-able."""
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError) as err:
        raise TypeError(f"{what} must be JSON-serialisable to go into checkpoints: {err}") from err


def _check_resume(state: dict[str, Any], task: Task, config: TrainConfig, path: Path) -> None:
    if state["kind"] != task.kind or state["model_config"] != _as_json(task.model_config(), "model_config()"):
        raise CommandError(
            f"{path} holds a {state['kind']} model with a different configuration than this run's {task.kind}"
        )
    saved = state["train_config"]
    changed = [f for f in _EXACTNESS_FIELDS if f in saved and saved[f] != getattr(config, f)]
    if changed:
        log.warning(
            "resuming with changed %s: the run will not match an uninterrupted one exactly",
            ", ".join(changed),
        )


def _restore(
    found: Path,
    task: Task,
    config: TrainConfig,
    ema: EMA,
    optimizer: torch.optim.Optimizer,
    info: distributed.DistInfo,
) -> tuple[int, int, int, dict | None]:
    """Load weights, EMA, optimizer and this rank's RNG states from a checkpoint; returns (step, epoch,
    position, the loss-averaging window's state)."""
    state, optimizer_state, rng_states = checkpoint.load_training_state(found, info.device)
    _check_resume(state, task, config, found)
    checkpoint.load_weights(task.model, found, ema=False)
    checkpoint.load_weights(ema.model, found, ema=True)
    optimizer.load_state_dict(optimizer_state)
    ema.updates = state["ema_updates"]
    if len(rng_states) == info.world_size:
        rng.set_state(rng_states[info.rank])
    else:
        log.warning(
            "checkpoint has RNG states for %d ranks, this run has %d: the RNG streams restart",
            len(rng_states),
            info.world_size,
        )
    log.info("resumed %s from %s (step %d, epoch %d)", task.kind, found, state["step"], state["epoch"])
    return state["step"], state["epoch"], state["position"], state.get("window")


def train(
    task: Task,
    config: TrainConfig,
    run_dir: Path,
    resume: bool = False,
    extra: dict | None = None,
    recipe: str | None = None,
) -> Path:
    """Train `task.model` in place and return the final checkpoint folder.

    Args:
        run_dir: where checkpoints and tensorboard events go (created).
        resume: continue from run_dir's newest checkpoint (starts fresh, with a warning, if there is none).
        extra: JSON-able facts stored in every checkpoint (data paths, the tokenizer a latent cache came from).
        recipe: the resolved recipe (TOML text), written to RUN/recipe.toml once run_dir is this run's.
    """
    run_dir = Path(run_dir)
    missing = [
        name for name in ("kind", "model", "dataset", "model_config", "loss") if not hasattr(task, name)
    ]
    if missing:
        raise TypeError(f"{type(task).__name__} is not a Task: it lacks {', '.join(missing)}")
    _as_json(task.model_config(), "model_config()")
    _as_json(extra or {}, "extra")
    found = checkpoint.latest_checkpoint(run_dir)
    if found is not None and not resume:
        raise RunExistsError(
            f"{run_dir} already holds a run (checkpoint {found.name}): pass --resume or choose a new --out"
        )
    if resume and found is None:
        log.warning("%s has no checkpoint to resume from: starting a new run", run_dir)
    info = distributed.init(config.device)
    if recipe is not None and info.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / RECIPE_NAME).write_text(recipe)
    handler = _log_to_file(run_dir / "train.log") if info.is_main else None
    try:
        return _train(task, config, run_dir, found, extra or {}, info)
    finally:
        if handler is not None:
            logging.getLogger().removeHandler(handler)
            handler.close()
        distributed.shutdown(info)


def _log_to_file(path: Path) -> logging.Handler:
    """Copy log records to RUN/train.log (appended across resumes) for the life of the run."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)
    return handler


def _train(
    task: Task,
    config: TrainConfig,
    run_dir: Path,
    found: Path | None,
    extra: dict,
    info: distributed.DistInfo,
) -> Path:
    """The body of `train` (resuming from `found` if given), inside the process group."""
    if info.is_main:
        checkpoint.remove_stale_temps(run_dir)

    model = task.model.to(info.device).train()
    if config.init_from and found is None:
        checkpoint.warm_start(model, Path(config.init_from), config.seed, warn=info.is_main)
    if config.train_only:
        freeze_all_but(model, config.train_only)
    ema = EMA(model, config.ema_decay)
    optimizer = make_optimizer(model, config)
    rng.seed_everything(config.seed + info.rank)
    step, epoch, position, window_state = 0, 0, 0, None
    if found is not None:
        step, epoch, position, window_state = _restore(found, task, config, ema, optimizer, info)

    if config.compile:
        model.compile()
    runner: torch.nn.Module = _TaskLoss(task)
    if info.enabled:
        device_ids = [info.device.index] if info.device.type == "cuda" else None
        unused = getattr(task, "find_unused_parameters", False)
        runner = DistributedDataParallel(runner, device_ids=device_ids, find_unused_parameters=unused)

    sampler = ResumableSampler(task.dataset, rank=info.rank, world_size=info.world_size, seed=config.seed)
    per_epoch = sampler.num_samples // config.batch_size
    if per_epoch == 0:
        raise CommandError(
            f"the dataset has {len(task.dataset)} items: too few for one batch of {config.batch_size} per process"
        )
    if position >= per_epoch:  # stopped exactly at an epoch's end
        epoch, position = epoch + 1, 0

    writer = None
    if info.is_main:
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(str(run_dir / "tb"), purge_step=step if step > 0 else None, flush_secs=30)
        n_params = sum(p.numel() for p in model.parameters())
        n_trained = sum(p.numel() for p in model.parameters() if p.requires_grad)
        log.info(
            "training %s (%.2fM parameters, %.3fM trained) on %s x%d, %d batches/epoch, steps %d -> %d",
            task.kind,
            n_params / 1e6,
            n_trained / 1e6,
            info.device,
            info.world_size,
            per_epoch,
            step,
            config.max_steps,
        )

    def save() -> Path:
        window.check_finite(step, info)
        rng_states = distributed.gather(rng.get_state(), info)
        path = checkpoint.checkpoints_dir(run_dir) / f"step_{step:09d}"
        if info.is_main:
            state = {
                "kind": task.kind,
                "model_config": task.model_config(),
                "train_config": dataclasses.asdict(config),
                "extra": extra,
                "epoch": epoch,
                "position": position,
                "ema_updates": ema.updates,
                "world_size": info.world_size,
                "window": window.state(),
            }
            path = checkpoint.save(
                run_dir, step, model, ema.model, optimizer, state, rng_states, config.keep_checkpoints
            )
        distributed.barrier(info)
        return path

    def log_samples() -> None:
        if info.is_main and hasattr(task, "log_samples"):
            with rng.preserved(), torch.no_grad():
                task.log_samples(ema.model, writer, step)

    autocast = torch.autocast(info.device.type, dtype=torch.bfloat16, enabled=config.precision == "bf16")
    pbar = tqdm(
        total=config.max_steps,
        initial=step,
        desc=f"train {task.kind}",
        disable=not info.is_main,
        dynamic_ncols=True,
    )
    window = _Window()
    window.load(window_state)
    started = time.monotonic()
    saved_step = step if found is not None else -1
    first_step = step
    final = checkpoint.checkpoints_dir(run_dir) / f"step_{step:09d}"
    try:
        with StopFlag() as stop:
            done = step >= config.max_steps
            while not done:
                for batch in _batches(task, sampler, config, epoch, position, pin=info.device.type == "cuda"):
                    for group in optimizer.param_groups:
                        group["lr"] = lr_at(step, config)
                    batch = to_device(batch, info.device)
                    with autocast:
                        loss, metrics = runner(batch, step)
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    max_norm = config.grad_clip if config.grad_clip > 0 else float("inf")
                    grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
                    optimizer.step()
                    ema.update(model)
                    step, position = step + 1, position + 1
                    if position == per_epoch:
                        epoch, position = epoch + 1, 0
                    window.add(loss, {**metrics, "grad_norm": grad_norm})
                    pbar.update(1)

                    if step % config.log_every == 0:
                        _log_window(
                            window,
                            writer,
                            pbar,
                            step,
                            config,
                            info,
                            optimizer.param_groups[0]["lr"],
                        )
                    out_of_time = (
                        config.max_minutes is not None
                        and time.monotonic() - started > 60 * config.max_minutes
                    )
                    done = distributed.any_rank(
                        step >= config.max_steps or out_of_time or stop.requested, info
                    )
                    if step % config.checkpoint_every == 0 or done:
                        final, saved_step = save(), step
                    if config.sample_every and step % config.sample_every == 0:
                        log_samples()
                    if done or position == 0:
                        break
        if saved_step != step:
            final = save()
        if config.sample_every and step % config.sample_every != 0 and step > first_step:
            log_samples()
        log.info("stopped at step %d; checkpoint %s", step, final)
    finally:
        pbar.close()
        if writer is not None:
            writer.close()
    return final


def _log_window(
    window: _Window,
    writer: Any,
    pbar: tqdm,
    step: int,
    config: TrainConfig,
    info: distributed.DistInfo,
    lr: float,
) -> None:
    window.check_finite(step, info)
    means = window.means()
    elapsed = time.perf_counter() - window.started
    items_per_s = window.steps * config.batch_size * info.world_size / max(elapsed, 1e-9)
    if writer is not None:
        for name, value in means.items():
            writer.add_scalar(f"train/{name}", value, step)
        writer.add_scalar("train/lr", lr, step)
        writer.add_scalar("train/items_per_s", items_per_s, step)
    pbar.set_postfix(loss=f"{means['loss']:.4f}", items_s=f"{items_per_s:.1f}", refresh=False)
    window.reset()
