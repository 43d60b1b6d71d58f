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
from pathlib import Path

import torch

from engine.cli import CommandError
from engine.cli_args import add_dataclass_arguments, dataclass_from_args
from training import rng
from training.commands.runs import run_of_kind
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
    for flag, text in (
        ("--spectrum", "encoder also reads a log-magnitude STFT (overrides the preset or --init-from run)"),
        ("--fine-gate", "x0 decoder also gates a finer MDCT, so gaps between harmonics stay quiet (same)"),
        ("--latent-mel", "latents start from a fixed log-mel envelope added before their norm (same)"),
    ):
        parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, help=text)
    parser.add_argument(
        "--emphasis",
        type=float,
        default=None,
        help="pre-emphasis coefficient a of the decoder's space, y[n] = x[n] - a x[n-1] (overrides the preset "
        "or --init-from run; lower a leaves less of the decoder's residual noise in the bass; 0 = off)",
    )
    parser.add_argument(
        "--compand-bins",
        type=int,
        default=None,
        help="MDCT bins per frame the decoder space's companding works on (overrides the preset or --init-from "
        "run; default the patch): finer bins keep a partial's gaps quiet when the decoder is a little wrong; "
        "must be even and divide the hop",
    )
    parser.add_argument(
        "--latent-mel-weight",
        type=float,
        default=None,
        help="weight of the log-mel shortcut against the encoder's learned features before the latents' norm "
        "(overrides the preset or --init-from run; with 1 the learned features, ~10x larger once trained, "
        "drown the envelope)",
    )
    parser.add_argument(
        "--compand-window",
        type=int,
        default=None,
        help="bins x frames the companding gain is smoothed over (overrides the preset or --init-from run; "
        "1 = each MDCT coefficient's own magnitude; 3 = its 3 x 3 neighbourhood, so a decoder that gets the "
        "level right but the detail wrong does less spectral damage); odd",
    )
    add_dataclass_arguments(parser, TokenizerTaskConfig)
    add_dataclass_arguments(parser, FlowConfig)
    add_train_arguments(parser, **TRAIN_DEFAULTS)


def run(args: argparse.Namespace) -> int:
    if args.threads:
        torch.set_num_threads(args.threads)
    config = train_config_from_args(args)
    if args.emphasis is not None and not 0.0 <= args.emphasis < 1.0:
        raise CommandError(f"--emphasis must be in [0, 1), got {args.emphasis}")
    # A warm start keeps the source run's architecture; the flags may add the zero-initialised parts.
    overrides = {}
    if config.init_from:
        source = run_of_kind(Path(config.init_from), "tokenizer", f"--init-from {config.init_from}")
        overrides = dict(source.model_config)
    for name in (
        "prediction",
        "spectrum",
        "fine_gate",
        "latent_mel",
        "latent_mel_weight",
        "emphasis",
        "compand_bins",
        "compand_window",
    ):
        if getattr(args, name) is not None:
            overrides[name] = getattr(args, name)
    rng.seed_everything(config.seed)  # the model's initial weights follow --seed
    try:
        task = TokenizerTask(
            args.data,
            dataclass_from_args(TokenizerTaskConfig, args),
            dataclass_from_args(FlowConfig, args),
            seed=config.seed,
            **overrides,
        )
    except ValueError as err:  # an impossible model config (e.g. --compand-bins that does not divide the hop)
        raise CommandError(f"tokenizer config: {err}") from err
    extra = {"data": str(args.data), "task": vars(dataclass_from_args(TokenizerTaskConfig, args))}
    final = train(task, config, args.out, resume=args.resume, extra=extra)
    log.info("tokenizer checkpoint: %s", final)
    return 0
