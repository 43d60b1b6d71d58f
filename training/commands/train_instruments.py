"""Train the instrument-activity estimator: who plays in each second, from annotated audio.

Reads a synthetic `corpus.jsonl`, a filter manifest or any manifest whose entries carry annotations;
entries without them are skipped and counted. Held-out pieces come from `--held-out` or, without it, a
stable split by piece of `--data`. Writes OUT (a numpy `.npz` the engine loads without torch or sklearn,
see engine/instruments.py) and OUT with `.json` beside it: the held-out per-second scores.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from engine.cli_args import add_dataclass_arguments, dataclass_from_args
from engine.errors import CommandError
from training.data.manifest import read_entries, split_entries
from training.instruments import EstimatorReport, EstimatorTrainConfig, collect, fit, score


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        type=Path,
        nargs="+",
        required=True,
        help="annotated training audio: one or more corpus.jsonl / manifests (e.g. both renderers' corpora)",
    )
    parser.add_argument(
        "--held-out",
        type=Path,
        nargs="+",
        default=None,
        help="annotated pieces to score on (another synth seed); default: hold out --held-out-fraction of --data",
    )
    parser.add_argument(
        "--held-out-fraction",
        type=float,
        default=0.1,
        help="share of --data's pieces held out without --held-out",
    )
    parser.add_argument("--out", type=Path, required=True, help="estimator file to write (.npz)")
    add_dataclass_arguments(parser, EstimatorTrainConfig)


def run(args: argparse.Namespace) -> int:
    config = dataclass_from_args(EstimatorTrainConfig, args)
    entries = [e for path in args.data for e in read_entries(path)]
    if args.held_out is not None:
        train, held = entries, [e for path in args.held_out for e in read_entries(path)]
    else:
        if not 0.0 < args.held_out_fraction < 1.0:
            raise CommandError(f"--held-out-fraction must lie in (0, 1), got {args.held_out_fraction}")
        train, held = split_entries(entries, args.held_out_fraction, config.seed)
        if not held or not train:
            raise CommandError(f"{len(entries)} pieces are too few to hold some out; pass --held-out")
    try:
        x, y, skipped = collect(train, "features (train)")
        xh, yh, skipped_held = collect(held, "features (held-out)")
    except ValueError as err:
        raise CommandError(str(err)) from err
    estimator = fit(x, y, config)
    report = EstimatorReport(list(estimator.names), len(x), len(xh), skipped=skipped + skipped_held)
    score(estimator, xh, yh, report)
    print(report.format())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    out = args.out if args.out.suffix == ".npz" else args.out.with_suffix(".npz")
    estimator.save(out)
    metrics = report.to_dict() | {"command": " ".join(["musegenie", "train", "instruments", *sys.argv[3:]])}
    out.with_suffix(".json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(f"saved {out} and {out.with_suffix('.json')}")
    return 0
