"""Evaluate the dynamics model: held-out regions inpainted with inferred, random and no actions.

Reports latent MSE and log-mel distance to the truth for each (the inferred-vs-random gap is the
controllability), the spectral flux across region edges relative to natural audio, and writes WAV
examples rendered with every action. Results go to OUT/dynamics.json.

Sampling settings come from a bundle's defaults (--bundle; without one, those `musegenie export` writes);
any sampling flag given overrides its default. These are latent-level scores of torch checkpoints: the
edit as heard through the engine is `musegenie eval edit`.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
from pathlib import Path

from engine.bundle import BundleError, Defaults, load_bundle
from engine.cli_args import add_dataclass_arguments, dataclass_from_args
from engine.errors import CommandError
from training.commands.threads import add_threads_argument, use_threads
from training.evaluation.dynamics import CONDITIONS, EvalConfig, evaluate
from training.latents import LatentWindows
from training.loop.checkpoint import load_model, load_run
from training.tasks.dynamics import load_lam

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--checkpoint", type=Path, required=True, help="dynamics run folder (or one checkpoint folder)"
    )
    parser.add_argument(
        "--tokenizer", type=Path, required=True, help="tokenizer run folder that wrote the latents"
    )
    parser.add_argument(
        "--latents", type=Path, default=None, help="latent cache (default: the one the run trained on)"
    )
    parser.add_argument(
        "--lam", type=Path, default=None, help="LAM run folder (default: the one the run trained with)"
    )
    parser.add_argument("--out", type=Path, required=True, help="folder for dynamics.json and the examples")
    add_threads_argument(parser)
    add_dataclass_arguments(parser, EvalConfig)
    group = parser.add_argument_group("sampling (unset: the --bundle's defaults, else those export writes)")
    group.add_argument("--bundle", type=Path, help="exported bundle whose manifest defaults to sample with")
    group.add_argument("--steps", type=int, help="dynamics sampler intervals")
    group.add_argument("--guidance", type=float, help="classifier-free guidance scale of the action runs")
    group.add_argument("--sampler", help="dynamics sampler: euler or heun")
    group.add_argument("--decoder-steps", type=int, help="tokenizer decoder sampler intervals")
    group.add_argument("--decoder-sampler", help="tokenizer decoder sampler: euler or heun")
    group.add_argument("--decoder-shift", type=float, help="time shift of the decoder's levels")


SAMPLING = ("steps", "guidance", "sampler", "decoder_steps", "decoder_sampler", "decoder_shift")


def sampling_settings(args: argparse.Namespace) -> Defaults:
    """The bundle's defaults (or export's), with every sampling flag that was given in their place."""
    if args.bundle is None:
        base = Defaults()
    else:
        try:
            base = load_bundle(args.bundle, verify=False).defaults
        except BundleError as err:
            raise CommandError(str(err)) from err
    given = {name: getattr(args, name) for name in SAMPLING if getattr(args, name) is not None}
    try:
        return dataclasses.replace(base, **given).check()
    except ValueError as err:
        raise CommandError(str(err)) from err


def _load(kind: str, path: Path) -> tuple:
    try:
        info = load_run(path)
    except FileNotFoundError as err:
        raise CommandError(f"{path}: no checkpoint here ({err})") from err
    if info.kind != kind:
        raise CommandError(f"{path} holds a {info.kind} model, not a {kind}")
    return info, load_model(path, ema=True)[0].eval()


def run(args: argparse.Namespace) -> int:
    sampling = sampling_settings(args)
    use_threads(args)
    info, model = _load("dynamics", args.checkpoint)
    _, tokenizer = _load("tokenizer", args.tokenizer)
    extra = info.extra
    latents = args.latents or Path(extra["latents"])
    lam = load_lam(args.lam or Path(extra["lam"]))
    if tokenizer.latent_dim != model.config.latent_dim:
        raise CommandError(
            f"tokenizer latents have {tokenizer.latent_dim} channels, the dynamics model {model.config.latent_dim}"
        )
    windows = LatentWindows(
        latents, extra["window_frames"], "val", extra["split_seed"], extra["val_fraction"]
    )
    try:
        config = dataclass_from_args(EvalConfig, args)
        summary = evaluate(model, lam, tokenizer, windows, config, sampling, args.out)
    except ValueError as err:
        raise CommandError(str(err)) from err
    print(
        f"{summary['windows']} held-out windows of {summary['window_seconds']:.2f} s, regions of {summary['region_seconds']:.2f} s"
    )
    print(f"{'actions':<10} {'latent MSE':>11} {'log-mel L1':>11} {'seam/natural':>13}")
    for c in CONDITIONS:
        print(
            f"{c:<10} {summary[f'latent_mse_{c}']:>11.4f} {summary[f'log_mel_{c}']:>11.3f} {summary[f'seam_ratio_{c}']:>13.3f}"
        )
    print(
        f"natural flux {summary['natural_flux']:.3f} per frame (log-mel L1); truth at the same edges {summary['truth_edge_flux']:.3f}"
    )
    print(
        f"controllability (log-mel random - inferred): {summary['controllability_log_mel']:+.3f} -> {args.out / 'dynamics.json'}"
    )
    return 0
