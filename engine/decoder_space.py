"""The tokenizer decoder's diffusion space, in numpy: what the engine noises, re-imposes and decodes from.

forward(audio) = compand(preemphasis(audio, emphasis) * scale): pre-emphasis flattens music's ~25 dB
bass-to-treble tilt (`engine/emphasis.py`); `scale` sets the level against unit noise; companding raises
each MDCT coefficient's magnitude to the power `compand` (< 1), keeping its sign, so a coefficient 60 dB
down is 30 dB down at 0.5: the white diffusion noise and the L2 loss then weigh quiet passages and quiet
bands nearly as much as loud ones (what a log-spectral ear hears), and the expansion |y|^(1 / compand)
pushes any residual noise the decoder leaves back towards silence. `compand == 1` is the linear space of
bundles made before it. The torch tokenizer (`Tokenizer.to_diffusion`) computes the same function.

With `window` > 1 the companding gain is smooth: the space's coefficients y expand to
c = y (box(|y|) + FLOOR)^(1 / compand - 1), box the mean over `window` bins x `window` frames, so a partial
keeps one gain across its neighbours and an estimate right in level but wrong in detail (what a generative
decoder makes) expands to less spectral damage than under a per-coefficient power (window 1, where the
same formula with no floor is exactly sign(y) |y|^(1 / compand)). The forward has no closed form: it solves
c = y g(y) for y by a damped fixed point on the gain (`ROUNDS` rounds, residual < 1e-6).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine import mdct
from engine.emphasis import deemphasis, preemphasis

FLOOR = 1e-3  # added to the smooth gain's local level, so digital silence maps to 0 and back
ROUNDS = 20  # fixed-point rounds of the smooth forward


@dataclass(frozen=True)
class DecoderSpace:
    emphasis: float = 0.0  # pre-emphasis coefficient a (0 = none)
    scale: float = 1.0  # multiplier after pre-emphasis
    compand: float = 1.0  # exponent on the MDCT coefficients (1 = linear)
    bins: int = 0  # MDCT bins per frame the companding works on (the tokenizer's patch); unused when linear
    window: int = 1  # bins x frames the companding gain averages over (1 = per coefficient); odd

    def __post_init__(self) -> None:
        if not 0.0 <= self.emphasis < 1.0:  # a = 1 would make the de-emphasis an unstable integrator
            raise ValueError(f"emphasis must be in [0, 1), got {self.emphasis}")
        if not 0.0 < self.compand <= 1.0:
            raise ValueError(f"compand must be in (0, 1], got {self.compand}")
        if self.compand != 1.0 and (self.bins < 2 or self.bins % 2):
            raise ValueError(f"companding needs an even number of MDCT bins (compand_bins), got {self.bins}")
        if self.window < 1 or self.window % 2 == 0:
            raise ValueError(
                f"the companding window must be odd and >= 1 (compand_window), got {self.window}"
            )
        if self.window > 1 and self.compand < 0.5:  # the forward's fixed point stops contracting below 0.5
            raise ValueError(
                f"smooth companding (window {self.window}) needs compand >= 0.5, got {self.compand}"
            )

    def forward(self, audio: np.ndarray) -> np.ndarray:
        """Audio (..., N) -> decoder space (..., N) float32; N a multiple of `bins` when companding."""
        emphasised = preemphasis(np.asarray(audio, np.float32), self.emphasis) * np.float32(self.scale)
        if self.compand == 1.0:
            return emphasised
        c = mdct.analysis(emphasised, self.bins)  # (..., P, L)
        if self.window == 1:
            return mdct.synthesis(np.sign(c) * np.abs(c) ** np.float32(self.compand), self.bins)
        power, magnitude = 1.0 / self.compand - 1.0, np.abs(c)
        gain = (_box(magnitude, self.window) + FLOOR) ** (power / (power + 1.0))  # |y| ~ |c|^compand
        for _ in range(ROUNDS):
            new = self._gain(magnitude / gain)
            gain = np.sqrt(np.sqrt(gain * new * new * new))  # damped 1/4: fastest for compand 0.5, 3 x 3 box
        return mdct.synthesis(c / gain, self.bins).astype(np.float32)

    def inverse(self, decoded: np.ndarray) -> np.ndarray:
        """Decoder space (..., N) -> audio (..., N) float32: expand, unscale, de-emphasise."""
        emphasised = np.asarray(decoded, np.float32)
        if self.compand != 1.0:
            y = mdct.analysis(emphasised, self.bins)  # (..., P, L)
            emphasised = mdct.synthesis(y * self._gain(np.abs(y)), self.bins).astype(np.float32)
        return deemphasis(emphasised / np.float32(self.scale), self.emphasis)

    def _gain(self, magnitude: np.ndarray) -> np.ndarray:
        """The expansion's gain on coefficients of magnitude |y| (..., P, L): (box(|y|) + floor)^(1/compand - 1)."""
        if self.window == 1:
            return magnitude ** np.float32(1.0 / self.compand - 1.0)
        return (_box(magnitude, self.window) + np.float32(FLOOR)) ** np.float32(1.0 / self.compand - 1.0)


def _box(x: np.ndarray, window: int) -> np.ndarray:
    """Mean of x (..., P, L) over window x window neighbours, edges repeated."""
    r = window // 2
    padded = np.pad(x, [(0, 0)] * (x.ndim - 2) + [(r, r), (r, r)], mode="edge")
    p, n = x.shape[-2:]
    total = sum(padded[..., i : i + p, j : j + n] for i in range(window) for j in range(window))
    return total / np.float32(window * window)
