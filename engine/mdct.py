"""The MDCT with circular ends in numpy: the transform the tokenizer's patchify and companding use.

The modified discrete cosine transform with a sine window is a lapped orthogonal transform (Princen and
Bradley's time-domain aliasing cancellation): `P` coefficients per hop of `P` samples, each frame reading
2P samples. With circular extension at the ends, analysis is an orthogonal N x N matrix and synthesis its
transpose. `training/models/mdct.py` runs the same basis as a fixed torch conv.
Letters: N samples (a multiple of P), P bins = hop, L = N // P frames.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


@lru_cache(maxsize=16)
def _basis(hop: int, dtype: str) -> np.ndarray:
    """The basis in `dtype`, built once per (hop, dtype): the cosines cost more than a transform."""
    basis = mdct_basis(hop).astype(dtype)
    basis.flags.writeable = False
    return basis


def mdct_basis(hop: int) -> np.ndarray:
    """(P, 2P) float64 sine-windowed MDCT basis, scaled so analysis with circular extension is orthogonal."""
    if hop < 2 or hop % 2:
        raise ValueError(f"MDCT hop must be even and >= 2, got {hop}")
    n = np.arange(2 * hop)
    k = np.arange(hop)
    window = np.sin(np.pi * (n + 0.5) / (2 * hop))
    phase = np.pi / hop * (n[None] + 0.5 + hop / 2) * (k[:, None] + 0.5)
    return np.sqrt(2 / hop) * window[None] * np.cos(phase)


def analysis(x: np.ndarray, hop: int) -> np.ndarray:
    """(..., N) -> (..., P, L); frame m reads samples [mP - P/2, mP + 3P/2), wrapping at the ends."""
    if x.shape[-1] % hop:
        raise ValueError(f"MDCT input length {x.shape[-1]} is not a multiple of the hop {hop}")
    half = hop // 2
    padded = np.concatenate([x[..., -half:], x, x[..., :half]], axis=-1)  # (..., N + P)
    frames = sliding_window_view(padded, 2 * hop, axis=-1)[..., ::hop, :]  # (..., L, 2P)
    return np.swapaxes(frames @ _basis(hop, x.dtype.str).T, -1, -2)  # (..., P, L): a BLAS matmul


def synthesis(coefficients: np.ndarray, hop: int) -> np.ndarray:
    """(..., P, L) -> (..., L * P): overlap-add, the halves that ran past either end folded back."""
    frames = np.swapaxes(coefficients, -1, -2) @ _basis(hop, coefficients.dtype.str)  # (..., L, 2P)
    return overlap_add(frames, hop)


def overlap_add(frames: np.ndarray, hop: int) -> np.ndarray:
    """Synthesised frames (..., L, 2P) -> (..., L * P), the halves that ran past either end folded back."""
    *lead, length, _ = frames.shape  # (..., L, 2P)
    out = np.zeros((*lead, (length + 1) * hop), frames.dtype)  # (..., (L + 1) P)
    out[..., : length * hop] += frames[..., :hop].reshape(*lead, length * hop)
    out[..., hop:] += frames[..., hop:].reshape(*lead, length * hop)
    half = hop // 2
    body = out[..., half:-half].copy()  # (..., L P)
    body[..., :half] += out[..., -half:]  # the overflow past the end wraps to the start
    body[..., -half:] += out[..., :half]  # and the overflow before the start to the end
    return body
