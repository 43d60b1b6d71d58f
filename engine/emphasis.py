"""Pre-emphasis of the tokenizer decoder's diffusion space, and its inverse, in numpy (no torch).

The decoder's flow runs on `preemphasis(audio) * audio_scale`, y[n] = x[n] - a x[n-1]: music's spectrum falls
by ~25 dB from the bass to 4 kHz and the first-order filter with a ~ 0.9 undoes most of that tilt, so the
white diffusion noise and the L2 loss weigh treble like bass (without it the loss is all bass, and the
decoder leaves hiss in the bands it never learned to clean). `deemphasis` inverts it with the filter's
impulse response a^k, truncated where it falls below `TOLERANCE`, as one causal FIR; the torch tokenizer
convolves with the same kernel so training, export parity and the engine agree.
"""

from __future__ import annotations

import math

import numpy as np

TOLERANCE = 1e-7  # the de-emphasis kernel stops where a^k drops below this


def deemphasis_kernel(coefficient: float) -> np.ndarray:
    """(K,) float32 impulse response a^k of 1 / (1 - a z^-1), truncated at TOLERANCE; [1] when a == 0."""
    if not 0.0 <= coefficient < 1.0:
        raise ValueError(f"emphasis coefficient must be in [0, 1), got {coefficient}")
    if coefficient == 0.0:
        return np.ones(1, np.float32)
    taps = int(math.ceil(math.log(TOLERANCE) / math.log(coefficient)))
    return (coefficient ** np.arange(taps)).astype(np.float32)


def preemphasis(audio: np.ndarray, coefficient: float) -> np.ndarray:
    """y[n] = x[n] - a x[n-1] along the last axis (x[-1] = 0); same shape and dtype."""
    out = np.array(audio, copy=True)
    out[..., 1:] -= np.asarray(coefficient, out.dtype) * audio[..., :-1]
    return out


def deemphasis(emphasised: np.ndarray, coefficient: float) -> np.ndarray:
    """Inverse of `preemphasis` (to within TOLERANCE) along the last axis; same shape, float32."""
    kernel = deemphasis_kernel(coefficient)
    rows = np.asarray(emphasised, np.float32).reshape(-1, emphasised.shape[-1])
    out = np.stack([np.convolve(row, kernel)[: row.size] for row in rows])
    return out.reshape(emphasised.shape).astype(np.float32)
