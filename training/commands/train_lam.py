"""Train the latent action model on a latent cache: a small vocabulary of actions (one per ~1 s chunk),
learnt without labels by reconstructing masked chunks from the context plus the actions. The default recipe
(small preset, 0.4M parameters, 600 steps of 32 eight-second windows) trains the shipped model on a 2-core
CPU in 5-13 minutes (13 measured on a heavily shared machine); held-out delta-PSNR has plateaued by then:
musegenie train lam --latents latents/ --out runs/lam --max-minutes 20"""

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
from training.tasks.lam import LAMTask

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--latents", type=Path, required=True, help="latent cache folder written by musegenie tokenize"
    )
    parser.add_argument(
        "--instruments",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="condition on per-chunk instruments (needs an annotated cache; the recipe's task.instruments)",
    )
    add_threads_argument(parser)
    add_recipe_arguments(parser, "lam")


def run(args: argparse.Namespace) -> int:
    use_threads(args)
    if not (args.latents / INDEX).is_file():
        raise CommandError(f"{args.latents}: no latent cache here (no {INDEX}); run musegenie tokenize first")
    recipe = recipe_from_args("lam", args, {"instruments": "task.instruments"})
    config = recipe.build("train")
    task_config = recipe.build("task")
    try:
        rng.seed_everything(config.seed)  # the model's initial weights follow the seed
        task = LAMTask(
            str(args.latents), task_config, recipe.build("mask"), seed=config.seed, **recipe.section("model")
        )
    except ValueError as err:
        raise CommandError(str(err)) from err
    extra = {
        "latents": str(args.latents.resolve()),
        "tokenizer_sha": task.tokenizer_sha,
        "frame_rate": task.frame_rate,
        "window_chunks": task_config.window_chunks,
        "val_fraction": task_config.val_fraction,
        "split_seed": config.seed,
        "recipe": recipe.record(),
    }
    text = recipe.resolved_toml(dataclasses.asdict(task.config))
    final = train(task, config, args.out, resume=args.resume, extra=extra, recipe=text)
    log.info(
        "LAM ready: %s (evaluate with: musegenie eval lam --checkpoint %s --latents %s --out EVAL_DIR)",
        final,
        args.out,
        args.latents,
    )
    return 0
