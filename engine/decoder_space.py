"""The tokenizer decoder's diffusion space, in numpy: what the engine noises, re-imposes and decodes from.

forward(audio) = compand(preemphasis(audio, emphasis) * scale): pre-emphasis flattens music's ~25 dB
bass-to-treble tilt (`engine/emphasis.py`); `scale` sets the level against unit noise; companding raises
each MDCT coefficient's magnitude to the power `compand` (< 1), keeping its sign, so a coefficient 60 dB
down is 30 dB down at 0.5: the white diffusion noise and the L2 loss then weigh quiet passages and quiet
bands nearly as much as loud ones (what a log-spectral ear hears), and the expansion |y|^(1 / compand)
pushes any residual noise the decoder leaves back towards silence. `compand == 1` is the linear space of
bundles made before it. The torch tokenizer (`Tokenizer.to_diffusion`) computes the same function.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine import mdct
from engine.emphasis import deemphasis, preemphasis


@dataclass(frozen=True)
class DecoderSpace:
    emphasis: float = 0.0  # pre-emphasis coefficient a (0 = none)
    scale: float = 1.0  # multiplier after pre-emphasis
    compand: float = 1.0  # exponent on the MDCT coefficients (1 = linear)
    bins: int = 0  # MDCT bins per frame the companding works on (the tokenizer's patch); unused when linear

    def __post_init__(self) -> None:
        if not 0.0 < self.compand <= 1.0:
            raise ValueError(f"compand must be in (0, 1], got {self.compand}")
        if self.compand != 1.0 and (self.bins < 2 or self.bins % 2):
            raise ValueError(f"companding needs an even number of MDCT bins (compand_bins), got {self.bins}")

    def forward(self, audio: np.ndarray) -> np.ndarray:
        """Audio (..., N) -> decoder space (..., N) float32; N a multiple of `bins` when companding."""
        emphasised = preemphasis(np.asarray(audio, np.float32), self.emphasis) * np.float32(self.scale)
        return _power(emphasised, self.compand, self.bins)

    def inverse(self, decoded: np.ndarray) -> np.ndarray:
        """Decoder space (..., N) -> audio (..., N) float32: expand, unscale, de-emphasise."""
        emphasised = _power(np.asarray(decoded, np.float32), 1.0 / self.compand, self.bins)
        return deemphasis(emphasised / np.float32(self.scale), self.emphasis)


def _power(x: np.ndarray, exponent: float, bins: int) -> np.ndarray:
    """sign(c) |c|^exponent on the MDCT coefficients of x (..., N); x itself when exponent == 1."""
    if exponent == 1.0:
        return x
    c = mdct.analysis(x, bins)  # (..., P, L)
    return mdct.synthesis(np.sign(c) * np.abs(c) ** np.float32(exponent), bins).astype(np.float32)
