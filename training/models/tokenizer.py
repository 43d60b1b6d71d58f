"""Diffusion audio tokenizer: DiTo for 1-D audio with DC-AE shortcuts.

Papers: DiTo, diffusion tokenizers (https://arxiv.org/abs/2501.18593); DC-AE, deep compression
autoencoders (https://arxiv.org/abs/2410.10733); DiT / AdaLN-Zero (https://arxiv.org/abs/2212.09748).

Shape letters: B batch, N audio samples (16 kHz mono), T latent frames (N // hop), D latent channels,
C channels at a scale, L positions at a scale, E conditioning width.

- Encoder: space-to-channel patchify of the (scaled) waveform, residual stages, each downsample carrying the
  DC-AE averaging shortcut, and a final downsample to D channels (also with the shortcut); the latents are
  layer-normalised without affine parameters (DiTo), so they live on a fixed scale.
- Decoder: a flow-matching denoiser of the patchified waveform. The latents go through a small
  conditioning pyramid (DC-AE upsampling to every scale); at each scale the features are added to the
  hidden state and, with the timestep embedding, drive every AdaLN-Zero block. The U-Net keeps *one* skip
  per scale (the last down-path block before each downsample) and feeds it to every up-path block of that
  scale. Upsampling is channel-to-space with the duplicating shortcut. The output conv reads the
  un-normalised residual stream, so the predicted velocity can follow the local loudness (near silence
  the velocity is the noise itself, which per-position normalisation would hide).

The model knows nothing of its loss; `training/diffusion.py` holds the path, loss and time sampling, and
`engine/sampling.py` the one sampler. Velocities live in *scaled* audio space: x0 = audio * audio_scale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from engine.sampling import sample
from training.models.blocks import (
    AdaLNBlock,
    Downsample,
    ResBlock,
    TimestepEmbedding,
    Upsample,
    channel_to_space,
    space_to_channel,
)


def pad_to_multiple(audio: torch.Tensor, multiple: int) -> torch.Tensor:
    """Zero-pad (B, 1, N) on the right so N is a multiple of `multiple` (trim the decode back to N)."""
    pad = (-audio.shape[-1]) % multiple
    return F.pad(audio, (0, pad)) if pad else audio


@dataclass
class TokenizerConfig:
    sample_rate: int = 16_000  # audio rate the model works at (mono)
    patch: int = 32  # samples per position after the first space-to-channel (large = cheap decoder)
    factors: tuple[int, ...] = (4, 4, 4)  # downsampling after each stage; hop = patch * prod(factors)
    widths: tuple[int, ...] = (64, 128, 256)  # channels of each stage (one per factor)
    depths: tuple[int, ...] = (1, 1, 1)  # residual blocks per stage, encoder and decoder alike
    latent_dim: int = 64  # D, channels per latent frame
    cond_dim: int = 64  # E, width of the timestep + latent conditioning
    kernel: int = 5  # conv kernel of the residual blocks
    expansion: int = 1  # hidden channels = width * expansion inside a block
    audio_scale: float = 4.0  # waveform multiplier before diffusion (music at RMS ~0.1 -> ~0.4 vs unit noise)
    prediction: str = (
        "velocity"  # decoder output: "velocity" (v) or "sample" (x0; v = (x_t - x0) / max(t, min_t))
    )
    min_t: float = 0.05  # with prediction="sample", the level below which the division is clamped

    def __post_init__(self) -> None:
        self.factors, self.widths, self.depths = tuple(self.factors), tuple(self.widths), tuple(self.depths)
        if not len(self.factors) == len(self.widths) == len(self.depths):
            raise ValueError("factors, widths and depths need one entry per stage")
        if self.prediction not in ("velocity", "sample"):
            raise ValueError(f"prediction must be 'velocity' or 'sample', got {self.prediction!r}")

    @property
    def hop(self) -> int:
        return self.patch * math.prod(self.factors)


class Encoder(nn.Module):
    """Scaled waveform (B, 1, N) -> normalised latents (B, D, T)."""

    def __init__(self, cfg: TokenizerConfig) -> None:
        super().__init__()
        self.patch = cfg.patch
        self.latent_dim = cfg.latent_dim
        self.stem = nn.Conv1d(cfg.patch, cfg.widths[0], cfg.kernel, padding=cfg.kernel // 2)
        self.stages = nn.ModuleList(
            nn.Sequential(*[ResBlock(w, cfg.kernel, cfg.expansion) for _ in range(d)])
            for w, d in zip(cfg.widths, cfg.depths, strict=True)
        )
        outs = (*cfg.widths[1:], cfg.latent_dim)
        self.downs = nn.ModuleList(
            Downsample(w, o, f) for w, o, f in zip(cfg.widths, outs, cfg.factors, strict=True)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stem(space_to_channel(x, self.patch))  # (B, C0, N/patch)
        for stage, down in zip(self.stages, self.downs, strict=True):
            h = down(stage(h))  # (B, C_next, L/f)
        return F.layer_norm(h.transpose(1, 2), (self.latent_dim,)).transpose(1, 2)  # (B, D, T)


class Decoder(nn.Module):
    """Velocity of the scaled waveform given noisy audio (B, 1, N), level t (B,) and latents (B, D, T)."""

    def __init__(self, cfg: TokenizerConfig) -> None:
        super().__init__()
        self.patch = cfg.patch
        widths, e, k, x = cfg.widths, cfg.cond_dim, cfg.kernel, cfg.expansion
        scales = len(widths)
        self.time = TimestepEmbedding(e)
        # Conditioning pyramid: latents at frame rate, then DC-AE upsampling to each scale (phase-aware).
        self.latent_in = nn.Conv1d(cfg.latent_dim, e, 3, padding=1)
        self.latent_block = ResBlock(e, 3)
        self.cond_ups = nn.ModuleList(Upsample(e, e, f) for f in cfg.factors)
        # U-Net: scales 0..S-1 at the stage widths, the middle at latent rate with the last width.
        self.stem = nn.Conv1d(cfg.patch, widths[0], k, padding=k // 2)
        self.down_add = nn.ModuleList(nn.Conv1d(e, w, 1) for w in widths)
        self.down_blocks = nn.ModuleList(
            nn.ModuleList(AdaLNBlock(w, e, k, x) for _ in range(d))
            for w, d in zip(widths, cfg.depths, strict=True)
        )
        outs = (*widths[1:], widths[-1])
        self.downs = nn.ModuleList(
            Downsample(w, o, f) for w, o, f in zip(widths, outs, cfg.factors, strict=True)
        )
        self.mid_add = nn.Conv1d(e, widths[-1], 1)
        self.mid_blocks = nn.ModuleList(AdaLNBlock(widths[-1], e, k, x) for _ in range(cfg.depths[-1]))
        self.ups = nn.ModuleList(Upsample(o, w, f) for w, o, f in zip(widths, outs, cfg.factors, strict=True))
        self.up_add = nn.ModuleList(nn.Conv1d(e, w, 1) for w in widths)
        self.skip_projs = nn.ModuleList(
            nn.ModuleList(nn.Conv1d(w, w, 1) for _ in range(d))
            for w, d in zip(widths, cfg.depths, strict=True)
        )
        self.up_blocks = nn.ModuleList(
            nn.ModuleList(AdaLNBlock(w, e, k, x) for _ in range(d))
            for w, d in zip(widths, cfg.depths, strict=True)
        )
        self.out = nn.Conv1d(widths[0], cfg.patch, k, padding=k // 2)
        self.scales = scales

    def forward(self, noisy: torch.Tensor, t: torch.Tensor, latents: torch.Tensor) -> torch.Tensor:
        temb = self.time(t)[:, :, None]  # (B, E, 1)
        z = self.latent_block(self.latent_in(latents))  # (B, E, T)
        conds = [z]
        for up in reversed(self.cond_ups):
            conds.insert(0, up(conds[0]))  # (B, E, L_s), finest first
        h = self.stem(space_to_channel(noisy, self.patch))  # (B, C0, N/patch)
        skips = []
        for s in range(self.scales):
            h = h + self.down_add[s](conds[s])  # (B, C_s, L_s)
            for block in self.down_blocks[s]:
                h = block(h, conds[s] + temb)  # (B, C_s, L_s)
            skips.append(h)
            h = self.downs[s](h)  # (B, C_s+1, L_s / f_s)
        h = h + self.mid_add(conds[-1])  # (B, C_last, T)
        for block in self.mid_blocks:
            h = block(h, conds[-1] + temb)  # (B, C_last, T)
        for s in reversed(range(self.scales)):
            h = self.ups[s](h) + self.up_add[s](conds[s])  # (B, C_s, L_s)
            for proj, block in zip(self.skip_projs[s], self.up_blocks[s], strict=True):
                h = block(h + proj(skips[s]), conds[s] + temb)  # (B, C_s, L_s)
        return channel_to_space(self.out(h), self.patch)  # (B, 1, N): no final norm, so amplitude survives


class Tokenizer(nn.Module):
    """Audio (B, 1, N) <-> latents (B, T, D); `velocity` is the denoiser the sampler integrates."""

    def __init__(self, config: TokenizerConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = Encoder(config)
        self.decoder = Decoder(config)
        self.initialize_weights()

    @property
    def hop(self) -> int:
        return self.config.hop

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    @property
    def frame_rate(self) -> float:
        return self.config.sample_rate / self.config.hop

    def initialize_weights(self) -> None:
        """Xavier convs/linears with zero bias; AdaLN-Zero modulation and the decoder output start at zero."""
        for module in self.modules():
            if isinstance(module, (nn.Conv1d, nn.Linear)):
                nn.init.xavier_uniform_(
                    module.weight.flatten(1) if module.weight.dim() > 2 else module.weight
                )
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
        for module in self.modules():
            if isinstance(module, AdaLNBlock):
                module.zero_init()
        nn.init.normal_(self.decoder.time.mlp[0].weight, std=0.02)
        nn.init.normal_(self.decoder.time.mlp[2].weight, std=0.02)
        nn.init.zeros_(self.decoder.out.weight)
        nn.init.zeros_(self.decoder.out.bias)

    def encode(self, audio: torch.Tensor) -> torch.Tensor:
        """audio (B, 1, N) with N % hop == 0 -> layer-normalised latents (B, T, D), T = N // hop."""
        return self.encoder(audio * self.config.audio_scale).transpose(1, 2)  # (B, T, D)

    def velocity(self, noisy: torch.Tensor, t: torch.Tensor, latents: torch.Tensor) -> torch.Tensor:
        """noisy (B, 1, N) scaled audio at level t (B,), latents (B, T, D) -> velocity (B, 1, N).

        With `prediction="sample"` the network predicts the clean scaled audio x0 and the velocity follows
        from the path (x-prediction with a velocity loss, as in "Back to Basics", arXiv 2511.13720): near
        silence x0 = 0 is trivial to output, where predicting v means amplifying the noise by 1 / t.
        """
        out = self.decoder(noisy, t, latents.transpose(1, 2))  # (B, 1, N)
        if self.config.prediction == "sample":
            return (noisy - out) / t.clamp(min=self.config.min_t)[:, None, None]  # (B, 1, N)
        return out

    def forward(self, noisy: torch.Tensor, t: torch.Tensor, latents: torch.Tensor) -> torch.Tensor:
        return self.velocity(noisy, t, latents)

    @torch.no_grad()
    def decode(
        self,
        latents: torch.Tensor,
        steps: int = 16,
        method: str = "euler",
        noise: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """latents (B, T, D) -> audio (B, 1, T * hop) by sampling the decoder from noise at t=1."""
        b, frames, _ = latents.shape
        if noise is None:
            noise = torch.randn(b, 1, frames * self.hop, generator=generator, device=latents.device)

        def velocity_fn(x: torch.Tensor, t: float) -> torch.Tensor:
            return self.velocity(x, torch.full((b,), t, device=x.device), latents)

        return sample(velocity_fn, noise, steps, method) / self.config.audio_scale  # (B, 1, N)

    def encode_any(self, audio: torch.Tensor) -> torch.Tensor:
        """Latents for any length (B, 1, N): pads to the hop; T = ceil(N / hop)."""
        return self.encode(pad_to_multiple(audio, self.hop))

    def reconstruct(
        self, audio: torch.Tensor, steps: int = 16, method: str = "euler", **kwargs
    ) -> torch.Tensor:
        """Encode then decode any-length audio (B, 1, N), trimmed back to N samples."""
        with torch.no_grad():
            latents = self.encode_any(audio)
        return self.decode(latents, steps, method, **kwargs)[..., : audio.shape[-1]]


PRESETS: dict[str, TokenizerConfig] = {
    # Unit tests: hop 32, runs in milliseconds.
    "tiny": TokenizerConfig(
        patch=8, factors=(2, 2), widths=(16, 32), depths=(1, 1), latent_dim=8, cond_dim=16
    ),
    # 16 kHz -> 50 frames/s x 128 (hop 320).
    "low": TokenizerConfig(
        patch=20, factors=(4, 4), widths=(128, 256), depths=(2, 2), latent_dim=128, cond_dim=128
    ),
    # 16 kHz -> 7.8 frames/s x 64 (hop 2048).
    "high": TokenizerConfig(
        patch=32, factors=(4, 4, 4), widths=(128, 256, 512), depths=(2, 2, 2), latent_dim=64, cond_dim=128
    ),
    # The shipped model: `high`'s geometry sized to train on a 2-core CPU in well under an hour.
    "small": TokenizerConfig(
        patch=32, factors=(4, 4, 4), widths=(64, 128, 256), depths=(1, 1, 1), latent_dim=64, cond_dim=64
    ),
}


def build(preset: str, **overrides) -> Tokenizer:
    """A fresh tokenizer from a named preset, with optional config field overrides."""
    if preset not in PRESETS:
        raise KeyError(f"unknown tokenizer preset {preset!r}; choose one of {sorted(PRESETS)}")
    fields = {**PRESETS[preset].__dict__, **overrides}
    return Tokenizer(TokenizerConfig(**fields))
