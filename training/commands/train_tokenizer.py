"""Train the diffusion audio tokenizer (DiTo-1D with DC-AE shortcuts) on a folder, corpus.jsonl or filter manifest.

Segments are drawn at random from the training pieces (a share of pieces is held out by file name for
samples and `musegenie eval tokenizer`); the segment length follows the recipe's task.curriculum. The model,
its loss and the schedule come from a recipe (training/recipes/tokenizer/, `--set` to change one value);
checkpoints, EMA weights, tensorboard events and the resolved recipe go to --out; --resume continues a
stopped run exactly. With --init-from the new run starts from another run's EMA weights and architecture,
changed only by the recipe's [model] keys (zero-initialised parts such as `spectrum` may be added). Example:

  musegenie train tokenizer --data corpus/ --out runs/tokenizer --max-minutes 40
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
from pathlib import Path

from engine.errors import CommandError
from training.commands.recipe_args import add_recipe_arguments, recipe_from_args
from training.commands.runs import run_of_kind
from training.commands.threads import add_threads_argument, use_threads
from training.loop import rng
from training.loop.trainer import train
from training.tasks.tokenizer import TokenizerTask

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="folder of audio, corpus.jsonl or filter manifest")
    add_threads_argument(parser)
    add_recipe_arguments(parser, "tokenizer")


def run(args: argparse.Namespace) -> int:
    use_threads(args)
    recipe = recipe_from_args("tokenizer", args)
    config = recipe.build("train")
    # A warm start keeps the source run's architecture; the recipe's [model] keys may change or add parts.
    model = {}
    if config.init_from:
        model = dict(
            run_of_kind(Path(config.init_from), "tokenizer", f"--init-from {config.init_from}").model_config
        )
    model.update(recipe.section("model"))
    task_config = recipe.build("task")
    rng.seed_everything(config.seed)  # the model's initial weights follow the seed
    try:
        task = TokenizerTask(args.data, task_config, recipe.build("flow"), seed=config.seed, **model)
    except (
        ValueError,
        KeyError,
    ) as err:  # an impossible model (e.g. compand_bins that do not divide the hop)
        raise CommandError(f"tokenizer config (recipe {recipe.name}): {err}") from err
    extra = {"data": str(args.data), "task": dataclasses.asdict(task_config), "recipe": recipe.record()}
    text = recipe.resolved_toml(dataclasses.asdict(task.model.config))
    final = train(task, config, args.out, resume=args.resume, extra=extra, recipe=text)
    log.info("tokenizer checkpoint: %s", final)
    return 0
