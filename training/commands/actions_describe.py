"""Name a bundle's actions from the audio their edits produce.

On audio the names are to hold for (held-out clips, or your own music), a few regions per clip are edited
with every action through the engine, as a user gets them (the bundle's defaults), and each edit is
measured: loudness, brightness, onsets, percussive share (librosa), note density, register, pitch range,
polyphony (basic-pitch's note events) and who plays (the bundle's instrument estimator). Each action gets a
short unique name from the descriptors its edits move, relative to the other actions' edits of the same
regions, and how often it holds (name_fidelity). Only audio is read; annotations play no part.

    musegenie actions describe --bundle models/default --data heldout/ --out eval/describe
    musegenie bundle update models/default --names eval/describe/describe.json   # or pass --record

Writes OUT/describe.json (per action: name, description, claims, name_fidelity, every descriptor's move;
per region: every edit's descriptors) and prints the names.
"""

from __future__ import annotations

import argparse
import logging
import shlex
from pathlib import Path

from engine.bundle import BundleError, load_bundle
from engine.cli_args import add_dataclass_arguments, add_runtime_arguments, dataclass_from_args
from engine.commands.editor_args import default_bundle
from engine.errors import CommandError
from engine.pipeline import Pipeline
from engine.runtime import Runtime, RuntimeConfig
from engine.window import EditError
from training.data.manifest import read_entries
from training.evaluation.describe import DescribeConfig, DescribeError, describe, write

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--bundle", type=Path, default=None, help="exported bundle folder (default: models/default)"
    )
    parser.add_argument(
        "--data",
        type=Path,
        nargs="+",
        required=True,
        help="audio to edit: files, folders of audio, corpus.jsonl or filter manifests (clips are shared "
        "between them)",
    )
    parser.add_argument("--out", type=Path, required=True, help="folder for describe.json")
    parser.add_argument(
        "--record",
        action="store_true",
        help="also write the names into the bundle (as `musegenie bundle update --names` does)",
    )
    add_runtime_arguments(parser)
    add_dataclass_arguments(parser, DescribeConfig)


def describe_command(bundle: Path, data: list[Path], out: Path, config: DescribeConfig) -> str:
    """The `actions describe` command line that repeats a description."""
    words = ["musegenie", "actions", "describe", "--bundle", str(bundle), "--data", *map(str, data)]
    words += ["--out", str(out), "--clips", str(config.clips), "--regions", str(config.regions)]
    words += ["--region-seconds", f"{config.region_seconds:g}", "--seed", str(config.seed)]
    return shlex.join(words)


def summary_lines(summary: dict) -> list[str]:
    """The printed table: id, name, name fidelity and description of each action."""
    lines = [f"{'id':>3}  {'name':<26} {'fidelity':>8}  description"]
    for a in summary["actions"]:
        fidelity = a["name_fidelity"]
        shown = "n/a" if fidelity is None else f"{fidelity:.2f}"
        lines.append(f"{a['id']:>3}  {a['name']:<26} {shown:>8}  {a['description']}")
    for source, why in summary["missing"].items():
        lines.append(f"not measured ({source}): {why}")
    return lines


def run(args: argparse.Namespace) -> int:
    bundle_dir = args.bundle or default_bundle()
    if bundle_dir is None:
        raise CommandError("no bundle: pass --bundle DIR (models/default does not exist)")
    listings = [read_entries(path) for path in args.data]
    try:
        runtime = Runtime(load_bundle(bundle_dir), dataclass_from_args(RuntimeConfig, args, warmup=False))
    except (BundleError, ValueError) as err:
        raise CommandError(str(err)) from err
    config = dataclass_from_args(DescribeConfig, args)
    meta = {
        "bundle": str(bundle_dir),
        "data": [str(p) for p in args.data],
        "command": describe_command(bundle_dir, args.data, args.out, config),
    }
    try:
        summary = describe(Pipeline(runtime), listings, config, meta)
    except (DescribeError, EditError) as err:
        raise CommandError(str(err)) from err
    path = write(summary, args.out)
    print("\n".join(summary_lines(summary)))
    print(f"{summary['regions']} regions of {summary['clips']} clips in {summary['seconds']:.0f} s -> {path}")
    if args.record:
        from export.bundle_update import update

        print(f"recorded in {bundle_dir}: {update(Path(bundle_dir), {}, names=path)}")
    return 0
