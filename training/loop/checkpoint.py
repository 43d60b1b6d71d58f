"""Run directories and atomic checkpoints.

Layout of a run directory:

    RUN/checkpoints/step_000001000/model.safetensors   weights
                                   ema.safetensors     EMA weights (what sampling and export use)
                                   optimizer.pt        AdamW state (torch.save)
                                   state.json          kind, step, data position, model/train configs, extra
                                   rng.json            RNG states of every rank
    RUN/checkpoints/latest                             name of the newest complete checkpoint
    RUN/tb/                                            tensorboard events
    RUN/recipe.toml                                    the resolved recipe (training/recipe.py)

A checkpoint is written into a hidden temp folder and renamed into place, then `latest` is replaced
atomically; a crash at any point leaves the previous checkpoint intact and no partial folder visible.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import safetensors.torch
import torch

from engine.published_file import atomic_write, remove_stale_temporaries
from training.models import registry

log = logging.getLogger(__name__)

FORMAT = "musegenie-checkpoint"
FORMAT_VERSION = 1
POINTER = "latest"
_STEP_DIR = re.compile(r"^step_(\d+)$")


@dataclass
class RunInfo:
    """What a checkpoint says about its run (configs are the plain dicts stored in it)."""

    kind: str  # "tokenizer" | "lam" | "dynamics" (or a registered test kind)
    model_config: dict[str, Any]  # asdict(model config): registry.build rebuilds the model from it
    train_config: dict[str, Any]  # asdict(TrainConfig) of the run that wrote it
    extra: dict[str, Any]  # whatever the task passed to train(extra=...), e.g. data paths, tokenizer sha
    step: int  # optimizer steps completed
    path: Path  # the checkpoint folder


def checkpoints_dir(run_dir: Path) -> Path:
    return Path(run_dir) / "checkpoints"


def step_dirs(run_dir: Path) -> list[Path]:
    """Complete checkpoint folders of a run, oldest first."""
    root = checkpoints_dir(run_dir)
    if not root.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in root.iterdir() if (m := _STEP_DIR.match(p.name)) and p.is_dir()]
    return [p for _, p in sorted(found)]


def latest_checkpoint(run_dir: Path) -> Path | None:
    """The checkpoint `latest` names, else the highest-numbered complete one, else None."""
    root = checkpoints_dir(run_dir)
    pointer = root / POINTER
    if pointer.is_file():
        target = root / pointer.read_text().strip()
        if (target / "state.json").is_file():
            return target
        log.warning("%s names %s, which is missing; using the newest checkpoint folder", pointer, target.name)
    dirs = [p for p in step_dirs(run_dir) if (p / "state.json").is_file()]
    return dirs[-1] if dirs else None


def resolve(path: Path) -> Path:
    """A checkpoint folder from either a run directory or a checkpoint folder."""
    path = Path(path)
    if (path / "state.json").is_file():
        return path
    found = latest_checkpoint(path)
    if found is None:
        raise FileNotFoundError(
            f"{path}: no checkpoint found (neither a run directory nor a checkpoint folder)"
        )
    return found


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=1) + "\n")


def _write_pointer(root: Path, name: str) -> None:
    with atomic_write(root / POINTER, "w") as fh:
        fh.write(name + "\n")


def remove_stale_temps(run_dir: Path) -> None:
    """Delete temp folders a killed writer left behind (they were never visible as checkpoints)."""
    root = checkpoints_dir(run_dir)
    if root.is_dir():
        for p in root.glob(".tmp-*"):
            shutil.rmtree(p, ignore_errors=True)
        remove_stale_temporaries(root, POINTER)


def save(
    run_dir: Path,
    step: int,
    model: torch.nn.Module,
    ema_model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    state: dict[str, Any],
    rng: list[dict[str, Any]],
    keep: int,
) -> Path:
    """Write checkpoint `step` atomically, point `latest` at it and keep only the newest `keep`.

    Args:
        state: JSON-able run state (kind, configs, extra, data position); `step` is added.
        rng: RNG states, one per rank.
    """
    root = checkpoints_dir(run_dir)
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"step_{step:09d}"
    tmp = root / f".tmp-{final.name}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        meta = {"format": FORMAT, "kind": str(state.get("kind", "")), "step": str(step)}
        safetensors.torch.save_model(model, str(tmp / "model.safetensors"), metadata=meta)
        safetensors.torch.save_model(ema_model, str(tmp / "ema.safetensors"), metadata=meta)
        torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
        _write_json(
            tmp / "state.json",
            {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                **state,
                "step": step,
                "saved_at": time.time(),
            },
        )
        _write_json(tmp / "rng.json", rng)
        for f in tmp.iterdir():
            _fsync(f)
        if final.exists():  # same step saved again (e.g. periodic then exit): replace it
            shutil.rmtree(final)
        os.rename(tmp, final)
        _fsync(root)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _write_pointer(root, final.name)
    for old in step_dirs(run_dir)[:-keep] if keep > 0 else []:
        if old != final:
            shutil.rmtree(old, ignore_errors=True)
    return final


def load_run(run_dir: Path) -> RunInfo:
    """Kind, configs, extra and step of a run's newest checkpoint (or of the checkpoint folder given)."""
    path = resolve(run_dir)
    state = json.loads((path / "state.json").read_text())
    if state.get("format") != FORMAT:
        raise ValueError(f"{path}: not a musegenie checkpoint")
    return RunInfo(
        kind=state["kind"],
        model_config=state["model_config"],
        train_config=state["train_config"],
        extra=state.get("extra") or {},
        step=int(state["step"]),
        path=path,
    )


def load_initial_weights(model: torch.nn.Module, path: Path) -> list[str]:
    """Warm start: copy a run's (or checkpoint's) EMA weights into `model` in place and return the model's
    keys the checkpoint lacks (modules added since, left at their initialisation). Keys only the checkpoint
    has, or tensors of another shape, mean another architecture: a ValueError."""
    file = resolve(path) / "ema.safetensors"
    try:
        missing, unexpected = safetensors.torch.load_model(model, str(file), strict=False)
    except RuntimeError as err:  # size mismatches
        raise ValueError(f"{file}: weights of another shape than the model's ({err})") from err
    if unexpected:
        raise ValueError(
            f"{file}: holds weights the model lacks ({unexpected}); is it the same kind of model?"
        )
    return list(missing)


def warm_start(model: torch.nn.Module, source: Path, seed: int, warn: bool = True) -> None:
    """`--init-from`: load the source run's EMA weights (`load_initial_weights`), log the parts left at their
    init, and warn (when `warn`) if the source ran with another seed: every task's held-out split follows
    the seed, so the new run would train on pieces the source held out."""
    new = load_initial_weights(model, source)
    log.info("weights from %s%s", source, f"; new, at their init: {new}" if new else "")
    source_seed = int(load_run(source).train_config.get("seed", seed))
    if source_seed != seed and warn:
        log.warning(
            "--seed %d differs from the --init-from run's %d: the held-out split differs, so this run "
            "trains on pieces the source held out and its evaluations do not compare; pass --seed %d",
            seed,
            source_seed,
            source_seed,
        )


def load_weights(model: torch.nn.Module, path: Path, ema: bool = True) -> None:
    """Load a checkpoint's (EMA) weights into `model` in place (strict: every key must match)."""
    file = resolve(path) / ("ema.safetensors" if ema else "model.safetensors")
    device = next(iter(model.state_dict().values())).device if model.state_dict() else torch.device("cpu")
    missing, unexpected = safetensors.torch.load_model(model, str(file), strict=False, device=str(device))
    if missing or unexpected:
        raise ValueError(
            f"{file}: weights do not match the model (missing {missing}, unexpected {unexpected})"
        )


def load_model(
    run_dir: Path, ema: bool = True, device: str | torch.device = "cpu"
) -> tuple[torch.nn.Module, Any]:
    """Rebuild a run's model from its stored config and load its (EMA) weights; returns (model in eval mode, config)."""
    info = load_run(run_dir)
    model, config = registry.build(info.kind, info.model_config)
    model.to(device)
    load_weights(model, info.path, ema=ema)
    return model.eval(), config


def load_training_state(
    path: Path, map_location: str | torch.device
) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """(state.json, optimizer state dict, per-rank RNG states) of a checkpoint, for resuming."""
    path = resolve(path)
    state = json.loads((path / "state.json").read_text())
    optimizer = torch.load(path / "optimizer.pt", map_location=map_location, weights_only=True)
    rng = json.loads((path / "rng.json").read_text())
    return state, optimizer, rng
