"""Latent action model: a small vocabulary of musical actions learnt without labels from tokenizer latents.

Genie (https://arxiv.org/abs/2402.15391) learns 8 latent actions from video by asking a decoder to predict
the next frame from the past plus a VQ-bottlenecked action. Here (seed notes, "Latent Action Model") the
inputs are the tokenizer's continuous latents, there is no causality: a bidirectional encoder sees the
whole window and emits one action per chunk of k frames (about 1 s), and the decoder reconstructs *masked*
chunks (random chunks and contiguous segments, never all) from the visible context plus every chunk's
action embedding added to that chunk's frames. The action of a masked chunk is the only path by which the
decoder learns what happened there beyond what the context implies; A codes (3 bits for A = 8) keep that
path narrow, so actions name the most informative change. Optional per-chunk instrument multi-hot
conditioning (seed, "Action Space") lets actions be learnt on top of instrumentation.

With `patch` P > 1 (a divisor of k) both transformers see one token per P consecutive frames, their latents
concatenated, and the decoder predicts all P frames of a token: a higher-rate tokenizer then costs what a
lower-rate one does, and the chunks (and so the actions) keep their length in seconds.

Letters in shape comments: B batch, T latent frames, D latent channels, K chunks (T = K * k), W model width,
C code dimension, A actions, I instruments, P frames per token, N = T / P tokens.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from training.models.quantizer import QuantizerResult, VectorQuantizer


def sinusoidal_positions(length: int, width: int, device: torch.device) -> Tensor:
    """Fixed sin/cos positions (any length, so exported graphs keep a dynamic time axis): (T, W)."""
    position = torch.arange(length, device=device, dtype=torch.float32)[:, None]  # (T, 1)
    freqs = torch.exp(
        torch.arange(0, width, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / width)
    )
    angles = position * freqs[None]  # (T, W/2)
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=-1)  # (T, W)


def chunk_instruments(instruments: Tensor, chunk_frames: int) -> Tensor:
    """Per-chunk instrument multi-hot: an instrument counts for a chunk if it plays in any of its frames."""
    b, t, i = instruments.shape
    return instruments.reshape(b, t // chunk_frames, chunk_frames, i).amax(dim=2)  # (B, K, I)


def per_chunk_to_frames(x: Tensor, chunk_frames: int) -> Tensor:
    """Repeat per-chunk values over the chunk's frames: (B, K, ...) -> (B, K * k, ...)."""
    return x.repeat_interleave(chunk_frames, dim=1)


class Block(nn.Module):
    """Pre-norm bidirectional transformer block."""

    def __init__(self, width: int, heads: int, mlp_ratio: float, dropout: float):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.norm2 = nn.LayerNorm(width)
        hidden = int(width * mlp_ratio)
        self.mlp = nn.Sequential(
            nn.Linear(width, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, width)
        )
        self.dropout = dropout

    def forward(self, x: Tensor) -> Tensor:
        b, t, w = x.shape
        qkv = self.qkv(self.norm1(x)).reshape(b, t, 3, self.heads, w // self.heads)  # (B, T, 3, H, W/H)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each (B, H, T, W/H)
        attn = F.scaled_dot_product_attention(
            q, k, v, dropout_p=self.dropout if self.training else 0.0
        )  # (B, H, T, W/H)
        x = x + self.proj(attn.transpose(1, 2).reshape(b, t, w))  # (B, T, W)
        return x + self.mlp(self.norm2(x))  # (B, T, W)


@dataclass
class LAMConfig:
    latent_dim: int = 64  # D: channels of the tokenizer latents (set from the latent cache)
    chunk_frames: int = 8  # k: latent frames per action, round(chunk_seconds * frame_rate)
    num_actions: int = 8  # A: codebook size; few actions force coarse, nameable changes (Genie uses 8)
    num_instruments: int = 0  # I: per-chunk instrument multi-hot conditioning width (0 = off)
    width: int = 128  # W: transformer width of encoder and decoder
    heads: int = 4  # attention heads
    encoder_layers: int = 3  # depth of the action encoder (sees every frame)
    decoder_layers: int = 3  # depth of the masked-chunk decoder
    mlp_ratio: float = 4.0  # MLP hidden size over width
    code_dim: int = 16  # C: VQ code dimension (l2-normalised; small keeps 8 codes apart)
    dropout: float = 0.0  # attention/MLP dropout
    vq_decay: float = 0.99  # EMA decay of the codebook statistics
    commitment: float = 0.25  # weight of the VQ commitment loss
    dead_fraction: float = 0.1  # reset a code used less than this fraction of the mean code usage
    entropy_weight: float = 0.1  # diversity penalty on soft code assignments (fights codebook collapse)
    temperature: float = 0.1  # softness of the assignments that penalty sees
    patch: int = 1  # P: latent frames per transformer token; must divide chunk_frames


@dataclass
class LAMOutput:
    """A training/evaluation forward pass."""

    reconstruction: Tensor  # (B, T, D) decoder output on every frame (the loss reads masked chunks)
    actions: QuantizerResult  # per-chunk codes (B, K), quantised vectors (B, K, C) and VQ statistics


class LatentActionModel(nn.Module):
    """Action encoder + VQ bottleneck + masked-chunk decoder over latent frames."""

    def __init__(self, config: LAMConfig):
        super().__init__()
        c = config
        if c.patch < 1 or c.chunk_frames % c.patch:
            raise ValueError(f"patch {c.patch} must be a divisor of chunk_frames {c.chunk_frames}")
        self.config = c
        self.enc_in = nn.Linear(c.patch * c.latent_dim, c.width)
        self.enc_blocks = nn.ModuleList(
            Block(c.width, c.heads, c.mlp_ratio, c.dropout) for _ in range(c.encoder_layers)
        )
        self.enc_norm = nn.LayerNorm(c.width)
        self.to_code = nn.Linear(c.width, c.code_dim)
        self.quantizer = VectorQuantizer(
            c.num_actions,
            c.code_dim,
            c.vq_decay,
            c.commitment,
            c.dead_fraction,
            c.entropy_weight,
            c.temperature,
        )
        self.dec_in = nn.Linear(c.patch * c.latent_dim, c.width)
        self.mask_token = nn.Parameter(torch.zeros(c.width))
        self.action_proj = nn.Linear(c.code_dim, c.width)
        self.dec_blocks = nn.ModuleList(
            Block(c.width, c.heads, c.mlp_ratio, c.dropout) for _ in range(c.decoder_layers)
        )
        self.dec_norm = nn.LayerNorm(c.width)
        self.dec_out = nn.Linear(c.width, c.patch * c.latent_dim)
        # Per-channel statistics of the training latents (set by the task): the model works on standardised
        # latents, so the loss scale does not depend on how spread a given tokenizer's latents are.
        self.register_buffer("latent_mean", torch.zeros(c.latent_dim))  # (D,)
        self.register_buffer("latent_std", torch.ones(c.latent_dim))  # (D,)
        if c.num_instruments > 0:
            self.enc_instruments = nn.Linear(c.num_instruments, c.width)
            self.dec_instruments = nn.Linear(c.num_instruments, c.width)
        self.initialize_weights()

    def initialize_weights(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)
        nn.init.normal_(self.mask_token, std=0.02)

    @torch.no_grad()
    def set_latent_stats(self, mean: Tensor, std: Tensor) -> None:
        """Store the training latents' per-channel mean and standard deviation (D,)."""
        self.latent_mean.copy_(mean)
        self.latent_std.copy_(std.clamp(min=1e-6))

    def normalize(self, latents: Tensor) -> Tensor:
        """Standardise latents channel-wise with the training statistics: (B, T, D) -> (B, T, D)."""
        return (latents - self.latent_mean) / self.latent_std

    def _check(self, latents: Tensor) -> None:
        if not torch.jit.is_tracing() and latents.shape[1] % self.config.chunk_frames != 0:
            raise ValueError(
                f"T={latents.shape[1]} frames is not a multiple of chunk_frames={self.config.chunk_frames}"
            )

    @property
    def chunk_tokens(self) -> int:
        """Transformer tokens per chunk: k / P."""
        return self.config.chunk_frames // self.config.patch

    def _tokens(self, latents: Tensor) -> Tensor:
        """Standardised latents, P frames per token: (B, T, D) -> (B, N, P D)."""
        x = self.normalize(latents)
        return x.reshape(x.shape[0], -1, self.config.patch * self.config.latent_dim)

    def _instrument_bias(self, proj: nn.Module, instruments: Tensor | None, latents: Tensor) -> Tensor | int:
        """Per-chunk instrument embedding spread over the chunk's tokens, or 0 when unconditioned."""
        if self.config.num_instruments == 0:
            return 0
        if instruments is None:  # unknown instrumentation: the all-zero multi-hot
            b, t, _ = latents.shape
            instruments = latents.new_zeros(b, t, self.config.num_instruments)
        chunks = chunk_instruments(instruments.to(latents.dtype), self.config.chunk_frames)  # (B, K, I)
        return per_chunk_to_frames(proj(chunks), self.chunk_tokens)  # (B, N, W)

    def encode(self, latents: Tensor, instruments: Tensor | None = None) -> Tensor:
        """Pre-quantisation action vectors, one per chunk: (B, T, D) -> (B, K, C)."""
        self._check(latents)
        x = self._tokens(latents)  # (B, N, P D)
        b, n, _ = x.shape
        x = self.enc_in(x) + sinusoidal_positions(n, self.config.width, latents.device)  # (B, N, W)
        x = x + self._instrument_bias(getattr(self, "enc_instruments", None), instruments, latents)
        for block in self.enc_blocks:
            x = block(x)
        x = (
            self.enc_norm(x).reshape(b, n // self.chunk_tokens, self.chunk_tokens, -1).mean(dim=2)
        )  # (B, K, W)
        return self.to_code(x)  # (B, K, C)

    def infer_actions(self, latents: Tensor, instruments: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Action logits (B, K, A) (negative code distances) and ids (B, K) int64 for T % k == 0 frames."""
        logits = self.quantizer.logits(self.encode(latents, instruments))  # (B, K, A)
        return logits, logits.argmax(dim=-1)

    def frame_actions(self, latents: Tensor, instruments: Tensor | None = None) -> Tensor:
        """Per-frame action ids (B, T) int64: each chunk's action repeated over its k frames."""
        return per_chunk_to_frames(self.infer_actions(latents, instruments)[1], self.config.chunk_frames)

    def action_vectors(self, ids: Tensor) -> Tensor:
        """Code vectors for chosen action ids (B, K) -> (B, K, C), e.g. to decode with random actions."""
        return self.quantizer.lookup(ids)

    def reconstruct(
        self, latents: Tensor, mask: Tensor, actions: Tensor, instruments: Tensor | None = None
    ) -> Tensor:
        """Decode every frame from the visible chunks plus per-chunk action vectors.

        Args:
            latents: (B, T, D); frames of masked chunks are never read.
            mask: (B, K) bool, True = chunk hidden from the decoder.
            actions: (B, K, C) action vectors (quantised encoder output or `action_vectors(ids)`).
            instruments: (B, T, I) multi-hot or None.
        Returns:
            (B, T, D) reconstruction (in the latents' own scale).
        """
        self._check(latents)
        k = self.chunk_tokens
        token_mask = per_chunk_to_frames(mask, k)[..., None]  # (B, N, 1)
        x = torch.where(
            token_mask, self.mask_token.to(latents.dtype), self.dec_in(self._tokens(latents))
        )  # (B, N, W)
        x = x + sinusoidal_positions(x.shape[1], self.config.width, latents.device)
        x = x + per_chunk_to_frames(self.action_proj(actions), k)  # (B, N, W): Genie adds actions to frames
        x = x + self._instrument_bias(getattr(self, "dec_instruments", None), instruments, latents)
        for block in self.dec_blocks:
            x = block(x)
        out = self.dec_out(self.dec_norm(x))  # (B, N, P D)
        return out.reshape(latents.shape) * self.latent_std + self.latent_mean  # (B, T, D)

    def forward(self, latents: Tensor, mask: Tensor, instruments: Tensor | None = None) -> LAMOutput:
        """Infer and quantise every chunk's action, then reconstruct with the masked chunks hidden."""
        actions = self.quantizer(self.encode(latents, instruments))  # (B, K, C)
        return LAMOutput(self.reconstruct(latents, mask, actions.quantized, instruments), actions)


@dataclass
class MaskConfig:
    segment_prob: float = (
        0.5  # share of windows whose mask is one contiguous run of chunks (else random chunks)
    )
    random_min: float = 0.3  # lowest per-chunk masking rate for random-chunk masks
    random_max: float = 0.8  # highest per-chunk masking rate for random-chunk masks
    segment_min: float = 0.25  # shortest contiguous segment, as a fraction of the window's chunks
    segment_max: float = 0.75  # longest contiguous segment, as a fraction of the window's chunks


def sample_chunk_mask(
    batch: int, chunks: int, config: MaskConfig, generator: torch.Generator | None = None
) -> Tensor:
    """Non-causal chunk masks (B, K) bool: random chunks or one contiguous segment; never all, never none."""
    if chunks < 2:
        raise ValueError(f"a window needs at least 2 chunks to hide one and show one, got {chunks}")
    u = torch.rand(batch, 4, generator=generator)  # (B, 4) independent draws per window
    rate = config.random_min + (config.random_max - config.random_min) * u[:, :1]  # (B, 1)
    random_mask = torch.rand(batch, chunks, generator=generator) < rate  # (B, K)
    length = (config.segment_min + (config.segment_max - config.segment_min) * u[:, 1]) * chunks  # (B,)
    length = length.round().clamp(1, chunks - 1).long()
    start = (u[:, 2] * (chunks - length + 1)).floor().long().clamp(max=chunks - length)  # (B,)
    idx = torch.arange(chunks)[None]  # (1, K)
    segment_mask = (idx >= start[:, None]) & (idx < (start + length)[:, None])  # (B, K)
    mask = torch.where((u[:, 3] < config.segment_prob)[:, None], segment_mask, random_mask)  # (B, K)
    # Repair the two degenerate draws of random masks: show one chunk of an all-masked row, hide one of an empty row.
    pick = torch.randint(0, chunks, (batch,), generator=generator)  # (B,)
    one = F.one_hot(pick, chunks).bool()  # (B, K)
    mask = torch.where(mask.all(dim=1, keepdim=True), mask & ~one, mask)
    return torch.where(~mask.any(dim=1, keepdim=True), one, mask)  # (B, K)


PRESETS: dict[str, dict] = {
    "tiny": dict(width=32, heads=2, encoder_layers=1, decoder_layers=1, mlp_ratio=2.0, code_dim=8),
    "small": dict(width=96, heads=4, encoder_layers=2, decoder_layers=2, mlp_ratio=3.0, code_dim=16),
    "base": dict(width=256, heads=8, encoder_layers=6, decoder_layers=6, code_dim=32),
}


def lam_config(preset: str, **overrides) -> LAMConfig:
    """A named size preset with data-dependent fields (latent_dim, chunk_frames, ...) filled in."""
    if preset not in PRESETS:
        raise ValueError(f"unknown LAM preset {preset!r}; choose one of {sorted(PRESETS)}")
    return LAMConfig(**{**PRESETS[preset], **overrides})
