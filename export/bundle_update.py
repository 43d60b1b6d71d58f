"""`musegenie bundle update`: add an evaluation or an instrument estimator to an exported bundle.

An evaluation made after export (`eval edit`, `train instruments`' scores) or an estimator trained later
belongs in the bundle it describes, without re-exporting the graphs. The files are copied in, the
manifest's checksums are rewritten (every file already listed is verified first, so a damaged bundle is
not re-blessed) and the model card is rewritten from the new evaluation files.

    musegenie bundle update models/default --eval edit=eval/edit/edit.json
    musegenie bundle update models/default --estimator runs/instruments.npz --eval instruments=runs/instruments.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from engine.bundle import ESTIMATOR_KEY, BundleError, load_bundle, write_manifest
from engine.errors import CommandError
from engine.instruments import EstimatorError, install
from export.model_card import write_card


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("bundle", type=Path, help="bundle folder (holds manifest.json)")
    parser.add_argument(
        "--eval",
        nargs="+",
        default=[],
        metavar="NAME=FILE",
        help="evaluation JSON files to store as eval/NAME.json (the card quotes edit, instruments, ...)",
    )
    parser.add_argument(
        "--estimator",
        type=Path,
        help="instrument-activity estimator (.npz from `musegenie train instruments`) to ship in the bundle",
    )


def update(bundle_dir: Path, evals: dict[str, Path], estimator: Path | None = None) -> Path:
    """Copy `evals` (name -> JSON file) and `estimator` into the bundle; rewrite checksums and card."""
    bundle = load_bundle(bundle_dir)  # verifies every listed file before they are re-hashed
    manifest = dict(bundle.manifest)
    if estimator is not None:
        manifest[ESTIMATOR_KEY] = install(estimator, bundle_dir, bundle.instruments)
    for name, source in evals.items():
        target = bundle_dir / "eval" / f"{name}.json"
        target.parent.mkdir(exist_ok=True)
        target.write_text(json.dumps(json.loads(source.read_text()), indent=2) + "\n")
    write_manifest(bundle_dir, manifest)
    load_bundle(bundle_dir)  # the rewritten manifest parses and verifies
    return write_card(bundle_dir)


def run(args: argparse.Namespace) -> int:
    evals = {}
    for spec in args.eval:
        name, sep, file = spec.partition("=")
        if not sep or not name or not Path(file).is_file():
            raise CommandError(f"--eval {spec}: expected NAME=FILE with an existing JSON file")
        evals[name] = Path(file)
    if not evals and args.estimator is None:
        raise CommandError("nothing to add: pass --eval NAME=FILE and/or --estimator FILE")
    try:
        card = update(args.bundle, evals, args.estimator)
    except (BundleError, EstimatorError, json.JSONDecodeError) as err:
        raise CommandError(str(err)) from err
    print(
        f"updated {args.bundle}: {', '.join([*evals, *(['estimator'] if args.estimator else [])])}; card {card}"
    )
    return 0
