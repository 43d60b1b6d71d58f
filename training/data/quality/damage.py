"""Mild damage for training labels: one defect at a time, at the levels real transfers have it.

The synthetic corpus damages a piece with 1-3 strong defects (training/data/synth/degrade.py); a filter
trained only on those learns to spot wrecks and lets through what real collections mostly hold: one mild
defect. These are the same defects at gentle levels, each alone:

- band_limit: a transfer that stops at 4-6 kHz (a steep low-pass, nothing else changed);
- crackle: light surface noise, 5-30 small clicks per second and no loud pops;
- hiss: tape hiss 36-44 dB under the music;
- hum: 50 or 60 Hz mains hum with its harmonics, 30-40 dB under the music.

`damage_mild(x, sr, kind, rng)` applies one, keeping the peak level of the clean audio.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from training.data.synth import degrade

MILD: dict[str, Callable[[np.ndarray, int, np.random.Generator], np.ndarray]] = {
    "band_limit": functools.partial(degrade.band_limit, low=None, high=(4000, 6000), order=8),
    "crackle": functools.partial(degrade.crackle, rate=(5, 30), size=(0.01, 0.03), pops=False),
    "hiss": functools.partial(degrade.hiss, db=(36, 44)),
    "hum": functools.partial(degrade.hum, db=(30, 40)),
}


def damage_mild(x: np.ndarray, sample_rate: int, kind: str, rng: np.random.Generator) -> np.ndarray:
    """(N,) audio -> (N,) float32 with one mild defect of `kind` (a key of MILD), at the clean peak level."""
    if kind not in MILD:
        raise ValueError(f"unknown damage {kind!r}; one of {sorted(MILD)}")
    clean = np.asarray(x, dtype=np.float64)
    out = MILD[kind](clean, sample_rate, rng)
    peak = float(np.abs(out).max())
    return (out * (float(np.abs(clean).max()) / peak if peak > 0 else 1.0)).astype(np.float32)
