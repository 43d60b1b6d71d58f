"""Score a collection with the quality filter and write a manifest of good audio (JSON lines).

Every 5 s segment gets p(good); the probabilities are Gaussian-smoothed along the song and a song passes
when their mean is above --threshold. --min-good-seconds also keeps long good stretches of failing songs
(as `spans`). Re-running with the same --out skips songs already there; unreadable files are reported
(OUT.errors.jsonl) and skipped. On a cluster, give each array job its own shard and output, e.g.
`--shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT --out manifest.$SLURM_ARRAY_TASK_ID.jsonl`, then
concatenate the outputs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from engine.cli_args import add_dataclass_arguments, dataclass_from_args
from engine.errors import CommandError
from training.data.quality.classifier import FilterFormatError, load_filter
from training.data.quality.filtering import (
    FilterConfig,
    filter_collection,
    parse_shard,
    read_manifest,
    select_shard,
)
from training.data.quality.report import save_filter_picture, summary_table
from training.data.quality.sources import list_sources


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "input",
        metavar="AUDIO_DIR_OR_MANIFEST",
        type=Path,
        help="folder of audio, corpus.jsonl, filter manifest or CSV with a 'path' column",
    )
    parser.add_argument("--model", type=Path, required=True, help="filter from `musegenie data train-filter`")
    parser.add_argument(
        "--out", type=Path, required=True, help="manifest to write (JSON lines; appended to on re-runs)"
    )
    add_dataclass_arguments(parser, FilterConfig)
    parser.add_argument("--workers", type=int, default=1, help="processes scoring songs in parallel")
    parser.add_argument(
        "--shard",
        default="0/1",
        metavar="I/N",
        help="score only shard I of N (0-based; songs are split by a hash of their path)",
    )
    parser.add_argument(
        "--picture",
        type=Path,
        default=None,
        help="summary picture (probability histogram and song curves; default: OUT with .png)",
    )
    parser.add_argument(
        "--restart", action="store_true", help="start the output afresh instead of resuming it"
    )


def run(args: argparse.Namespace) -> int:
    config = dataclass_from_args(FilterConfig, args)
    threshold_ok = config.threshold is None or 0.0 <= config.threshold <= 1.0
    if not threshold_ok or config.sigma < 0 or config.min_good_seconds < 0:
        raise CommandError("need 0 <= --threshold <= 1, --sigma >= 0 and --min-good-seconds >= 0")
    try:
        index, count = parse_shard(args.shard)
        sources = select_shard(list_sources(args.input), index, count)
        threshold = config.threshold if config.threshold is not None else load_filter(args.model).threshold
    except (FileNotFoundError, ValueError, FilterFormatError) as err:
        raise CommandError(str(err)) from err
    if args.restart:
        args.out.unlink(missing_ok=True)
    run_info = filter_collection(sources, args.model, args.out, config, workers=max(args.workers, 1))
    entries = read_manifest(args.out)
    print(summary_table(entries, run_info))
    for path, why in run_info.errors[:10]:
        print(f"unreadable: {path}: {why}")
    picture = save_filter_picture(entries, args.picture or args.out.with_suffix(".png"), threshold)
    print(f"manifest: {args.out}  picture: {picture}")
    return 0
