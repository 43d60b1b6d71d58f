"""Exponential moving average of a model's weights (the weights that get sampled, evaluated and exported).

Parameters are averaged in float32; buffers (norm statistics, EMA codebooks) are copied, since they are
already running statistics and averaging them again would only make them lag.
"""

from __future__ import annotations

import copy

import torch


class EMA:
    """`ema <- decay_n * ema + (1 - decay_n) * param` with a warm-up `decay_n = min(decay, (1 + n) / (10 + n))`.

    The warm-up (n = updates so far) lets the average follow the fast early changes instead of holding on
    to the random initialisation for ~1 / (1 - decay) steps.
    """

    def __init__(self, model: torch.nn.Module, decay: float) -> None:
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"EMA decay must be in [0, 1), got {decay}")
        self.decay = decay
        self.updates = 0
        self.model = copy.deepcopy(model).eval().requires_grad_(False)

    def current_decay(self) -> float:
        """The decay the next update uses."""
        return min(self.decay, (1 + self.updates) / (10 + self.updates))

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        """Move the average one step toward `model` (same architecture as the one it was built from)."""
        weight = 1.0 - self.current_decay()
        ema_params = list(self.model.parameters())
        params = [p.detach() for p in model.parameters()]
        if ema_params:
            torch._foreach_lerp_(ema_params, params, weight)
        for ema_buffer, buffer in zip(self.model.buffers(), model.buffers(), strict=True):
            ema_buffer.copy_(buffer)
        self.updates += 1
