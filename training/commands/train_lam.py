"""Train the latent action model on a latent cache: a small vocabulary of actions (one per ~1 s chunk),
learnt without labels by reconstructing masked chunks from the context plus the actions. The defaults
(small preset, 0.4M parameters, 600 steps of 32 eight-second windows) train the shipped model on a 2-core
CPU in 5-13 minutes (13 measured on a heavily shared machine); held-out delta-PSNR has plateaued by then:
musegenie train lam --latents latents/ --out runs/lam --max-minutes 20"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from engine.cli import CommandError
from engine.cli_args import add_dataclass_arguments, dataclass_from_args
from training import rng
from training.latents import INDEX
from training.models.lam import MaskConfig
from training.tasks.lam import LAMTask, LAMTaskConfig
from training.trainer import add_train_arguments, train, train_config_from_args

log = logging.getLogger(__name__)

TRAIN_DEFAULTS = dict(
    max_steps=600,
    batch_size=32,
    lr=1e-3,
    warmup_steps=100,
    ema_decay=0.995,
    checkpoint_every=200,
    sample_every=300,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--latents", type=Path, required=True, help="latent cache folder written by musegenie tokenize"
    )
    add_dataclass_arguments(parser, LAMTaskConfig)
    add_dataclass_arguments(parser, MaskConfig, prefix="mask")
    add_train_arguments(parser, **TRAIN_DEFAULTS)


def run(args: argparse.Namespace) -> int:
    if not (args.latents / INDEX).is_file():
        raise CommandError(f"{args.latents}: no latent cache here (no {INDEX}); run musegenie tokenize first")
    config = train_config_from_args(args)
    task_config = dataclass_from_args(LAMTaskConfig, args)
    try:
        rng.seed_everything(config.seed)  # the model's initial weights follow --seed
        task = LAMTask(
            str(args.latents), task_config, dataclass_from_args(MaskConfig, args, "mask"), seed=config.seed
        )
    except ValueError as err:
        raise CommandError(str(err)) from err
    extra = {
        "latents": str(args.latents.resolve()),
        "tokenizer_sha": task.tokenizer_sha,
        "frame_rate": task.frame_rate,
        "window_chunks": task_config.window_chunks,
        "val_fraction": task_config.val_fraction,
        "split_seed": config.seed,
    }
    final = train(task, config, args.out, resume=args.resume, extra=extra)
    log.info(
        "LAM ready: %s (evaluate with: musegenie eval lam --checkpoint %s --latents %s --out EVAL_DIR)",
        final,
        args.out,
        args.latents,
    )
    return 0
