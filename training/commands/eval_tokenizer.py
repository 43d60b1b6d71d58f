"""Evaluate a trained tokenizer: reconstruct held-out clips and compare with a Griffin-Lim baseline that gets the
same number of floats per second (latent_dim mels at the latent frame rate).

By default the clips come from the pieces the training run held out (same --val-fraction and seed as the run);
`--split all` uses every piece of --data (for a separate test set). Writes EVAL_DIR/metrics.json, WAVs of the
originals, reconstructions and baselines, and spectrograms.png.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import torch

from engine.cli_args import add_dataclass_arguments, dataclass_from_args
from engine.errors import CommandError
from training.commands.runs import run_of_kind
from training.commands.threads import add_threads_argument, use_threads
from training.data.audio_segments import readable_entries
from training.data.manifest import read_entries, split_entries
from training.evaluation.tokenizer import TokenizerEvalConfig, evaluate, summary_table
from training.loop.checkpoint import load_model

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--checkpoint", type=Path, required=True, help="tokenizer run folder (or one checkpoint in it)"
    )
    parser.add_argument(
        "--data", default=None, help="folder, corpus.jsonl or manifest (default: the run's training data)"
    )
    parser.add_argument(
        "--out", type=Path, required=True, help="folder for metrics.json, WAVs and spectrograms.png"
    )
    parser.add_argument(
        "--split", choices=("held-out", "all"), default="held-out", help="which pieces of --data to use"
    )
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument(
        "--no-ema", action="store_true", help="use the raw weights instead of the EMA weights"
    )
    add_threads_argument(parser)
    add_dataclass_arguments(parser, TokenizerEvalConfig)


@torch.no_grad()  # scoped: the CLI also runs inside test processes and other tools
def run(args: argparse.Namespace) -> int:
    use_threads(args)
    info = run_of_kind(args.checkpoint, "tokenizer", str(args.checkpoint))
    data = args.data or info.extra.get("data")
    if data is None:
        raise CommandError("the run does not record its data: pass --data")
    entries = readable_entries(read_entries(data))  # split as training did: unreadable files first out
    if args.split == "held-out":
        task = info.extra.get("task", {})
        _, entries = split_entries(
            entries, float(task.get("val_fraction", 0.05)), int(info.train_config.get("seed", 0))
        )
        if not entries:
            raise CommandError(f"{data}: the run held out no pieces; pass --split all with a test set")
    model, _ = load_model(args.checkpoint, ema=not args.no_ema, device=args.device)
    config = dataclass_from_args(TokenizerEvalConfig, args)
    meta = {"checkpoint": str(info.path), "step": info.step, "data": str(data), "split": args.split}
    result = evaluate(model, entries, args.out, config, meta)
    print(summary_table(result))
    print(f"floats/s {result['floats_per_second']:.0f}; written to {args.out}")
    return 0
