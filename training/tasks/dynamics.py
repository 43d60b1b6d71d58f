"""Training task for the dynamics model: inpaint masked latent frames given context and LAM actions.

As in Genie, the actions come from the frozen latent action model run on each training window (one id per
chunk of k frames, repeated over the chunk's frames), so the dynamics model learns what each action means
in the LAM's own vocabulary. Masks are drawn per item from (seed, epoch, index): one contiguous region of
varied length and position (a share of them touching the window's start or end, where real edits near a
file's edges land), or random chunks. The flow-matching loss counts masked frames only. For
classifier-free guidance a share of windows has every action replaced by the null id A; when the LAM
used instruments, those windows and a further share get all-zero instruments, which is what the engine
passes when it does not know them.

Letters: B batch, T frames, D latent channels, I instruments.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from engine.bundle import Defaults
from engine.errors import CommandError
from training.diffusion import FlowConfig, add_noise, sample_time
from training.evaluation.dynamics import latent_scores
from training.inpainting import frame_actions
from training.latents import LatentWindows, MaskedWindows, read_index
from training.loop.checkpoint import load_model
from training.models.dynamics import DynamicsConfig, DynamicsModel, preset

log = logging.getLogger(__name__)


@dataclass
class MaskConfig:
    region_prob: float = 0.75  # share of windows masked with one contiguous region (the rest: random chunks)
    edge_prob: float = 0.3  # share of regions placed against the window's start or end
    region_min: float = 0.1  # shortest region, as a fraction of the window
    region_max: float = 0.7  # longest region, as a fraction of the window
    chunk_min: float = 0.2  # lowest per-chunk masking rate of random-chunk masks
    chunk_max: float = 0.7  # highest per-chunk masking rate of random-chunk masks
    change_prob: float = 0.0  # share of windows where who plays changes whose region starts or ends there


def sample_mask(
    frames: int,
    chunk_frames: int,
    config: MaskConfig,
    rng: np.random.Generator,
    changes: np.ndarray | None = None,
) -> np.ndarray:
    """A (T,) float32 mask, 1 = generate: never all frames, never none (so there is context and a loss).

    `changes` are the frames (in 1..T-1) where who plays differs from the frame before; with probability
    `config.change_prob` the region runs from one of them to the window's end or from its start up to it,
    so the region's players differ from the context's (what an edit asking to add or remove one needs).
    """
    if frames < 2:
        raise ValueError(f"a window needs at least 2 frames to hide one and show one, got {frames}")
    chunks = math.ceil(frames / chunk_frames)
    mask = np.zeros(frames, np.float32)
    # Checked before drawing, so the default (0) leaves every mask exactly as without the option.
    if config.change_prob > 0 and changes is not None and len(changes) and rng.random() < config.change_prob:
        t = int(rng.choice(changes))
        if rng.random() < 0.5:
            mask[t:] = 1.0
        else:
            mask[:t] = 1.0
        return mask
    if rng.random() < config.region_prob or chunks < 2:
        lo = max(1, round(config.region_min * frames))
        hi = min(frames - 1, max(lo, round(config.region_max * frames)))
        length = int(rng.integers(lo, hi + 1))
        if rng.random() < config.edge_prob:
            start = 0 if rng.random() < 0.5 else frames - length
        else:
            start = int(rng.integers(0, frames - length + 1))
        mask[start : start + length] = 1.0
        return mask
    rate = rng.uniform(config.chunk_min, config.chunk_max)
    chosen = rng.random(chunks) < rate  # (K,)
    if chosen.all():
        chosen[rng.integers(chunks)] = False
    if not chosen.any():
        chosen[rng.integers(chunks)] = True
    mask[:] = np.repeat(chosen, chunk_frames)[:frames]
    if mask.all():  # the last chunk is partial and was the only one left visible
        mask[0] = 0.0
    return mask


def draw_mask(
    chunk_frames: int, config: MaskConfig, key: list[int], frames: int, changes: np.ndarray | None = None
) -> np.ndarray:
    """`sample_mask` seeded by [seed, epoch, index] (a MaskedWindows draw)."""
    return sample_mask(frames, chunk_frames, config, np.random.default_rng(key), changes)  # (T,)


def player_changes(instruments: np.ndarray) -> np.ndarray:
    """Frames t in 1..T-1 where the (T, I) instrument multi-hot differs from frame t-1."""
    if instruments.shape[1] == 0 or len(instruments) < 2:
        return np.zeros(0, np.int64)
    return np.flatnonzero(np.any(instruments[1:] != instruments[:-1], axis=1)) + 1


class PlayerMaskedWindows(MaskedWindows):
    """MaskedWindows whose mask draw also sees where who plays changes in the window (`player_changes`)."""

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        item = dict(self.windows[index])
        changes = player_changes(item["instruments"])
        item["mask"] = self.draw([self.seed, self.epoch, index], item["latents"].shape[0], changes)
        return item


@dataclass
class DynamicsTaskConfig:
    preset: str = "small"  # model size: tiny, small, base or large
    window_seconds: float = 8.0  # training window length (rounded up to whole LAM chunks)
    action_dropout: float = 0.1  # share of windows trained with the null action (classifier-free guidance)
    instrument_dropout: float = (
        0.3  # share of windows trained with unknown (all-zero) instruments, as the engine sends
    )
    val_fraction: float = 0.1  # share of pieces held out for evaluation (must match eval's split)
    time_mean: float = 0.0  # logit-normal location of training levels t
    time_std: float = 1.0  # logit-normal spread of training levels t


def window_frames(seconds: float, frame_rate: float, chunk_frames: int) -> int:
    """Frames in a window of about `seconds`, rounded up to a whole number (at least 2) of LAM chunks."""
    chunks = max(2, math.ceil(seconds * frame_rate / chunk_frames))
    return chunks * chunk_frames


def load_lam(lam_run: Path, device: str | torch.device = "cpu") -> nn.Module:
    """The frozen LAM (EMA weights, eval mode, no gradients)."""
    try:
        lam, _ = load_model(Path(lam_run), ema=True, device=device)
    except FileNotFoundError as err:
        raise CommandError(f"{lam_run}: no LAM checkpoint here ({err})") from err
    lam.eval().requires_grad_(False)
    return lam


class DynamicsTask:
    """The `training.loop.trainer.Task` for the dynamics model."""

    kind = "dynamics"

    def __init__(
        self,
        latent_dir: Path,
        lam_run: Path,
        config: DynamicsTaskConfig,
        mask_config: MaskConfig,
        seed: int = 0,
        **model_overrides: Any,
    ) -> None:
        self.config = config
        self.lam = load_lam(lam_run)
        lam_config = self.lam.config
        self.chunk_frames = lam_config.chunk_frames
        records = read_index(latent_dir)
        if not records:
            raise CommandError(f"{latent_dir}: no latent cache here (no index.jsonl); run musegenie tokenize")
        self.frame_rate = float(records[0]["frame_rate"])
        self.window_frames = window_frames(config.window_seconds, self.frame_rate, self.chunk_frames)
        windows = LatentWindows(latent_dir, self.window_frames, "train", seed, config.val_fraction)
        if len(windows) == 0:
            raise CommandError(
                f"{latent_dir}: no training piece is {self.window_frames} frames long; lower task.window_seconds (--set)"
            )
        if windows.latent_dim != lam_config.latent_dim:
            raise CommandError(
                f"{latent_dir}: latents have {windows.latent_dim} channels, the LAM expects {lam_config.latent_dim}"
            )
        self.num_instruments = lam_config.num_instruments
        if self.num_instruments and windows.num_instruments != self.num_instruments:
            raise CommandError(
                f"the LAM uses {self.num_instruments} instruments, {latent_dir} has {windows.num_instruments}"
            )
        self.dataset = PlayerMaskedWindows(windows, partial(draw_mask, self.chunk_frames, mask_config), seed)
        self.model_cfg: DynamicsConfig = preset(
            config.preset,
            latent_dim=lam_config.latent_dim,
            num_actions=lam_config.num_actions,
            num_instruments=self.num_instruments,
            **model_overrides,
        )
        if self.chunk_frames % self.model_cfg.patch:
            raise CommandError(
                f"model.patch {self.model_cfg.patch} must divide the LAM's chunks of {self.chunk_frames} frames "
                "(the engine edits whole chunks); choose a divisor with --set model.patch=P"
            )
        self.model = DynamicsModel(self.model_cfg)
        self.flow = FlowConfig(time_mean=config.time_mean, time_std=config.time_std, noise_sync_prob=0.0)
        self.val = LatentWindows(latent_dir, self.window_frames, "val", seed, config.val_fraction)
        log.info(
            "dynamics: %d train windows of %d frames (%.1f s), %d val windows, A=%d, I=%d",
            len(windows),
            self.window_frames,
            self.window_frames / self.frame_rate,
            len(self.val),
            lam_config.num_actions,
            self.num_instruments,
        )

    def model_config(self) -> dict[str, Any]:
        return asdict(self.model_cfg)

    def loss(self, model: nn.Module, batch: dict, step: int) -> tuple[Tensor, dict[str, float]]:
        latents, mask = batch["latents"], batch["mask"]  # (B, T, D), (B, T)
        instruments = batch["instruments"] if self.num_instruments else None  # (B, T, I) | None
        b = latents.shape[0]
        self.lam.to(latents.device)
        with torch.no_grad():
            actions = frame_actions(self.lam, latents, instruments)  # (B, T)
        drop = (torch.rand(b) < self.config.action_dropout).to(latents.device)  # (B,)
        actions = torch.where(drop[:, None], torch.full_like(actions, self.model_cfg.num_actions), actions)
        if instruments is not None:
            unknown = drop | (torch.rand(b) < self.config.instrument_dropout).to(latents.device)  # (B,)
            instruments = instruments * (~unknown)[:, None, None].to(instruments.dtype)  # (B, T, I)
        t = sample_time(b, self.flow).to(latents.device)  # (B,)
        noise = torch.randn(latents.shape).to(latents)  # (B, T, D)
        velocity = model(add_noise(latents, noise, t), t, latents, mask, actions, instruments)  # (B, T, D)
        error = (velocity.float() - (noise - latents).float()).pow(2).mean(dim=-1)  # (B, T)
        loss = (error * mask).sum() / mask.sum().clamp(min=1)
        return loss, {"masked_fraction": float(mask.mean())}

    def log_samples(self, ema_model: nn.Module, writer: Any, step: int) -> None:
        """Held-out latent MSE of a region inpainted with inferred, random and null actions, sampled with the
        settings a bundle exported from this run would carry."""
        if len(self.val) == 0:
            return
        scores = latent_scores(ema_model, self.lam, self.val, Defaults(), max_windows=16)
        for name, value in scores.items():
            writer.add_scalar(f"val/{name}", value, step)
        log.info(
            "step %d held-out latent MSE: %s", step, ", ".join(f"{k} {v:.4f}" for k, v in scores.items())
        )
