"""Train the dynamics model: action-conditioned inpainting of latent regions.

Every training window of the latent cache is labelled with actions by the frozen latent action model of
--lam; the model learns to fill masked regions of the window from the rest plus those actions. The
defaults train the shipped `small` model in about 10 minutes on one idle CPU core (`--threads 1`,
0.30 CPU-seconds per step); 18 minutes measured on a busy shared 2-core machine.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import torch

from engine.cli import CommandError
from engine.cli_args import add_dataclass_arguments, dataclass_from_args
from training import rng
from training.latents import INDEX
from training.tasks.dynamics import DynamicsTask, DynamicsTaskConfig, MaskConfig
from training.trainer import add_train_arguments, train, train_config_from_args

log = logging.getLogger(__name__)

# Sized for the shipped small model on a 2-core CPU: 2000 steps x 0.30 CPU-s (one thread); held-out
# fidelity plateaued by step 1000 and the gap between actions kept widening to 2000.
TRAIN_DEFAULTS = dict(
    max_steps=2000,
    batch_size=32,
    lr=5e-4,
    warmup_steps=200,
    ema_decay=0.999,
    checkpoint_every=250,
    sample_every=500,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--latents", type=Path, required=True, help="latent cache folder written by musegenie tokenize"
    )
    parser.add_argument(
        "--lam", type=Path, required=True, help="LAM run folder: its frozen encoder labels every window"
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="CPU threads for torch (1 is faster on a busy shared CPU)"
    )
    add_dataclass_arguments(parser, DynamicsTaskConfig)
    add_dataclass_arguments(parser, MaskConfig, prefix="mask")
    add_train_arguments(parser, **TRAIN_DEFAULTS)


def run(args: argparse.Namespace) -> int:
    if args.threads:
        torch.set_num_threads(args.threads)
    if not (args.latents / INDEX).is_file():
        raise CommandError(f"{args.latents}: no latent cache here (no {INDEX}); run musegenie tokenize first")
    config = train_config_from_args(args)
    task_config = dataclass_from_args(DynamicsTaskConfig, args)
    try:
        rng.seed_everything(config.seed)  # the model's initial weights follow --seed
        task = DynamicsTask(
            args.latents,
            args.lam,
            task_config,
            dataclass_from_args(MaskConfig, args, "mask"),
            seed=config.seed,
        )
    except KeyError as err:
        raise CommandError(str(err)) from err
    extra = {
        "latents": str(args.latents.resolve()),
        "lam": str(args.lam.resolve()),
        "window_frames": task.window_frames,
        "chunk_frames": task.chunk_frames,
        "frame_rate": task.frame_rate,
        "val_fraction": task_config.val_fraction,
        "split_seed": config.seed,
    }
    final = train(task, config, args.out, resume=args.resume, extra=extra)
    log.info(
        "dynamics model ready: %s (evaluate with: musegenie eval dynamics --checkpoint %s ...)",
        final,
        args.out,
    )
    return 0
