"""Flow matching, model-agnostic: the path, time sampling, DiTo's noise synchronisation and the loss.

Convention (docs/interfaces.md): `x_t = (1 - t) * x0 + t * noise`, t in [0, 1], t=1 pure noise; networks
predict `v = noise - x0`. The sampler lives in `engine.sampling` (re-exported here) so training evaluation
and the torch-free engine integrate with one implementation.

Papers: flow matching / rectified flow (https://arxiv.org/abs/2210.02747, https://arxiv.org/abs/2209.03003),
logit-normal time sampling (SD3, https://arxiv.org/abs/2403.03206), noise synchronisation (DiTo,
https://arxiv.org/abs/2501.18593).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from engine.sampling import sample, timesteps

__all__ = ["FlowConfig", "add_noise", "flow_loss", "sample", "sample_time", "synchronise_noise", "timesteps"]


@dataclass
class FlowConfig:
    time_mean: float = 0.0  # logit-normal location of training levels t (0 = centred on t=0.5)
    time_std: float = 1.0  # logit-normal spread of training levels t
    noise_sync_prob: float = 0.1  # DiTo: fraction of samples whose latents are noised too (0 turns it off)
    # 0.25 trained the tokenizer faster early (1000 steps: held-out log-mel 0.924 vs 0.969); no gain was
    # seen at full length, so it is off by default.
    loss_t_floor: float = 0.0  # levels below this weigh like this level in the loss (Min-SNR cap; 0 = off)


def sample_time(batch: int, config: FlowConfig, generator: torch.Generator | None = None) -> torch.Tensor:
    """Training levels t (B,) in (0, 1) from a logit-normal distribution."""
    u = torch.randn(batch, generator=generator) * config.time_std + config.time_mean
    return torch.sigmoid(u)  # (B,)


def _expand(t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return t.reshape(-1, *([1] * (like.dim() - 1))).to(like.dtype)


def add_noise(x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """The point x_t = (1 - t) x0 + t noise on the straight path; t (B,) broadcasts over x0 (B, ...)."""
    t = _expand(t, x0)
    return (1 - t) * x0 + t * noise


def synchronise_noise(
    latents: torch.Tensor, t: torch.Tensor, prob: float, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """DiTo's noise synchronisation: with probability `prob` per sample, noise the latents to a level t_z
    ~ U(0, 1) and redraw the decoder's level from U(t_z, 1), so the decoder never sees latents noisier than
    its input. This makes the latent space robust to the noise a downstream generator leaves in it.

    Args:
        latents: (B, T, D) clean latents (gradients flow through the kept part).
        t: (B,) decoder levels.
    Returns:
        (latents, t), both changed only where the coin came up.
    """
    b = latents.shape[0]
    chosen = torch.rand(b, generator=generator) < prob  # (B,)
    t_z = torch.rand(b, generator=generator)  # (B,)
    t_sync = t_z + (1 - t_z) * torch.rand(b, generator=generator)  # (B,) in [t_z, 1]
    noisy = add_noise(
        latents, torch.randn(latents.shape, generator=generator).to(latents), t_z.to(latents.device)
    )
    mask = _expand(chosen.to(latents.device), latents)
    latents = mask * noisy + (1 - mask) * latents  # (B, T, D)
    t = torch.where(chosen.to(t.device), t_sync.to(t), t)  # (B,)
    return latents, t


def flow_loss(
    velocity_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    x0: torch.Tensor,
    t: torch.Tensor,
    noise: torch.Tensor,
    t_floor: float = 0.0,
) -> torch.Tensor:
    """Mean squared error between `velocity_fn(x_t, t)` and the target velocity `noise - x0`.

    A velocity error is the clean-signal error over t (x0 = x_t - t v), so the plain loss weighs x0 errors
    by 1 / t^2: near t = 0, where x_t already shows nearly everything, that weight swamps the high levels
    where the conditioning has to do the work. `t_floor` > 0 caps it at 1 / t_floor^2 (Min-SNR weighting,
    https://arxiv.org/abs/2303.09556); the model and its sampler are unchanged.
    """
    v = velocity_fn(add_noise(x0, noise, t), t)
    error = (v.float() - (noise - x0).float()).pow(2)  # (B, ...)
    if t_floor > 0:
        error = error * _expand(t / t.clamp(min=t_floor), error).pow(2)
    return error.mean()
