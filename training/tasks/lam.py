"""Training task for the latent action model: reconstruct masked chunks from the context plus the actions.

Each item is a window of whole chunks from the latent cache with a chunk mask drawn from (seed, epoch,
index): one contiguous segment or random chunks, never all and never none (`sample_chunk_mask`). The loss
is the mean squared error (of standardised latents) on the masked chunks' frames plus the VQ commitment and diversity penalties; the codebook
itself moves by EMA. Logged: masked MSE, penalties, codebook perplexity and usage, and every `sample_every`
steps the held-out delta-PSNR (inferred minus random actions) of the EMA model with its code histogram.

Letters: B batch, T frames, D latent channels, K chunks, I instruments.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from functools import partial
from typing import Any

import numpy as np
import torch
from torch import Tensor

from training.evaluation.lam import controllability
from training.latents import INDEX, LatentWindows, MaskedWindows, read_index
from training.models.lam import LAMConfig, LatentActionModel, MaskConfig, lam_config, sample_chunk_mask

log = logging.getLogger(__name__)


@dataclass
class LAMTaskConfig:
    preset: str = "small"  # model size: tiny, small or base
    actions: int = 8  # A: number of latent actions (codebook size)
    chunk_seconds: float = 1.0  # seconds per action; chunk_frames = round(chunk_seconds * frame_rate)
    window_chunks: int = 8  # chunks per training window (context the decoder can draw on)
    instruments: bool = False  # condition on per-chunk instrument multi-hot (needs an annotated cache)
    val_fraction: float = 0.1  # share of pieces held out for validation (eval uses the same split)


def chunk_frames_for(chunk_seconds: float, frame_rate: float) -> int:
    """k = round(chunk_seconds * frame_rate), at least 1."""
    return max(1, round(chunk_seconds * frame_rate))


def draw_chunk_mask(chunk_frames: int, config: MaskConfig, key: list[int], frames: int) -> np.ndarray:
    """`sample_chunk_mask` (K,) bool seeded by [seed, epoch, index] (a MaskedWindows draw)."""
    seed = int(np.random.SeedSequence(key).generate_state(1)[0])
    generator = torch.Generator().manual_seed(seed)
    return sample_chunk_mask(1, frames // chunk_frames, config, generator)[0].numpy()  # (K,)


def masked_mse(reconstruction: Tensor, latents: Tensor, mask: Tensor, chunk_frames: int) -> Tensor:
    """Mean squared error over the frames of masked chunks only: a scalar."""
    frame_mask = mask.repeat_interleave(chunk_frames, dim=1)[..., None].to(latents.dtype)  # (B, T, 1)
    err = (reconstruction - latents) ** 2 * frame_mask  # (B, T, D)
    return err.sum() / (frame_mask.sum() * latents.shape[-1]).clamp(min=1)


class LAMTask:
    """The trainer's Task for `kind = "lam"`."""

    kind = "lam"

    def __init__(
        self,
        latent_dir: str,
        task_config: LAMTaskConfig,
        mask_config: MaskConfig | None = None,
        seed: int = 0,
        **model_overrides: Any,
    ) -> None:
        self.task_config = task_config
        self.mask_config = mask_config or MaskConfig()
        if task_config.window_chunks < 2:
            raise ValueError(f"window_chunks must be at least 2, got {task_config.window_chunks}")
        records = read_index(latent_dir)
        if not records:
            raise ValueError(f"{latent_dir}: no latent cache here (no {INDEX}); run musegenie tokenize")
        k = chunk_frames_for(task_config.chunk_seconds, float(records[0]["frame_rate"]))
        window = k * task_config.window_chunks
        train = LatentWindows(latent_dir, window, "train", seed, task_config.val_fraction)
        if task_config.instruments and train.num_instruments == 0:
            raise ValueError(
                f"{latent_dir}: --instruments needs an annotated latent cache, and this one has none"
            )
        if len(train) == 0:
            raise ValueError(
                f"{latent_dir}: no training piece has {window} frames ({window / train.frame_rate:.1f} s); "
                "use fewer task.window_chunks or a shorter task.chunk_seconds (--set)"
            )
        self.frame_rate = train.frame_rate
        self.tokenizer_sha = train.tokenizer_sha
        self.config: LAMConfig = lam_config(
            task_config.preset,
            latent_dim=train.latent_dim,
            chunk_frames=k,
            num_actions=task_config.actions,
            num_instruments=train.num_instruments if task_config.instruments else 0,
            **model_overrides,
        )
        self.dataset = MaskedWindows(train, partial(draw_chunk_mask, k, self.mask_config), seed)
        self.val = LatentWindows(latent_dir, window, "val", seed, task_config.val_fraction)
        self.model = LatentActionModel(self.config)
        stacked = np.concatenate([e["latents"] for e in train.entries])  # (frames, D)
        self.model.set_latent_stats(torch.from_numpy(stacked.mean(0)), torch.from_numpy(stacked.std(0)))
        self.seed = seed
        log.info(
            "LAM: %d train / %d val windows of %d frames (%d chunks of %d frames = %.2f s), A=%d, I=%d",
            len(train),
            len(self.val),
            window,
            task_config.window_chunks,
            k,
            k / self.frame_rate,
            self.config.num_actions,
            self.config.num_instruments,
        )

    def model_config(self) -> dict[str, Any]:
        return asdict(self.config)

    def _instruments(self, batch: dict) -> Tensor | None:
        return batch["instruments"] if self.config.num_instruments > 0 else None

    def loss(self, model: LatentActionModel, batch: dict, step: int) -> tuple[Tensor, dict[str, Any]]:
        latents, mask = batch["latents"], batch["mask"]  # (B, T, D), (B, K)
        out = model(latents, mask, self._instruments(batch))
        mse = masked_mse(
            model.normalize(out.reconstruction), model.normalize(latents), mask, self.config.chunk_frames
        )
        loss = mse + out.actions.penalty
        metrics = {
            "mse": mse.detach(),
            "commitment": out.actions.commitment.detach(),
            "entropy_penalty": out.actions.entropy.detach(),
            "perplexity": out.actions.perplexity,
            "code_usage": out.actions.usage,
        }
        return loss, metrics

    def log_samples(self, ema_model: LatentActionModel, writer: Any, step: int) -> None:
        """Held-out controllability (delta-PSNR) and the code histogram of the EMA model."""
        if writer is None or len(self.val) == 0:
            return
        device = next(ema_model.parameters()).device
        n = min(len(self.val), 64)
        batch = {
            key: torch.from_numpy(np.stack([self.val[i][key] for i in range(n)])).to(device)
            for key in ("latents", "instruments")
        }
        result = controllability(ema_model, [batch], self.mask_config, seed=self.seed)
        for name in ("psnr_inferred", "psnr_random", "delta_psnr", "perplexity"):
            writer.add_scalar(f"val/{name}", result[name], step)
        counts = np.bincount(result["codes"], minlength=self.config.num_actions)
        writer.add_histogram(
            "val/codes",
            np.repeat(np.arange(len(counts)), counts),
            step,
            bins=np.arange(len(counts) + 1) - 0.5,
        )
        log.info(
            "step %d: val delta-PSNR %.2f dB (inferred %.2f, random %.2f), perplexity %.2f",
            step,
            result["delta_psnr"],
            result["psnr_inferred"],
            result["psnr_random"],
            result["perplexity"],
        )
