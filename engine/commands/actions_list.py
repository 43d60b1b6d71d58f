"""List the actions of a bundle (or of a running engine): id, name, name fidelity and description.

Names and descriptions come from `musegenie actions describe` (what each action's edits measurably do);
name fidelity is the share of the described edits on which the name held (a running engine reports its
bundle's; n/a for a bundle whose actions were never described).
"""

from __future__ import annotations

import argparse
import json

from engine.bundle import BundleError, load_bundle
from engine.commands.editor_args import add_engine_arguments, bundle_path, open_editor
from engine.errors import CommandError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_engine_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run(args: argparse.Namespace) -> int:
    if args.engine:
        with open_editor(args) as editor:
            actions = editor.actions()
    else:
        try:
            actions = load_bundle(bundle_path(args)).actions
        except BundleError as err:
            raise CommandError(str(err)) from err
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "id": a.id,
                        "name": a.name,
                        "description": a.description,
                        "name_fidelity": a.name_fidelity,
                    }
                    for a in actions
                ],
                indent=2,
            )
        )
        return 0
    print(f"{'id':>3}  {'name':<24} {'fidelity':>8}  description")
    for a in actions:
        fidelity = a.name_fidelity
        shown = "n/a" if fidelity is None else f"{fidelity:.2f}"
        print(f"{a.id:>3}  {a.name:<24} {shown:>8}  {a.description}")
    return 0
