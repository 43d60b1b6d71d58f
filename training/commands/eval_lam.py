"""Evaluate a latent action model: controllability (delta-PSNR of masked chunks decoded with inferred vs
random actions, in latent space and, with --tokenizer, on log-mel), codebook use, and on annotated latents
how actions line up with the ground-truth events and instrumentation. Writes EVAL_DIR/metrics.json,
EVAL_DIR/actions.json (a name and description per action, for the exported bundle) and contingency.png."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np
import torch

from engine.cli_args import add_dataclass_arguments, dataclass_from_args
from engine.errors import CommandError
from training.commands.threads import add_threads_argument, use_threads
from training.evaluation.lam import (
    alignment,
    chunk_labels,
    controllability,
    describe_actions,
    mel_controllability,
    plot_contingency,
)
from training.latents import LatentWindows
from training.loop.checkpoint import load_model, load_run
from training.models.lam import MaskConfig

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--checkpoint", type=Path, required=True, help="LAM run folder (or checkpoint folder)"
    )
    parser.add_argument(
        "--latents", type=Path, required=True, help="latent cache folder (musegenie tokenize)"
    )
    parser.add_argument(
        "--out", type=Path, required=True, help="folder for metrics.json, actions.json, contingency.png"
    )
    parser.add_argument(
        "--tokenizer", type=Path, default=None, help="tokenizer run: also measure delta-PSNR on log-mel"
    )
    parser.add_argument(
        "--seeds", type=int, default=5, help="mask/random-action draws for the delta-PSNR spread"
    )
    parser.add_argument(
        "--mel-windows", type=int, default=8, help="held-out windows decoded for the log-mel delta-PSNR"
    )
    parser.add_argument(
        "--decoder-steps", type=int, default=8, help="tokenizer sampling steps for the log-mel check"
    )
    parser.add_argument("--batch-size", type=int, default=64, help="windows per LAM forward pass")
    add_threads_argument(parser)
    add_dataclass_arguments(parser, MaskConfig, prefix="mask", title="masks of the delta-PSNR check")


def _stack(windows: LatentWindows, indices: range) -> dict[str, torch.Tensor]:
    return {
        key: torch.from_numpy(np.stack([windows[i][key] for i in indices]))
        for key in ("latents", "instruments", "events")
    }


def _batches(windows: LatentWindows, size: int) -> list[dict[str, torch.Tensor]]:
    return [_stack(windows, range(i, min(i + size, len(windows)))) for i in range(0, len(windows), size)]


@torch.no_grad()  # scoped: the CLI also runs inside test processes and other tools
def run(args: argparse.Namespace) -> int:
    use_threads(args)
    try:
        info = load_run(args.checkpoint)
        model, config = load_model(args.checkpoint)
    except FileNotFoundError as err:
        raise CommandError(str(err)) from err
    if info.kind != "lam":
        raise CommandError(f"{args.checkpoint} holds a {info.kind} model, not a LAM")
    extra = info.extra
    window = config.chunk_frames * int(extra.get("window_chunks", 8))
    seed, fraction = int(extra.get("split_seed", 0)), float(extra.get("val_fraction", 0.1))
    try:
        every = LatentWindows(args.latents, window, "val", seed, val_fraction=1.0)  # all pieces, no overlap
        held = LatentWindows(args.latents, window, "val", seed, val_fraction=fraction)
    except (FileNotFoundError, ValueError) as err:
        raise CommandError(str(err)) from err
    if every.latent_dim != config.latent_dim:
        raise CommandError(
            f"{args.latents}: latents have D={every.latent_dim}, the LAM expects {config.latent_dim}"
        )
    if extra.get("tokenizer_sha") not in (None, every.tokenizer_sha):
        log.warning("%s was encoded by another tokenizer than the LAM was trained on", args.latents)
    if len(held) == 0:
        log.warning("no held-out windows: controllability is measured on all pieces")
        held = every
    mask_config = dataclass_from_args(MaskConfig, args, "mask")
    held_batches = _batches(held, args.batch_size)
    draws = [controllability(model, held_batches, mask_config, seed=s) for s in range(args.seeds)]
    deltas = np.array([d["delta_psnr"] for d in draws])
    metrics: dict = {
        "checkpoint": str(info.path),
        "step": info.step,
        "latents": str(args.latents),
        "num_actions": config.num_actions,
        "chunk_frames": config.chunk_frames,
        "chunk_seconds": config.chunk_frames / every.frame_rate,
        "held_out_windows": len(held),
        "delta_psnr": float(deltas.mean()),
        "delta_psnr_std": float(deltas.std()),
        "delta_psnr_draws": deltas.tolist(),
        "psnr_inferred": float(np.mean([d["psnr_inferred"] for d in draws])),
        "psnr_random": float(np.mean([d["psnr_random"] for d in draws])),
    }
    all_batches = _batches(every, args.batch_size)
    ids = np.concatenate(
        [
            model.infer_actions(b["latents"], b["instruments"] if config.num_instruments else None)[1].numpy()
            for b in all_batches
        ]
    )  # (W, K)
    usage = np.bincount(ids.reshape(-1), minlength=config.num_actions) / ids.size
    metrics["usage"] = usage.tolist()
    metrics["perplexity"] = float(np.exp(-(usage[usage > 0] * np.log(usage[usage > 0])).sum()))
    metrics["codes_used"] = int((usage > 0).sum())
    cat = {
        key: torch.cat([b[key] for b in all_batches]).numpy() for key in ("latents", "instruments", "events")
    }
    annotated = every.num_events > 0
    labels = chunk_labels(ids, cat["latents"], cat["instruments"], cat["events"], config.chunk_frames)
    args.out.mkdir(parents=True, exist_ok=True)
    if annotated:
        metrics.update(alignment(labels, config.num_actions))
        plot_contingency(metrics["contingency"], args.out / "contingency.png")
    actions = describe_actions(labels, config.num_actions, annotated)
    if args.tokenizer is not None and args.mel_windows > 0:
        tokenizer, _ = load_model(args.tokenizer)
        batch = _stack(held, range(min(args.mel_windows, len(held))))
        instruments = batch["instruments"] if config.num_instruments else None
        metrics.update(
            mel_controllability(
                model, tokenizer, batch["latents"], instruments, mask_config, steps=args.decoder_steps, seed=0
            )
        )
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
    (args.out / "actions.json").write_text(json.dumps(actions, indent=1) + "\n")
    print(
        f"delta-PSNR {metrics['delta_psnr']:.2f} +/- {metrics['delta_psnr_std']:.2f} dB (latent), "
        f"perplexity {metrics['perplexity']:.2f} of {config.num_actions}"
        + (f", NMI(events) {metrics['nmi_event']:.3f}" if annotated else "")
        + (f", log-mel delta-PSNR {metrics['mel_delta_psnr']:.2f} dB" if "mel_delta_psnr" in metrics else "")
    )
    for a in actions:
        print(f"  {a['id']}: {a['name']:<20} {a['description']}")
    print(f"-> {args.out}")
    return 0
