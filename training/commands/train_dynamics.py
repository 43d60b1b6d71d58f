"""Train the dynamics model: action-conditioned inpainting of latent regions.

Every training window of the latent cache is labelled with actions by the frozen latent action model of
--lam; the model learns to fill masked regions of the window from the rest plus those actions. The default
recipe trains the shipped `small` model in about 10 minutes on one idle CPU core (`--threads 1`, 0.30
CPU-seconds per step); 18 minutes measured on a busy shared 2-core machine.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
from pathlib import Path

from engine.errors import CommandError
from training.commands.recipe_args import add_recipe_arguments, recipe_from_args
from training.commands.threads import add_threads_argument, use_threads
from training.latents import INDEX
from training.loop import rng
from training.loop.trainer import train
from training.tasks.dynamics import DynamicsTask

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--latents", type=Path, required=True, help="latent cache folder written by musegenie tokenize"
    )
    parser.add_argument(
        "--lam", type=Path, required=True, help="LAM run folder: its frozen encoder labels every window"
    )
    add_threads_argument(parser)
    add_recipe_arguments(parser, "dynamics")


def run(args: argparse.Namespace) -> int:
    use_threads(args)
    if not (args.latents / INDEX).is_file():
        raise CommandError(f"{args.latents}: no latent cache here (no {INDEX}); run musegenie tokenize first")
    recipe = recipe_from_args("dynamics", args)
    config = recipe.build("train")
    task_config = recipe.build("task")
    try:
        rng.seed_everything(config.seed)  # the model's initial weights follow the seed
        task = DynamicsTask(
            args.latents,
            args.lam,
            task_config,
            recipe.build("mask"),
            seed=config.seed,
            **recipe.section("model"),
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
        "recipe": recipe.record(),
    }
    text = recipe.resolved_toml(dataclasses.asdict(task.model_cfg))
    final = train(task, config, args.out, resume=args.resume, extra=extra, recipe=text)
    log.info(
        "dynamics model ready: %s (evaluate with: musegenie eval dynamics --checkpoint %s ...)",
        final,
        args.out,
    )
    return 0
