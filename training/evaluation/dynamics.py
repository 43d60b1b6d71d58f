"""Evaluation of the dynamics model: does inpainting follow the actions, and does it join its context?

On held-out windows (the latent cache's `val` split), a chunk-aligned region with context on both sides is
inpainted three ways: with the actions the frozen LAM infers from the true region ("inferred"), with
uniformly random actions on the region ("random"), and with no actions at all (every frame null, i.e.
guidance 0: "null"). For each we report the latent MSE over the region and, after decoding the whole
window through the tokenizer with one shared decoder noise, the log-mel distance of the region to the
decoded truth. The gap between inferred and random is the controllability a user will feel. The seam
measure compares the spectral flux across the region's edges in the edited audio with the mean flux
inside the decoded truth (natural audio). Examples: WAV + spectrograms for a few windows, rendered once per
action.

These are latent-level scores of torch checkpoints, sampled with a bundle's defaults (the settings' one
home; flags may override them). The edit as a user hears it, through the exported graphs and
`engine.pipeline`, is scored by `musegenie eval edit` (`training.evaluation.edit`).

Letters: B batch, T frames, D latent channels, N samples, F mel bands, M mel frames.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from tqdm import tqdm

from engine.audio import save_wav
from engine.bundle import Defaults
from engine.spectrogram import save_spectrograms
from training.inpainting import frame_actions, inpaint
from training.latents import LatentWindows
from training.metrics import log_mel

log = logging.getLogger(__name__)

CONDITIONS = ("inferred", "random", "null")
MEL_HOP = 256  # samples between mel frames (16 ms at 16 kHz), as in training.metrics


@dataclass
class EvalConfig:
    windows: int = 32  # held-out windows scored (0 = every one)
    repeats: int = 2  # regions per window (other places, other noise), to steady small held-out sets
    region_chunks: int = 3  # length of each inpainted region, in LAM chunks
    examples: int = 3  # windows rendered once per action (WAV + spectrograms)
    batch_size: int = 8  # windows per batch
    seed: int = 0  # region placement, random actions and sampler noise


def region_masks(count: int, frames: int, chunk_frames: int, region_chunks: int, seed: int) -> Tensor:
    """(count, T) chunk-aligned region masks with at least one chunk of context on each side."""
    chunks = frames // chunk_frames
    length = min(region_chunks, chunks - 2)
    if length < 1:
        raise ValueError(
            f"a window of {chunks} chunks leaves no room for a region with context on both sides"
        )
    starts = np.random.default_rng(seed).integers(1, chunks - length, size=count)  # first region chunk
    mask = torch.zeros(count, frames)
    for i, s in enumerate(starts):
        mask[i, s * chunk_frames : (s + length) * chunk_frames] = 1.0
    return mask  # (count, T)


def condition_actions(
    condition: str,
    inferred: Tensor,
    mask: Tensor,
    num_actions: int,
    chunk_frames: int,
    generator: torch.Generator,
) -> tuple[Tensor, float | None]:
    """Per-frame actions for one condition and the guidance it forces (None = the configured scale)."""
    if condition == "inferred":
        return inferred, None
    if condition == "null":
        return torch.full_like(inferred, num_actions), 0.0
    if condition == "random":
        b, t = inferred.shape
        chunks = torch.randint(
            0, num_actions, (b, math.ceil(t / chunk_frames)), generator=generator
        )  # (B, K)
        random = chunks.repeat_interleave(chunk_frames, dim=1)[:, :t].to(inferred)  # (B, T)
        return torch.where(mask > 0, random, inferred), None
    raise ValueError(f"unknown condition {condition!r}; choose from {CONDITIONS}")


def _batches(windows: LatentWindows, indices: list[int], batch_size: int) -> list[dict[str, Tensor]]:
    items = [windows[i] for i in indices]
    return [
        {key: torch.from_numpy(np.stack([it[key] for it in items[i : i + batch_size]])) for key in items[0]}
        for i in range(0, len(items), batch_size)
    ]


def inpaint_conditions(
    model: nn.Module,
    lam: nn.Module,
    latents: Tensor,
    instruments: Tensor,
    mask: Tensor,
    sampling: Defaults,
    seed: int,
) -> dict[str, Tensor]:
    """The region inpainted under every condition: {condition: (B, T, D)}; the same sampler noise for all."""
    instr = instruments if model.config.num_instruments else None
    inferred = frame_actions(lam, latents, instruments)  # (B, T)
    generator = torch.Generator().manual_seed(seed)
    out = {}
    for condition in CONDITIONS:
        actions, forced = condition_actions(
            condition, inferred, mask, model.config.num_actions, lam.config.chunk_frames, generator
        )
        guidance = sampling.guidance if forced is None else forced
        out[condition] = inpaint(
            model, latents, mask, actions, instr,
            steps=sampling.steps, guidance=guidance, method=sampling.sampler, seed=seed,
        )  # fmt: skip
    return out


def masked_mse(a: Tensor, b: Tensor, mask: Tensor) -> Tensor:
    """Per-window MSE over masked frames: (B,)."""
    error = (a - b).pow(2).mean(dim=-1)  # (B, T)
    return (error * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1)


@torch.no_grad()
def latent_scores(
    model: nn.Module,
    lam: nn.Module,
    windows: LatentWindows,
    sampling: Defaults,
    max_windows: int = 16,
) -> dict[str, float]:
    """Held-out region latent MSE per condition (cheap: no decoding), for training-time monitoring."""
    config = EvalConfig(windows=max_windows)
    count = min(len(windows), max_windows)
    totals = dict.fromkeys(CONDITIONS, 0.0)
    masks = region_masks(
        count, windows.window_frames, lam.config.chunk_frames, config.region_chunks, config.seed
    )
    done = 0
    for n, batch in enumerate(_batches(windows, list(range(count)), config.batch_size)):
        b = batch["latents"].shape[0]
        mask = masks[done : done + b]
        outs = inpaint_conditions(
            model, lam, batch["latents"], batch["instruments"], mask, sampling, config.seed + n
        )
        for condition, out in outs.items():
            totals[condition] += float(masked_mse(out, batch["latents"], mask).sum())
        done += b
    return {f"latent_mse_{c}": v / max(1, count) for c, v in totals.items()}


def _log_mels(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """(B, N) -> (B, F, M) natural-log mel magnitudes (`training.metrics.log_mel`: 80 bands, 16 ms hop)."""
    return np.stack([log_mel(clip, sample_rate, hop=MEL_HOP) for clip in audio])


def frame_flux(spec: np.ndarray) -> np.ndarray:
    """Spectral flux between consecutive mel frames: mean absolute log change over bands, (B, F, M) -> (B, M-1)."""
    return np.abs(np.diff(spec, axis=-1)).mean(axis=-2)


def edge_flux(flux: np.ndarray, edges: list[list[int]]) -> np.ndarray:
    """Mean flux of the two frame pairs around each edge sample, averaged per window: (B,)."""
    out = np.zeros(flux.shape[0])
    for i, window_edges in enumerate(edges):
        values = []
        for edge in window_edges:
            j = min(max(1, round(edge / MEL_HOP)), flux.shape[1])
            values.extend(flux[i, j - 1 : j + 1])
        out[i] = float(np.mean(values))
    return out


def _region_edges(mask: Tensor, hop: int) -> list[list[int]]:
    """Sample positions of every region boundary (start and end of each masked run) per window."""
    edges = []
    for row in mask:
        changes = torch.nonzero(torch.diff(row, prepend=row[:1] * 0, append=row[-1:] * 0)).flatten()
        edges.append([int(c) * hop for c in changes if 0 < int(c) < row.numel()])
    return edges


def _decode(tokenizer: nn.Module, latents: Tensor, sampling: Defaults, seed: int) -> np.ndarray:
    b, frames, _ = latents.shape
    noise = torch.randn(b, 1, frames * tokenizer.hop, generator=torch.Generator().manual_seed(seed))
    steps, method, shift = sampling.decoder_steps, sampling.decoder_sampler, sampling.decoder_shift
    return tokenizer.decode(latents, steps, method, noise=noise, shift=shift)[:, 0].numpy()  # (B, N)


@torch.no_grad()
def evaluate(
    model: nn.Module,
    lam: nn.Module,
    tokenizer: nn.Module,
    windows: LatentWindows,
    config: EvalConfig,
    sampling: Defaults,
    out_dir: Path,
) -> dict[str, Any]:
    """Score held-out windows, write `dynamics.json` and examples under `out_dir`, return the summary.

    `sampling`: the dynamics and decoder settings (a bundle's defaults, or flags overriding them).
    """
    sample_rate, hop = tokenizer.config.sample_rate, tokenizer.hop
    count = len(windows) if config.windows == 0 else min(config.windows, len(windows))
    if count == 0:
        raise ValueError(
            "no held-out windows to evaluate (the val split is empty or its pieces are too short)"
        )
    chunk = lam.config.chunk_frames
    indices = [i for _ in range(config.repeats) for i in range(count)]  # every window, `repeats` regions each
    masks = region_masks(len(indices), windows.window_frames, chunk, config.region_chunks, config.seed)
    scores: dict[str, list[float]] = {}

    def add(name: str, values: np.ndarray | Tensor) -> None:
        scores.setdefault(name, []).extend(np.asarray(values, dtype=np.float64).tolist())

    done = 0
    batches = _batches(windows, indices, config.batch_size)
    for n, batch in enumerate(tqdm(batches, desc="eval dynamics", unit="batch")):
        latents = batch["latents"]  # (B, T, D)
        mask = masks[done : done + latents.shape[0]]  # (B, T)
        outs = inpaint_conditions(model, lam, latents, batch["instruments"], mask, sampling, config.seed + n)
        truth_audio = _decode(tokenizer, latents, sampling, config.seed + n)  # (B, N)
        truth_mel = _log_mels(truth_audio, sample_rate)  # (B, F, M)
        truth_flux = frame_flux(truth_mel)  # (B, M-1)
        edges = _region_edges(mask, hop)
        region_frames = (
            mask.repeat_interleave(hop, dim=1)[:, ::MEL_HOP] > 0
        ).numpy()  # (B, M) mel frames in region
        add("natural_flux", truth_flux.mean(axis=1))
        add("truth_edge_flux", edge_flux(truth_flux, edges))
        for condition, out in outs.items():
            add(f"latent_mse_{condition}", masked_mse(out, latents, mask))
            audio = _decode(tokenizer, out, sampling, config.seed + n)  # (B, N)
            mel = _log_mels(audio, sample_rate)  # (B, F, M)
            m = min(mel.shape[-1], region_frames.shape[1])
            diff = np.abs(mel[..., :m] - truth_mel[..., :m]).mean(axis=1)  # (B, M)
            add(f"log_mel_{condition}", (diff * region_frames[:, :m]).sum(1) / region_frames[:, :m].sum(1))
            add(f"seam_flux_{condition}", edge_flux(frame_flux(mel), edges))
        done += latents.shape[0]

    summary: dict[str, Any] = {name: float(np.mean(values)) for name, values in scores.items()}
    if summary["natural_flux"] <= 0:
        raise ValueError("the tokenizer decodes the true latents to silence: is it trained? (--tokenizer)")
    for condition in CONDITIONS:
        summary[f"seam_ratio_{condition}"] = summary[f"seam_flux_{condition}"] / summary["natural_flux"]
    summary["controllability_log_mel"] = summary["log_mel_random"] - summary["log_mel_inferred"]
    summary["windows"] = count
    summary["regions"] = len(indices)
    summary["window_seconds"] = windows.window_frames * hop / sample_rate
    summary["region_seconds"] = (
        min(config.region_chunks, windows.window_frames // chunk - 2) * chunk * hop / sample_rate
    )
    summary["config"] = asdict(config)
    summary["sampling"] = asdict(sampling)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "dynamics.json").write_text(json.dumps(summary, indent=2) + "\n")
    render_examples(model, lam, tokenizer, windows, masks, config, sampling, out_dir / "examples")
    return summary


@torch.no_grad()
def render_examples(
    model: nn.Module,
    lam: nn.Module,
    tokenizer: nn.Module,
    windows: LatentWindows,
    masks: Tensor,
    config: EvalConfig,
    sampling: Defaults,
    out_dir: Path,
) -> list[Path]:
    """For the first few windows: the decoded truth, then the region re-rendered with every action and none."""
    sample_rate = tokenizer.config.sample_rate
    num_actions = model.config.num_actions
    written = []
    for i in range(min(config.examples, len(windows))):
        item = windows[i]
        latents = torch.from_numpy(item["latents"])[None]  # (1, T, D)
        instruments = torch.from_numpy(item["instruments"])[None]  # (1, T, I)
        instr = instruments if model.config.num_instruments else None
        mask = masks[i : i + 1]  # (1, T)
        inferred = frame_actions(lam, latents, instruments)  # (1, T)
        renders = {"truth": latents}
        for action in [*range(num_actions), num_actions]:
            actions = torch.where(mask > 0, torch.full_like(inferred, action), inferred)  # (1, T)
            name, guidance = (
                (f"action_{action}", sampling.guidance) if action < num_actions else ("null", 0.0)
            )
            renders[name] = inpaint(
                model, latents, mask, actions, instr,
                steps=sampling.steps, guidance=guidance, method=sampling.sampler, seed=config.seed,
            )  # fmt: skip
        stack = torch.cat(list(renders.values()))  # (A + 2, T, D)
        audio = _decode(tokenizer, stack, sampling, config.seed)  # (A + 2, N)
        folder = out_dir / f"{i:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        edges = _region_edges(mask, tokenizer.hop)[0]
        (folder / "region.json").write_text(
            json.dumps({"start_s": edges[0] / sample_rate, "end_s": edges[-1] / sample_rate})
        )
        for name, clip in zip(renders, audio, strict=True):
            written.append(save_wav(folder / f"{name}.wav", clip[None], sample_rate))
        region = f"region {edges[0] / sample_rate:.2f}-{edges[-1] / sample_rate:.2f} s"
        panels = [(name, clip, sample_rate) for name, clip in zip(renders, audio, strict=True)]
        written.append(save_spectrograms(folder / "spectrograms.png", panels, title=f"window {i}: {region}"))
    return written
