"""The MDCT (`engine/mdct.py`) as a fixed, orthogonal "patchify" of the waveform (and its transpose as the
un-patchify).

With circular ends the MDCT is an orthogonal N x N matrix, so:

- white noise in the waveform is white noise in the coefficients, and an L2 loss on either is the same
  number: the tokenizer's flow still lives on the waveform, only the network's first and last layers change;
- the channels are frequency bands (bin k covers k * sr / 2P .. (k + 1) * sr / 2P), so "nothing above
  5 kHz here" is one gated channel, not a filter the first conv has to learn to cancel noise exactly.

Both directions are one conv with the numpy basis as a fixed kernel (ONNX Conv / ConvTranspose), no FFT.
Letters: B batch, N samples (a multiple of P), L = N // P frames.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from engine.mdct import mdct_basis


class MDCT(nn.Module):
    """Waveform (B, 1, N) <-> coefficients (B, P, N // P); `synthesis(analysis(x)) == x` up to float error."""

    def __init__(self, hop: int) -> None:
        super().__init__()
        self.hop = hop
        basis = torch.from_numpy(mdct_basis(hop)).float()[:, None, :]  # (P, 1, 2P)
        self.register_buffer("basis", basis, persistent=False)  # (P, 1, 2P)

    def analysis(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, N) -> (B, P, N // P); frame m reads samples [mP - P/2, mP + 3P/2), wrapping at the ends."""
        half = self.hop // 2
        x = torch.cat([x[..., -half:], x, x[..., :half]], dim=-1)  # (B, 1, N + P)
        return F.conv1d(x, self.basis, stride=self.hop)  # (B, P, L)

    def synthesis(self, coefficients: torch.Tensor) -> torch.Tensor:
        """(B, P, L) -> (B, 1, L * P): overlap-add, the halves that ran past either end folded back."""
        half = self.hop // 2
        y = F.conv_transpose1d(coefficients, self.basis, stride=self.hop)  # (B, 1, (L + 1) P)
        body = y[..., half:-half]  # (B, 1, L P)
        head = body[..., :half] + y[..., -half:]  # the overflow past the end wraps to the start
        tail = body[..., -half:] + y[..., :half]  # and the overflow before the start to the end
        return torch.cat([head, body[..., half:-half], tail], dim=-1)  # (B, 1, L P)
