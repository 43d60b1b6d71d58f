"""`musegenie bundle update`: add an evaluation or an instrument estimator to an exported bundle.

An evaluation made after export (`eval edit`, `train instruments`' scores) or an estimator trained later
belongs in the bundle it describes, without re-exporting the graphs. The files are copied in, the
manifest's checksums are rewritten (every file already listed is verified first, so a damaged bundle is
not re-blessed) and the model card is rewritten from the new evaluation files.

    musegenie bundle update models/default --eval edit=eval/edit/edit.json
    musegenie bundle update models/default --estimator runs/instruments.npz --eval instruments=runs/instruments.json
    musegenie bundle update models/default --names eval/describe/describe.json

`--names` takes the action names `musegenie actions describe` measured (name, description, claims and
name_fidelity of every action) into the manifest and keeps the measurement as eval/actions_describe.json.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from engine.bundle import ESTIMATOR_KEY, BundleError, load_bundle, write_manifest
from engine.errors import CommandError
from engine.instruments import EstimatorError, install
from export.model_card import write_card

DESCRIBE_EVAL = "actions_describe"  # eval/actions_describe.json: the measurement the names come from


class NamesError(ValueError):
    """A describe.json that does not fit the bundle (the message says why)."""


def named_actions(summary: dict, num_actions: int) -> list[dict]:
    """The manifest's `actions` from a describe.json: id, name, description, claims, name_fidelity."""
    actions = sorted(summary.get("actions", []), key=lambda a: a.get("id", -1))
    if [a.get("id") for a in actions] != list(range(num_actions)):
        raise NamesError(
            f"the names describe actions {[a.get('id') for a in actions]}, the bundle has 0..{num_actions - 1}"
        )
    names = [a["name"] for a in actions]
    if len(set(names)) != len(names):
        raise NamesError(f"two actions share a name: {names}")
    keys = ("id", "name", "description", "claims", "name_fidelity")
    return [{k: a[k] for k in keys if k in a} for a in actions]


def eval_file(spec: str) -> tuple[str, Path]:
    """`--eval [NAME=]FILE` -> (NAME, FILE): an existing file, stored as eval/NAME.json (NAME defaults to the
    file's stem; a path that itself holds "=" is taken whole when it names a file)."""
    name, sep, file = spec.partition("=")
    if not sep or Path(spec).is_file():
        name, file = Path(spec).stem, spec
    if not name or "/" in name or name.startswith("."):
        raise argparse.ArgumentTypeError(f"{spec}: NAME must be a plain file name (eval/NAME.json)")
    if not Path(file).is_file():
        raise argparse.ArgumentTypeError(f"{spec}: no such file {file}")
    return name, Path(file)


def add_eval_option(parser: argparse.ArgumentParser, what: str) -> None:
    """`--eval [NAME=]FILE ...`, parsed by `eval_file` into (NAME, FILE) pairs; `what` starts the help. The
    option may be given more than once: every file counts (the last one alone did before)."""
    parser.add_argument(
        "--eval",
        nargs="+",
        action="extend",
        default=[],
        type=eval_file,
        metavar="[NAME=]FILE",
        help=f"{what}, as eval/NAME.json (NAME defaults to the file's stem)",
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("bundle", type=Path, help="bundle folder (holds manifest.json)")
    add_eval_option(parser, "evaluation JSON files to store (the card quotes edit, instruments, ...)")
    parser.add_argument(
        "--estimator",
        type=Path,
        help="instrument-activity estimator (.npz from `musegenie train instruments`) to ship in the bundle",
    )
    parser.add_argument(
        "--names",
        type=Path,
        help="describe.json of `musegenie actions describe` on this bundle: its action names and descriptions",
    )


def update(
    bundle_dir: Path, evals: dict[str, Path], estimator: Path | None = None, names: Path | None = None
) -> Path:
    """Copy `evals` (name -> JSON file) and `estimator` into the bundle, take the action names of `names`
    (a describe.json); rewrite checksums and card."""
    bundle = load_bundle(bundle_dir)  # verifies every listed file before they are re-hashed
    manifest = dict(bundle.manifest)
    if estimator is not None:
        manifest[ESTIMATOR_KEY] = install(estimator, bundle_dir, bundle.instruments)
    if names is not None:
        manifest["actions"] = named_actions(json.loads(names.read_text()), bundle.num_actions)
        evals = {**evals, DESCRIBE_EVAL: names}
    for name, source in evals.items():
        target = bundle_dir / "eval" / f"{name}.json"
        target.parent.mkdir(exist_ok=True)
        target.write_text(json.dumps(json.loads(source.read_text()), indent=2) + "\n")
    write_manifest(bundle_dir, manifest)
    load_bundle(bundle_dir)  # the rewritten manifest parses and verifies
    return write_card(bundle_dir)


def run(args: argparse.Namespace) -> int:
    evals = dict(args.eval)
    if not evals and args.estimator is None and args.names is None:
        raise CommandError("nothing to add: pass --eval NAME=FILE, --estimator FILE and/or --names FILE")
    try:
        card = update(args.bundle, evals, args.estimator, args.names)
    except (BundleError, EstimatorError, NamesError, OSError, json.JSONDecodeError) as err:
        raise CommandError(str(err)) from err
    added = [*evals, *(["estimator"] if args.estimator else []), *(["names"] if args.names else [])]
    print(f"updated {args.bundle}: {', '.join(added)}; card {card}")
    return 0
