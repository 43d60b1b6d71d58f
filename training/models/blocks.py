"""Reusable layers for 1-D (audio and latent) models.

Shape letters: B batch, C channels, T time (positions at the current scale), E conditioning width.
Everything here is ONNX-exportable: reshapes take their sizes from the tensors (or -1), never from Python
branches on data.

- `space_to_channel` / `channel_to_space`: pixel-(un)shuffle for 1-D; exact inverses, no parameters.
- `Downsample` / `Upsample`: learned resampling plus the DC-AE parameter-free shortcut (arXiv 2410.10733):
  space-to-channel then channel-group averaging going down, channel duplication then channel-to-space
  going up, so the learned path only has to add a residual.
- `ResBlock` and `AdaLNBlock`: residual conv blocks; the latter is DiT's AdaLN-Zero (arXiv 2212.09748) with
  per-position conditioning, zero-initialised so a fresh block is the identity.
- `TimestepEmbedding`: sinusoidal features of the diffusion level followed by an MLP.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def space_to_channel(x: torch.Tensor, factor: int) -> torch.Tensor:
    """(B, C, T) -> (B, C * factor, T // factor); output channel c * factor + j holds x[:, c, t * factor + j]."""
    b, c, _ = x.shape
    x = x.reshape(b, c, -1, factor)  # (B, C, T/f, f)
    return x.transpose(2, 3).reshape(b, c * factor, -1)  # (B, C*f, T/f)


def channel_to_space(x: torch.Tensor, factor: int) -> torch.Tensor:
    """(B, C * factor, T) -> (B, C, T * factor); the exact inverse of `space_to_channel`."""
    b, cf, _ = x.shape
    x = x.reshape(b, cf // factor, factor, -1)  # (B, C, f, T)
    return x.transpose(2, 3).reshape(b, cf // factor, -1)  # (B, C, T*f)


def average_channels(x: torch.Tensor, out_channels: int) -> torch.Tensor:
    """(B, C, T) -> (B, out_channels, T) by averaging groups of C // out_channels consecutive channels."""
    b, c, _ = x.shape
    return x.reshape(b, out_channels, c // out_channels, -1).mean(dim=2)  # (B, C_out, T)


def duplicate_channels(x: torch.Tensor, out_channels: int) -> torch.Tensor:
    """(B, C, T) -> (B, out_channels, T) by repeating each channel out_channels // C times in place."""
    b, c, _ = x.shape
    repeats = out_channels // c
    return x.unsqueeze(2).expand(-1, -1, repeats, -1).reshape(b, out_channels, -1)  # (B, C_out, T)


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """DiT's modulation: x * (1 + scale) + shift (all broadcastable)."""
    return x * (1 + scale) + shift


class ChannelNorm(nn.Module):
    """Layer norm over channels at every position of a (B, C, T) tensor, without affine parameters."""

    def __init__(self, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(dim=1, keepdim=True)  # (B, 1, T)
        var = (x - mean).pow(2).mean(dim=1, keepdim=True)  # (B, 1, T)
        return (x - mean) * torch.rsqrt(var + self.eps)  # (B, C, T)


def _conv(c_in: int, c_out: int, kernel: int) -> nn.Conv1d:
    return nn.Conv1d(c_in, c_out, kernel, padding=kernel // 2)


class Downsample(nn.Module):
    """Resample (B, C_in, T) -> (B, C_out, T // factor): learned conv on the space-to-channel view plus the
    parameter-free DC-AE shortcut (space-to-channel, then average channel groups down to C_out)."""

    def __init__(self, c_in: int, c_out: int, factor: int, kernel: int = 3) -> None:
        super().__init__()
        if (c_in * factor) % c_out:
            raise ValueError(
                f"Downsample: c_in * factor = {c_in * factor} is not a multiple of c_out = {c_out}"
            )
        self.factor = factor
        self.c_out = c_out
        self.norm = ChannelNorm()
        self.conv = _conv(c_in * factor, c_out, kernel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = average_channels(space_to_channel(x, self.factor), self.c_out)  # (B, C_out, T/f)
        h = space_to_channel(F.silu(self.norm(x)), self.factor)  # (B, C_in*f, T/f)
        return shortcut + self.conv(h)  # (B, C_out, T/f)


class Upsample(nn.Module):
    """Resample (B, C_in, T) -> (B, C_out, T * factor): learned conv to C_out * factor channels then
    channel-to-space, plus the DC-AE shortcut (duplicate channels up to C_out * factor, channel-to-space)."""

    def __init__(self, c_in: int, c_out: int, factor: int, kernel: int = 3) -> None:
        super().__init__()
        if (c_out * factor) % c_in:
            raise ValueError(
                f"Upsample: c_out * factor = {c_out * factor} is not a multiple of c_in = {c_in}"
            )
        self.factor = factor
        self.c_out = c_out
        self.norm = ChannelNorm()
        self.conv = _conv(c_in, c_out * factor, kernel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = channel_to_space(
            duplicate_channels(x, self.c_out * self.factor), self.factor
        )  # (B, C_out, T*f)
        h = self.conv(F.silu(self.norm(x)))  # (B, C_out*f, T)
        return shortcut + channel_to_space(h, self.factor)  # (B, C_out, T*f)


class ResBlock(nn.Module):
    """Pre-norm residual conv block: x + conv1x1(silu(conv_k(norm(x))))."""

    def __init__(self, channels: int, kernel: int = 5, expansion: int = 1) -> None:
        super().__init__()
        self.norm = ChannelNorm()
        self.conv1 = _conv(channels, channels * expansion, kernel)
        self.conv2 = nn.Conv1d(channels * expansion, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.silu(self.conv1(self.norm(x))))  # (B, C, T)


class AdaLNBlock(nn.Module):
    """AdaLN-Zero residual conv block with per-position conditioning.

    `cond` (B, E, T) becomes shift, scale and gate (B, C, T) through SiLU and a 1x1 conv that
    `zero_init()` sets to zero, so the gate starts at 0 and the block starts as the identity.
    """

    def __init__(self, channels: int, cond_dim: int, kernel: int = 5, expansion: int = 1) -> None:
        super().__init__()
        self.norm = ChannelNorm()
        self.conv1 = _conv(channels, channels * expansion, kernel)
        self.conv2 = nn.Conv1d(channels * expansion, channels, 1)
        self.ada = nn.Conv1d(cond_dim, 3 * channels, 1)

    def zero_init(self) -> None:
        nn.init.zeros_(self.ada.weight)
        nn.init.zeros_(self.ada.bias)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        shift, scale, gate = self.ada(F.silu(cond)).chunk(3, dim=1)  # 3 x (B, C, T)
        h = modulate(self.norm(x), shift, scale)  # (B, C, T)
        return x + gate * self.conv2(F.silu(self.conv1(h)))  # (B, C, T)


class TimestepEmbedding(nn.Module):
    """Diffusion level t in [0, 1] (B,) -> (B, E): sinusoidal features of 1000 t, then a 2-layer MLP."""

    def __init__(self, dim: int, frequencies: int = 128) -> None:
        super().__init__()
        half = frequencies // 2
        freqs = torch.exp(-math.log(10_000.0) * torch.arange(half, dtype=torch.float32) / half)
        self.register_buffer("freqs", freqs, persistent=False)
        self.mlp = nn.Sequential(nn.Linear(2 * half, dim), nn.SiLU(), nn.Linear(dim, dim))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        angles = (1000.0 * t.float())[:, None] * self.freqs[None]  # (B, F/2)
        return self.mlp(torch.cat([torch.cos(angles), torch.sin(angles)], dim=1))  # (B, E)
