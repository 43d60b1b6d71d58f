"""Training task for the diffusion audio tokenizer: random segments, a length curriculum, the flow loss.

Each item is a random max-length segment of one piece (`AudioSegments`, deterministic in (seed, epoch,
index)); the loss crops it to the curriculum's length at the current step (DiTo-style 1 s -> 2 s -> 5 s:
short segments first are cheap, longer ones later teach long-range structure), encodes the clean audio,
optionally noises the latents (DiTo noise synchronisation) and regresses the decoder's velocity. The
diffusion loss is the only loss. Held-out pieces (by file) give the tensorboard audio samples.

Letters: B batch, N samples, T latent frames, D latent channels.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from training.data.audio_segments import AudioSegments, Curriculum, random_crop, readable_entries
from training.data.manifest import read_entries, split_entries
from training.diffusion import FlowConfig, flow_loss, sample_time, synchronise_noise
from training.metrics import log_mel_distance
from training.models.tokenizer import Tokenizer, build

log = logging.getLogger(__name__)


@dataclass
class TokenizerTaskConfig:
    preset: str = "small"  # model size: tiny, small, low or high
    curriculum: str = "0:1,2000:2,3200:5"  # segment seconds from each step on, "STEP:SECONDS,..."
    val_fraction: float = 0.05  # share of pieces held out (tensorboard samples; eval uses the same split)
    sample_clips: int = 2  # held-out clips reconstructed for tensorboard at each sample step
    sample_seconds: float = 4.0  # length of those clips
    sample_steps: int = 16  # decoder sampling steps for those clips


class TokenizerTask:
    """The `training.loop.trainer.Task` for the tokenizer."""

    kind = "tokenizer"

    def __init__(
        self,
        data: str | Path,
        config: TokenizerTaskConfig,
        flow: FlowConfig | None = None,
        seed: int = 0,
        **model_overrides: Any,
    ) -> None:
        self.config = config
        self.flow = flow or FlowConfig()
        self.model: Tokenizer = build(config.preset, **model_overrides)
        self.curriculum = Curriculum.parse(config.curriculum)
        sample_rate = self.model.config.sample_rate
        entries = readable_entries(read_entries(data))  # before splitting: see readable_entries
        train_entries, held_out = split_entries(entries, config.val_fraction, seed)
        # Items are the longest curriculum length; `loss` crops them to the current one (hop multiples).
        self.dataset = AudioSegments(train_entries, self.curriculum.max_seconds, sample_rate, seed)
        log.info(
            "tokenizer data: %d training entries, %d held-out pieces, %d items/epoch of %.1f s",
            len(train_entries),
            len({e.path for e in held_out}),
            len(self.dataset),
            self.curriculum.max_seconds,
        )
        self.sample_audio = self._sample_clips(held_out or train_entries, seed)

    def _sample_clips(self, entries: list, seed: int) -> Tensor:
        """Fixed clips (K, 1, N) for tensorboard: the first items of a held-out segment set."""
        clips = AudioSegments(entries, self.config.sample_seconds, self.model.config.sample_rate, seed + 1)
        n = min(self.config.sample_clips, len(clips))
        return torch.stack([clips[i]["audio"] for i in range(n)]) if n else torch.zeros(0, 1, clips.length)

    def model_config(self) -> dict[str, Any]:
        return asdict(self.model.config)

    def loss(self, model: torch.nn.Module, batch: dict, step: int) -> tuple[Tensor, dict[str, float]]:
        tokenizer = model.module if hasattr(model, "module") else model
        cfg = tokenizer.config
        length = self.curriculum.samples(step, cfg.sample_rate, tokenizer.hop)
        audio = random_crop(batch["audio"], length)  # (B, 1, N)
        x0 = tokenizer.to_diffusion(audio)  # (B, 1, N)
        latents = tokenizer.encode(audio, x0)  # (B, T, D)
        t = sample_time(audio.shape[0], self.flow).to(audio.device)  # (B,)
        if self.flow.noise_sync_prob > 0:
            latents, t = synchronise_noise(latents, t, self.flow.noise_sync_prob)
        loss = flow_loss(
            lambda x, level: tokenizer.velocity(x, level, latents),
            x0,
            t,
            torch.randn_like(x0),
            self.flow.loss_t_floor,
        )
        return loss, {"seconds": length / cfg.sample_rate}

    def log_samples(self, ema_model: torch.nn.Module, writer: Any, step: int) -> None:
        """Reconstruct the held-out clips with the EMA model; log audio and their log-mel distance."""
        if writer is None or len(self.sample_audio) == 0:
            return
        device = next(ema_model.parameters()).device
        rate = self.model.config.sample_rate
        audio = self.sample_audio.to(device)
        recon = ema_model.reconstruct(audio, steps=self.config.sample_steps)  # (K, 1, N)
        distances = []
        for i, (a, r) in enumerate(zip(audio.cpu().numpy(), recon.float().cpu().numpy(), strict=True)):
            writer.add_audio(f"samples/{i}/original", np.clip(a, -1, 1), step, sample_rate=rate)
            writer.add_audio(f"samples/{i}/reconstruction", np.clip(r, -1, 1), step, sample_rate=rate)
            distances.append(log_mel_distance(a, r, rate))
        writer.add_scalar("samples/log_mel_l1", float(np.mean(distances)), step)
