"""The options every `musegenie train KIND` shares: --out, --recipe, --set, --resume and the run options a user
changes per run (budget, device, seed, warm start). Everything else about a run is in its recipe
(`training.recipe`); a run option given on the command line overrides the recipe's [train] value."""

from __future__ import annotations

import argparse
import typing
from pathlib import Path

from engine.cli_args import base_type, field_comments
from training.loop.train_config import TrainConfig
from training.recipe import DEFAULT, Recipe, load_recipe, recipe_names

# TrainConfig fields offered as options; the rest (lr, warm-up, EMA, logging) are recipe keys.
RUN_OPTIONS = (
    "max_steps",
    "max_minutes",
    "batch_size",
    "device",
    "precision",
    "num_workers",
    "compile",
    "seed",
    "init_from",
    "train_only",
)


def add_recipe_arguments(parser: argparse.ArgumentParser, kind: str) -> None:
    """--out, --recipe, --set, --resume, and one option per RUN_OPTIONS field (absent unless given)."""
    parser.add_argument(
        "--out", type=Path, required=True, help="run directory: checkpoints, tensorboard events, recipe.toml"
    )
    parser.add_argument(
        "--recipe",
        default=DEFAULT,
        help=f"recipe name ({', '.join(recipe_names(kind))}: training/recipes/{kind}/) or a .toml file "
        "(e.g. an earlier RUN/recipe.toml)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="change one recipe value, e.g. --set train.lr=2e-4 --set task.preset=tiny (repeatable)",
    )
    parser.add_argument(
        "--resume", action="store_true", help="continue the run in --out from its newest checkpoint"
    )
    hints = typing.get_type_hints(TrainConfig)
    comments = field_comments(TrainConfig)
    group = parser.add_argument_group("run options (override the recipe's [train] values)")
    for name in RUN_OPTIONS:
        flag, kind_of = "--" + name.replace("_", "-"), base_type(hints[name])
        if kind_of is bool:
            action = argparse.BooleanOptionalAction
            group.add_argument(flag, action=action, default=argparse.SUPPRESS, help=comments[name])
        else:
            group.add_argument(flag, type=kind_of, default=argparse.SUPPRESS, help=comments[name])


def recipe_from_args(kind: str, args: argparse.Namespace, shortcuts: dict[str, str] | None = None) -> Recipe:
    """The recipe the options name, with --set and then the given run options (and `shortcuts`, option
    dest -> "section.key" for a command's own recipe options) applied on top."""
    recipe = load_recipe(kind, args.recipe, args.set)
    given = {name: getattr(args, name) for name in RUN_OPTIONS if hasattr(args, name)}
    recipe = recipe.with_values("train", given, [f"--{k.replace('_', '-')} {v}" for k, v in given.items()])
    for dest, target in (shortcuts or {}).items():
        value = getattr(args, dest, None)
        if value is not None:
            section, key = target.split(".")
            recipe = recipe.with_values(section, {key: value}, [f"--{dest.replace('_', '-')} {value}"])
    return recipe
