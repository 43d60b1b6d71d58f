"""Benchmark the edit as a user hears it: the engine's own Pipeline on an exported bundle, with the bundle's
defaults (what `musegenie serve` runs), on held-out clips, against a round trip, a copy and a noise baseline.

Each clip is downmixed and resampled to the bundle's rate; one region with context on both sides is then
rendered six ways. Methods: roundtrip = the region decoded from its own latents (the tokenizer's ceiling
for any edit); edit_inferred = edited with the actions the LAM reads in the region; edit_other_actions =
edited with each single action that differs from that reading (scores averaged); edit_second_seed =
edit_inferred with seed + 1; copy = the segment elsewhere in the file whose surroundings best match the
region's (the region itself is never looked at); noise = noise with the context's average spectrum.

Metrics, each the mean over clips (geometric for the ratios): logmel_l1 = log-mel L1 of the region to
the original (128 mels; lower is closer); flatness_ratio = spectral flatness of the region over the
original's (1 = as tonal, above 1 noisier); realism = held-out balanced accuracy of a classifier telling
its frames from the original regions' frames, folds split by clip (0.5 = indistinguishable, 1.0 = always
told apart); seam_flux_ratio = spectral flux at the region's edges over the flux inside the original
region (the original's own ratio at the same edges is printed beside it); beat_ratio = how much of the
region's onset strength falls on the song's beats (tracked on the whole original as the engine tracks
them), over the original's (1 = keeps the groove; songs without a beat grid are left out).

Beside them: action_effect = log-mel L1 between renderings with different actions over that between two
seeds (above 1 when the actions matter more than the noise); action_fidelity = how often the LAM reads
action a back from a region edited with a (chance 1/A); visqol_roundtrip = ViSQOL MOS-LQO of the round
trip (1-5). Writes OUT/edit.json (keys in docs/evaluation.md) and OUT/index.html with a player and a
spectrogram per method per clip, and prints the table.
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
from training.evaluation.edit import EditEvalConfig, EditEvalError, evaluate
from training.evaluation.edit_baselines import BaselineError
from training.evaluation.edit_instruments import format_summary
from training.evaluation.edit_names import format_summary as format_names
from training.evaluation.edit_report import table, write_page

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--bundle", type=Path, default=None, help="exported bundle folder (default: models/default)"
    )
    parser.add_argument(
        "--data",
        type=Path,
        required=True,
        help="held-out audio: a file, a folder of audio, or a corpus.jsonl / filter manifest",
    )
    parser.add_argument("--out", type=Path, required=True, help="folder for edit.json, index.html and clips/")
    add_runtime_arguments(parser)
    parser.add_argument(
        "--record",
        action="store_true",
        help="also store edit.json in the bundle (eval/edit.json) and rewrite its checksums and model card, "
        "so the card quotes these figures",
    )
    add_dataclass_arguments(parser, EditEvalConfig)


def _command(args: argparse.Namespace, bundle: Path) -> str:
    words = [
        "musegenie",
        "eval",
        "edit",
        "--bundle",
        str(bundle),
        "--data",
        str(args.data),
        "--out",
        str(args.out),
    ]
    words += ["--clips", str(args.clips), "--region-seconds", f"{args.region_seconds:g}"]
    if args.context_seconds is not None:
        words += ["--context-seconds", f"{args.context_seconds:g}"]
    words += ["--position", args.position, "--seed", str(args.seed)]
    words += [] if args.region_seed is None else ["--region-seed", str(args.region_seed)]
    words += [] if args.visqol else ["--no-visqol"]
    return shlex.join(words)


def run(args: argparse.Namespace) -> int:
    bundle_dir = args.bundle or default_bundle()
    if bundle_dir is None:
        raise CommandError("no bundle: pass --bundle DIR (models/default does not exist)")
    entries = read_entries(args.data)
    try:
        bundle = load_bundle(bundle_dir)
        runtime = Runtime(
            bundle,
            dataclass_from_args(RuntimeConfig, args, warmup=False),
        )
    except (BundleError, ValueError) as err:
        raise CommandError(str(err)) from err
    config = dataclass_from_args(EditEvalConfig, args)
    meta = {"bundle": str(bundle_dir), "data": str(args.data), "command": _command(args, bundle_dir)}
    try:
        summary, results = evaluate(Pipeline(runtime), entries, config, args.out, meta)
    except (EditEvalError, EditError, BaselineError) as err:
        raise CommandError(str(err)) from err
    print(table(summary))
    print(format_summary(summary["instrument_fidelity"]))
    print(format_names(summary["name_fidelity"]))
    print(f"{summary['clips']} clips -> {args.out / 'edit.json'}")
    if config.page:
        print(f"listen: {write_page(args.out, results, summary, bundle)}")
    if args.record:
        from export.bundle_update import update

        print(f"recorded in {bundle_dir}: {update(Path(bundle_dir), {'edit': args.out / 'edit.json'})}")
    return 0
