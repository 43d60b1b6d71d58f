"""Train the diffusion audio tokenizer (DiTo-1D with DC-AE shortcuts) on a folder, corpus.jsonl or filter manifest.

Segments are drawn at random from the training pieces (a share of pieces is held out by file name for
samples and `musegenie eval tokenizer`); the segment length follows --curriculum. Checkpoints, EMA weights and
tensorboard events go to --out; --resume continues a stopped run exactly. Example (the shipped model, about
20-40 min on 2 CPU cores depending on load):

  musegenie train tokenizer --data corpus/ --preset small --out runs/tokenizer --max-minutes 40
"""

from __future__ import annotations

import argparse
import logging

import torch

from engine.cli_args import add_dataclass_arguments, dataclass_from_args
from training.diffusion import FlowConfig
from training.tasks.tokenizer import TokenizerTask, TokenizerTaskConfig
from training.trainer import add_train_arguments, train, train_config_from_args

log = logging.getLogger(__name__)

TRAIN_DEFAULTS = dict(
    max_steps=4000,
    batch_size=8,
    lr=1e-3,
    warmup_steps=200,
    checkpoint_every=250,
    sample_every=1000,
    ema_decay=0.998,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="folder of audio, corpus.jsonl or filter manifest")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads: 1 avoids thrashing on a shared CPU; raise it on a dedicated machine (0 = torch default)",
    )
    parser.add_argument(
        "--prediction",
        choices=("velocity", "sample"),
        default=None,
        help="decoder output, overriding the preset: velocity (v) or sample (x0, converted to v)",
    )
    add_dataclass_arguments(parser, TokenizerTaskConfig)
    add_dataclass_arguments(parser, FlowConfig)
    add_train_arguments(parser, **TRAIN_DEFAULTS)


def run(args: argparse.Namespace) -> int:
    if args.threads:
        torch.set_num_threads(args.threads)
    config = train_config_from_args(args)
    task = TokenizerTask(
        args.data,
        dataclass_from_args(TokenizerTaskConfig, args),
        dataclass_from_args(FlowConfig, args),
        seed=config.seed,
        **({"prediction": args.prediction} if args.prediction else {}),
    )
    extra = {"data": str(args.data), "task": vars(dataclass_from_args(TokenizerTaskConfig, args))}
    final = train(task, config, args.out, resume=args.resume, extra=extra)
    log.info("tokenizer checkpoint: %s", final)
    return 0
