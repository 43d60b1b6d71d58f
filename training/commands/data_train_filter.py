"""Train the recording-quality filter (ExtraTrees on mel-band statistics) from a labels CSV.

Prints the k-fold accuracy (folds split by recording: the labels' `group` column, else copies of one
recording found by ear), the out-of-fold confusion matrix, the song threshold chosen out of fold (or the
neutral 0.5 with a warning when those predictions are no better than chance) and the most useful features,
then fits on all labels and saves the model with its feature version and training metadata.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from pathlib import Path

from engine.cli import CommandError
from engine.cli_args import add_dataclass_arguments, dataclass_from_args
from training.data.quality.classifier import FilterTrainConfig, labelled_features, save_filter, train_filter
from training.data.quality.features import FeatureConfig
from training.data.quality.labels import read_labels


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "labels",
        type=Path,
        help="labels CSV (path,start,duration,label) from `musegenie data label`; an optional `group` column "
        "names the recording of each row (rows of one group are never split between training and test; "
        "without it, files that sound like one recording are grouped)",
    )
    parser.add_argument("--out", type=Path, required=True, help="where the filter is saved (joblib)")
    add_dataclass_arguments(parser, FilterTrainConfig)


def run(args: argparse.Namespace) -> int:
    config = dataclass_from_args(FilterTrainConfig, args)
    try:
        labels = read_labels(args.labels)
    except (OSError, ValueError) as err:
        raise CommandError(str(err)) from err
    if {item.label for item in labels} != {"good", "bad"}:
        raise CommandError(f"{args.labels}: need both good and bad labels ({len(labels)} rows)")
    feature_config = FeatureConfig()
    try:
        x, y, groups, unreadable = labelled_features(labels, feature_config)
    except ValueError as err:
        raise CommandError(f"{args.labels}: {err}") from err
    quality_filter, report = train_filter(x, y, groups, config, feature_config)
    report.unreadable = unreadable
    quality_filter.metadata |= {
        "labels": str(args.labels.resolve()),
        "report": asdict(report),
        "command": " ".join(["musegenie", "data", "train-filter", *sys.argv[3:]]),
    }
    print(report.format())
    save_filter(quality_filter, args.out)
    print(f"saved {args.out}")
    return 0
