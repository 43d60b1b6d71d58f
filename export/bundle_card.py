"""`musegenie bundle card`: rewrite a bundle's MODEL_CARD.md from its manifest and eval/*.json.

For a bundle exported before cards, or whose card predates a change to the card's layout. With --recipes, it
first records the shipped recipes the bundle was trained with as the manifest's training record (a bundle
exported before training records, whose runs are gone); every file is verified before the rewrite re-hashes
them.

    musegenie bundle card models/default
    musegenie bundle card B --recipes tokenizer=low-1-base,low-2-spectrum lam=low dynamics=low --data mix.jsonl
"""

from __future__ import annotations

import argparse
from pathlib import Path

from engine.bundle import BundleError, load_bundle, write_manifest
from engine.errors import CommandError
from export.model_card import write_card


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("bundle", type=Path, help="bundle folder (holds manifest.json)")
    parser.add_argument(
        "--recipes",
        nargs="+",
        default=[],
        metavar="KIND=NAME[,NAME...]",
        help="record the shipped recipes a bundle was trained with (for a bundle exported before training "
        "records; the tokenizer's stages in order); rewrites the manifest's training record",
    )
    parser.add_argument("--data", help="the training data (with --recipes)")
    parser.add_argument("--data-note", default="", help="what the data is and its licence (with --recipes)")
    parser.add_argument(
        "--note", action="append", default=[], help="a limit the card lists (with --recipes; repeatable)"
    )


def run(args: argparse.Namespace) -> int:
    try:
        if args.recipes:
            _record_recipes(args)
        print(write_card(args.bundle))
    except BundleError as err:
        raise CommandError(str(err)) from err
    return 0


def _record_recipes(args: argparse.Namespace) -> None:
    from training.record import recipe_record, training_record

    bundle = load_bundle(args.bundle)  # verifies every file first: the rewrite re-hashes them
    runs = {}
    for spec in args.recipes:
        kind, sep, names = spec.partition("=")
        if not sep or not names:
            raise CommandError(f"--recipes {spec}: expected KIND=NAME[,NAME...]")
        runs[kind] = recipe_record(kind, names.split(","))  # an unknown kind or name: RecipeError
    manifest = dict(bundle.manifest)
    manifest["training"] = training_record(runs, args.data, args.data_note, args.note)
    write_manifest(args.bundle, manifest)
