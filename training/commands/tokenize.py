"""Encode a collection (folder, corpus.jsonl or filter manifest) into the latent cache the LAM and dynamics
model train on: one NAME.npz per entry plus index.jsonl, with per-frame instruments and events where the
entries are annotated. Re-running resumes; --shard I/N splits the work between processes."""

from __future__ import annotations

import argparse
from pathlib import Path

from engine.cli_args import add_dataclass_arguments, dataclass_from_args
from engine.errors import CommandError
from training.commands.threads import add_threads_argument, use_threads
from training.tokenize import TokenizeConfig, parse_shard, tokenize


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--checkpoint", type=Path, required=True, help="tokenizer run folder (or checkpoint folder)"
    )
    parser.add_argument(
        "--data", type=Path, required=True, help="audio folder, corpus.jsonl or filter manifest"
    )
    parser.add_argument(
        "--out", type=Path, required=True, help="latent cache folder (created; resumed if present)"
    )
    parser.add_argument("--shard", default="0/1", help="I/N: encode every N-th entry starting at the I-th")
    add_threads_argument(parser)
    add_dataclass_arguments(parser, TokenizeConfig)


def run(args: argparse.Namespace) -> int:
    use_threads(args)
    try:
        shard = parse_shard(args.shard)
        counts = tokenize(
            args.checkpoint, args.data, args.out, dataclass_from_args(TokenizeConfig, args), shard
        )
    except (FileNotFoundError, ValueError) as err:
        raise CommandError(str(err)) from err
    print(
        f"{counts['written']} written, {counts['skipped']} already cached, {counts['empty']} too short -> {args.out}"
    )
    return 0
