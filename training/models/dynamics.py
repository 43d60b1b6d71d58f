"""Dynamics model: an action-conditioned DiT that inpaints masked latent frames.

Genie's dynamics model (Bruce et al. 2024, https://arxiv.org/abs/2402.15391) re-cast for editing music:
instead of predicting the next frame, it fills a masked region of tokenizer latents so that it fits the
audio around it and follows the latent action chosen for each chunk. The network is a DiT (Peebles & Xie
2023, https://arxiv.org/abs/2212.09748) over latent frames with AdaLN-Zero blocks, trained with flow
matching (`training/diffusion.py` conventions: `x_t = (1 - t) x0 + t noise`, velocity `noise - x0`).

Per frame the input is the noisy latent where the mask says "generate" and the clean context latent
elsewhere, plus the mask itself as one more channel. Conditioning is per frame too: the flow-matching time
embedding plus the frame's action embedding (a learnt extra row, id A, is the null action used for
classifier-free guidance) plus, when the LAM used them, a projection of the instrument multi-hot. Position
comes from rotary embeddings computed from T at run time, so any length works and the ONNX graph keeps a
dynamic time axis.

With `patch` P > 1 the transformer sees one token per P consecutive frames (DiT's patches, along time): the
P frames' inputs are concatenated before the embedding, their conditioning is averaged, and the output
layer predicts all P frames' velocities. A higher-rate tokenizer (more frames per second) then costs the
transformer what a lower-rate one does, while the mask stays per frame (it is one of the input channels).
A length that is not a multiple of P is padded at the end with known, zero frames and cropped back.

Shape letters: B batch, T latent frames, D latent channels, W model width, H heads, A actions,
I instruments, P frames per token, N = ceil(T / P) tokens.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

from training.models.blocks import TimestepEmbedding, modulate


def rotary(
    T: int, dim: int, device: torch.device, base: float = 10_000.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin tables (T, dim) for rotary position embeddings, computed from T (no length limit)."""
    inv_freq = base ** (-torch.arange(0, dim, 2, device=device, dtype=torch.float32) / dim)  # (dim/2,)
    angles = torch.arange(T, device=device, dtype=torch.float32)[:, None] * inv_freq[None]  # (T, dim/2)
    angles = torch.cat([angles, angles], dim=-1)  # (T, dim)
    return angles.cos(), angles.sin()


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate query/key pairs (x: (B, H, T, dim)) by their frame's angle; rotate-half form, export-friendly."""
    half = x.shape[-1] // 2
    rotated = torch.cat([-x[..., half:], x[..., :half]], dim=-1)  # (B, H, T, dim)
    return x * cos + rotated * sin


class Attention(nn.Module):
    """Bidirectional multi-head self-attention with rotary positions: every frame sees the whole window."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        B, T, W = x.shape
        qkv = (
            self.qkv(x).reshape(B, T, 3, self.heads, W // self.heads).permute(2, 0, 3, 1, 4)
        )  # (3, B, H, T, W/H)
        q, k, v = apply_rotary(qkv[0], cos, sin), apply_rotary(qkv[1], cos, sin), qkv[2]
        out = F.scaled_dot_product_attention(q, k, v)  # (B, H, T, W/H)
        return self.proj(out.transpose(1, 2).reshape(B, T, W))  # (B, T, W)


class DiTBlock(nn.Module):
    """Pre-norm transformer block whose norms are modulated and whose branches are gated per frame."""

    def __init__(self, width: int, heads: int, mlp_ratio: float) -> None:
        super().__init__()
        hidden = int(width * mlp_ratio)
        self.norm1 = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.attn = Attention(width, heads)
        self.norm2 = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.mlp = nn.Sequential(
            nn.Linear(width, hidden), nn.GELU(approximate="tanh"), nn.Linear(hidden, width)
        )
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(width, 6 * width))

    def forward(self, x: torch.Tensor, c: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        shift_a, scale_a, gate_a, shift_m, scale_m, gate_m = self.adaLN_modulation(c).chunk(
            6, dim=-1
        )  # 6x (B, T, W)
        x = x + gate_a * self.attn(modulate(self.norm1(x), shift_a, scale_a), cos, sin)  # (B, T, W)
        return x + gate_m * self.mlp(modulate(self.norm2(x), shift_m, scale_m))  # (B, T, W)


class FinalLayer(nn.Module):
    """Modulated norm and a projection back to latent channels (both zero-initialised in the model)."""

    def __init__(self, width: int, out_dim: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.linear = nn.Linear(width, out_dim)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(width, 2 * width))

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        shift, scale = self.adaLN_modulation(c).chunk(2, dim=-1)  # 2x (B, T, W)
        return self.linear(modulate(self.norm(x), shift, scale))  # (B, T, D)


@dataclass
class DynamicsConfig:
    latent_dim: int = 64  # D: latent channels, must match the tokenizer
    num_actions: int = 8  # A: LAM codebook size; id A is the learnt null action
    num_instruments: int = 0  # I: instrument multi-hot size when the LAM was conditioned on it (0 = none)
    width: int = 128  # W: transformer width
    depth: int = 4  # number of DiT blocks
    heads: int = 4  # attention heads (width must divide by it; head size must be even for rotary)
    mlp_ratio: float = 4.0  # MLP hidden size as a multiple of width
    rope_base: float = 10_000.0  # rotary period base; tokens are positions, so any length is allowed
    patch: int = 1  # P: latent frames per transformer token (4 keeps a 31 frames/s tokenizer's cost at 8/s)


class DynamicsModel(nn.Module):
    """Predicts the flow-matching velocity of masked latent frames given context, actions and time."""

    def __init__(self, config: DynamicsConfig) -> None:
        super().__init__()
        if config.width % config.heads or (config.width // config.heads) % 2:
            raise ValueError(f"width {config.width} must split into {config.heads} heads of even size")
        if config.patch < 1:
            raise ValueError(f"patch must be at least 1 frame per token, got {config.patch}")
        self.config = config
        W, P = config.width, config.patch
        self.x_embedder = nn.Linear(P * (config.latent_dim + 1), W)  # P frames x (latent + mask channel)
        self.t_embedder = TimestepEmbedding(W)
        self.action_embedder = nn.Embedding(config.num_actions + 1, W)  # last row = null action
        self.instrument_embedder = nn.Linear(config.num_instruments, W) if config.num_instruments else None
        self.blocks = nn.ModuleList(DiTBlock(W, config.heads, config.mlp_ratio) for _ in range(config.depth))
        self.final_layer = FinalLayer(W, P * config.latent_dim)
        self.initialize_weights()

    @property
    def null_action(self) -> int:
        return self.config.num_actions

    def initialize_weights(self) -> None:
        """DiT init: Xavier linears, small embeddings, and zeros on every modulation and the output layer."""

        def _basic_init(module: nn.Module) -> None:
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

        self.apply(_basic_init)
        nn.init.normal_(self.action_embedder.weight, std=0.02)
        for layer in self.t_embedder.mlp:
            if isinstance(layer, nn.Linear):
                nn.init.normal_(layer.weight, std=0.02)
        # AdaLN-Zero: every block starts as the identity and the model's output starts at exactly zero.
        for block in self.blocks:
            nn.init.zeros_(block.adaLN_modulation[-1].weight)
            nn.init.zeros_(block.adaLN_modulation[-1].bias)
        nn.init.zeros_(self.final_layer.adaLN_modulation[-1].weight)
        nn.init.zeros_(self.final_layer.adaLN_modulation[-1].bias)
        nn.init.zeros_(self.final_layer.linear.weight)
        nn.init.zeros_(self.final_layer.linear.bias)

    def forward(
        self,
        noisy: torch.Tensor,
        t: torch.Tensor,
        context: torch.Tensor,
        mask: torch.Tensor,
        actions: torch.Tensor,
        instruments: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Velocity for every frame (only the masked frames' values mean anything).

        Args:
            noisy: (B, T, D) noisy latents; read only where mask = 1.
            t: (B,) flow-matching time in [0, 1] (1 = pure noise).
            context: (B, T, D) clean latents; read only where mask = 0.
            mask: (B, T) 1 = generate this frame, 0 = known; any float/bool/int dtype.
            actions: (B, T) int64 action id per frame in [0, A]; A is the null action.
            instruments: (B, T, I) instrument multi-hot, or None (required iff num_instruments > 0).
        Returns:
            velocity (B, T, D).
        """
        if (instruments is None) != (self.instrument_embedder is None):
            raise ValueError(
                f"instruments must be given iff num_instruments > 0 (got {self.config.num_instruments})"
            )
        m = mask.to(noisy.dtype).unsqueeze(-1)  # (B, T, 1)
        x = torch.cat([torch.where(m > 0, noisy, context), m], dim=-1)  # (B, T, D + 1)
        c = self.t_embedder(t).unsqueeze(1) + self.action_embedder(actions)  # (B, T, W)
        if self.instrument_embedder is not None:
            c = c + self.instrument_embedder(instruments.to(x.dtype))  # (B, T, W)
        frames = x.shape[1]
        x, c = self._embed(x, c)  # (B, N, W), (B, N, W)
        cos, sin = rotary(x.shape[1], self.config.width // self.config.heads, x.device, self.config.rope_base)
        for block in self.blocks:
            x = block(x, c, cos, sin)  # (B, N, W)
        out = self.final_layer(x, c)  # (B, N, P D)
        return out.reshape(out.shape[0], -1, self.config.latent_dim)[:, :frames]  # (B, T, D)

    def _embed(self, x: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Tokens (B, N, W) of P frames each (inputs concatenated, conditioning averaged).

        A length that is not a multiple of P (eager use only: exported graphs take whole tokens) is padded
        with known zero frames that repeat the last frame's conditioning.
        """
        P = self.config.patch
        if P == 1:
            return self.x_embedder(x), c
        pad = -x.shape[1] % P
        if pad:
            x = F.pad(x, (0, 0, 0, pad))
            c = torch.cat([c, c[:, -1:].expand(-1, pad, -1)], dim=1)
        b, n = x.shape[0], x.shape[1] // P
        return self.x_embedder(x.reshape(b, n, -1)), c.reshape(b, n, P, -1).mean(dim=2)


PRESETS: dict[str, DynamicsConfig] = {
    "tiny": DynamicsConfig(width=32, depth=2, heads=2),  # tests: milliseconds per step
    "small": DynamicsConfig(
        width=128, depth=4, heads=4
    ),  # shipped: 1.3M parameters, ~0.3 CPU-s per step of 32 x 64 tokens
    "base": DynamicsConfig(width=384, depth=12, heads=6),  # one GPU: 32M parameters
    "large": DynamicsConfig(width=768, depth=24, heads=12),  # GPUs: 257M parameters, for large corpora
}


def preset(name: str, **overrides: object) -> DynamicsConfig:
    """A named size with fields (latent_dim, num_actions, ...) overridden to match the tokenizer and LAM."""
    if name not in PRESETS:
        raise KeyError(f"unknown dynamics preset {name!r}; choose from {sorted(PRESETS)}")
    return replace(PRESETS[name], **overrides)
