"""Vector quantiser with an EMA codebook, dead-code reset and a straight-through estimator.

VQ-VAE (https://arxiv.org/abs/1711.00937) with the EMA codebook update of its appendix, l2-normalised
low-dimensional codes as in ViT-VQGAN (https://arxiv.org/abs/2110.04627) so that a tiny codebook (Genie's
8 latent actions, https://arxiv.org/abs/2402.15391) spreads over a sphere instead of collapsing, and the
dead-code reset of Jukebox (https://arxiv.org/abs/2005.00341): a code whose EMA usage falls below a
threshold is moved onto a random encoder output from the current batch.

Letters in shape comments: N vectors (any leading shape flattened), C code dimension, A codes.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor, nn


@dataclass
class QuantizerResult:
    """What one quantiser call returns (audiocraft's QuantizedResult, plus usage statistics)."""

    quantized: Tensor  # (..., C) codes with the straight-through gradient of the input
    codes: Tensor  # (...) int64 code ids
    commitment: Tensor  # () weighted commitment loss ||z - sg(q)||^2
    entropy: Tensor  # () weighted diversity penalty: mean per-vector entropy minus batch entropy
    perplexity: Tensor  # () exp(entropy) of the batch's code histogram, in [1, A]
    usage: Tensor  # () fraction of codes used at least once in the batch

    @property
    def penalty(self) -> Tensor:
        """What the quantiser adds to the training loss."""
        return self.commitment + self.entropy


def _all_reduce(t: Tensor) -> Tensor:
    """Sum over data-parallel ranks so every rank applies the same EMA update."""
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(t)
    return t


class VectorQuantizer(nn.Module):
    """EMA vector quantiser over l2-normalised vectors.

    Args:
        num_codes: A, codebook size.
        dim: C, code dimension (small: 8-32 keeps lookups meaningful for a tiny codebook).
        decay: EMA decay of the codebook statistics.
        commitment: weight of the commitment loss.
        dead_fraction: a code whose EMA count falls below this fraction of the mean count is reset.
        entropy_weight: weight of the diversity penalty on soft assignments softmax(z . codes / temperature)
            (as MAGVIT-v2's entropy loss, https://arxiv.org/abs/2310.05737): it pushes each vector to one
            code and the batch to spread over all codes, which keeps the encoder from collapsing onto one.
        temperature: softness of those assignments (cosine similarities lie in [-1, 1]).
    """

    def __init__(
        self,
        num_codes: int,
        dim: int,
        decay: float = 0.99,
        commitment: float = 0.25,
        dead_fraction: float = 0.1,
        entropy_weight: float = 0.0,
        temperature: float = 0.1,
    ):
        super().__init__()
        self.num_codes = num_codes
        self.dim = dim
        self.decay = decay
        self.commitment = commitment
        self.dead_fraction = dead_fraction
        self.entropy_weight = entropy_weight
        self.temperature = temperature
        codebook = F.normalize(torch.randn(num_codes, dim), dim=-1)
        self.register_buffer("codebook", codebook)  # (A, C)
        self.register_buffer("ema_count", torch.ones(num_codes))  # (A,)
        self.register_buffer("ema_sum", codebook.clone())  # (A, C)
        self.register_buffer(
            "initialized", torch.tensor(False)
        )  # codes are set from the first training batch

    def logits(self, z: Tensor) -> Tensor:
        """Negative squared distances of normalised z to every code (higher = closer): (..., A)."""
        z = F.normalize(z, dim=-1)
        return 2.0 * z @ self.codebook.t() - 2.0  # (..., A) = -||z - c||^2 on the unit sphere

    def lookup(self, codes: Tensor) -> Tensor:
        """Code vectors for ids: (...) int64 -> (..., C)."""
        return F.embedding(codes, self.codebook)

    def forward(self, z: Tensor) -> QuantizerResult:
        """Quantise z (..., C); in training mode also update the codebook and reset dead codes."""
        z = F.normalize(z, dim=-1)  # (..., C)
        flat_z = z.reshape(-1, self.dim)  # (N, C)
        if self.training and not bool(self.initialized):
            self._init_from(flat_z.detach())
        similarity = z @ self.codebook.clone().t()  # (..., A); a copy, as the EMA update below is in place
        codes = similarity.argmax(dim=-1)  # (...)
        flat_codes = codes.reshape(-1)  # (N,)
        onehot = F.one_hot(flat_codes, self.num_codes).type_as(flat_z)  # (N, A)
        if self.training:
            self._update(flat_z.detach(), onehot)
        quantized = self.lookup(codes)  # (..., C)
        commitment = self.commitment * F.mse_loss(z, quantized.detach())
        quantized = z + (quantized - z).detach()  # straight-through: forward q, gradient of z
        entropy = z.new_zeros(())
        if self.entropy_weight > 0:
            soft = torch.softmax(similarity.reshape(-1, self.num_codes) / self.temperature, dim=-1)  # (N, A)
            per_vector = -(soft * torch.log(soft + 1e-10)).sum(-1).mean()
            mean_soft = soft.mean(0)  # (A,)
            batch = -(mean_soft * torch.log(mean_soft + 1e-10)).sum()
            entropy = self.entropy_weight * (per_vector - batch)
        probs = onehot.mean(0)  # (A,)
        perplexity = torch.exp(-(probs * torch.log(probs + 1e-10)).sum())
        usage = (probs > 0).float().mean()
        return QuantizerResult(quantized, codes, commitment, entropy, perplexity.detach(), usage)

    @torch.no_grad()
    def _init_from(self, flat_z: Tensor) -> None:
        """Farthest-point pick of A codes among the first batch's vectors (distinct codes that the data uses)."""
        if flat_z.shape[0] < self.num_codes:
            return
        chosen = [int(torch.randint(0, flat_z.shape[0], ()))]
        nearest = flat_z @ flat_z[chosen[0]]  # (N,) similarity to the closest chosen code
        for _ in range(self.num_codes - 1):
            chosen.append(int(nearest.argmin()))
            nearest = torch.maximum(nearest, flat_z @ flat_z[chosen[-1]])
        codes = flat_z[chosen]  # (A, C)
        if dist.is_available() and dist.is_initialized():
            dist.broadcast(codes, src=0)
        self.codebook.copy_(codes)
        self.ema_sum.copy_(codes)
        self.ema_count.fill_(1.0)
        self.initialized.fill_(True)

    @torch.no_grad()
    def _update(self, flat_z: Tensor, onehot: Tensor) -> None:
        counts = _all_reduce(onehot.sum(0))  # (A,)
        sums = _all_reduce(onehot.t() @ flat_z)  # (A, C)
        self.ema_count.mul_(self.decay).add_(counts, alpha=1 - self.decay)
        self.ema_sum.mul_(self.decay).add_(sums, alpha=1 - self.decay)
        self.codebook.copy_(F.normalize(self.ema_sum, dim=-1))
        self._reset_dead(flat_z)

    @torch.no_grad()
    def _reset_dead(self, flat_z: Tensor) -> None:
        dead = self.ema_count < self.dead_fraction * self.ema_count.mean()  # (A,)
        n_dead = int(dead.sum())
        if n_dead == 0 or flat_z.shape[0] == 0:
            return
        pick = torch.randint(0, flat_z.shape[0], (n_dead,), device=flat_z.device)
        fresh = F.normalize(flat_z[pick] + 0.01 * torch.randn_like(flat_z[pick]), dim=-1)  # (n_dead, C)
        if dist.is_available() and dist.is_initialized():
            dist.broadcast(fresh, src=0)
        mean_count = self.ema_count.mean()
        self.codebook[dead] = fresh
        self.ema_sum[dead] = fresh * mean_count
        self.ema_count[dead] = mean_count  # a fair share, so the fresh code is not reset again at once
