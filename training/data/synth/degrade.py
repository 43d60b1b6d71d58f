"""Old-recording damage: crackle, hiss, hum, band-limiting, wow/flutter, clipping.

A damaged piece gets 1-3 of these, applied in playback-chain order (the medium's band limit and speed
wobble, then an overdriven stage, then noises added on top) and labelled so the data filter can learn them.
Every function maps (N,) float audio to (N,) float audio.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.signal import butter, sosfilt

from training.data.annotations import DEGRADATIONS


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x**2)) + 1e-9)


def band_limit(
    x: np.ndarray,
    sr: int,
    rng: np.random.Generator,
    low: tuple[float, float] | None = (150, 350),
    high: tuple[float, float] = (2500, 4500),
    order: int = 4,
) -> np.ndarray:
    """Shellac/AM-radio bandwidth: low cut 150-350 Hz (None: no low cut), high cut 2.5-4.5 kHz."""
    nyq = 0.5 * sr
    lo = None if low is None else rng.uniform(*low)
    hi = min(rng.uniform(*high), 0.9 * nyq)
    if lo is None:
        return sosfilt(butter(order, hi / nyq, btype="lowpass", output="sos"), x)
    return sosfilt(butter(order, [lo / nyq, hi / nyq], btype="bandpass", output="sos"), x)


def wow_flutter(x: np.ndarray, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Slow (wow, 0.3-0.9 Hz) and fast (flutter, 5-10 Hz) speed wobble of a worn turntable or tape."""
    t = np.arange(len(x)) / sr
    wow_rate, flutter_rate = rng.uniform(0.3, 0.9), rng.uniform(5, 10)
    wow = rng.uniform(0.004, 0.008) / (2 * np.pi * wow_rate)  # peak pitch deviation 0.4-0.8 %
    flutter = rng.uniform(0.001, 0.003) / (2 * np.pi * flutter_rate)
    delay = wow * np.sin(2 * np.pi * wow_rate * t) + flutter * np.sin(2 * np.pi * flutter_rate * t)  # seconds
    return np.interp(t + delay, t, x)


def clipping(x: np.ndarray, sr: int, rng: np.random.Generator) -> np.ndarray:
    """An overdriven preamp: drive 3-8x into a hard clip."""
    peak = float(np.abs(x).max()) + 1e-9
    return np.clip(x / peak * rng.uniform(3, 8), -1, 1) * peak


def hum(x: np.ndarray, sr: int, rng: np.random.Generator, db: tuple[float, float] = (20, 30)) -> np.ndarray:
    """Mains hum at 50 or 60 Hz with harmonics, 20-30 dB (`db`) under the music."""
    t = np.arange(len(x)) / sr
    f = 50.0 if rng.random() < 0.5 else 60.0
    tone = sum(np.sin(2 * np.pi * f * k * t + rng.uniform(0, 6.3)) / k for k in (1, 2, 3, 5))
    return x + tone / _rms(tone) * _rms(x) * 10 ** (-rng.uniform(*db) / 20)


def hiss(x: np.ndarray, sr: int, rng: np.random.Generator, db: tuple[float, float] = (18, 28)) -> np.ndarray:
    """Tape/surface hiss: bright noise 18-28 dB (`db`) under the music."""
    noise = sosfilt(butter(2, 1500 / (0.5 * sr), btype="highpass", output="sos"), rng.standard_normal(len(x)))
    return x + noise / _rms(noise) * _rms(x) * 10 ** (-rng.uniform(*db) / 20)


def crackle(
    x: np.ndarray,
    sr: int,
    rng: np.random.Generator,
    rate: tuple[float, float] = (20, 80),
    size: tuple[float, float] = (0.03, 0.08),
    pops: bool = True,
) -> np.ndarray:
    """Record crackle: 20-80 (`rate`) clicks per second of random size (3-8 % of the peak on average:
    `size`), plus a few loud pops."""
    n = len(x)
    clicks = np.zeros(n)
    count = int(rng.uniform(*rate) * n / sr)
    where = rng.integers(0, n, count)
    clicks[where] = rng.exponential(1.0, count) * rng.choice([-1, 1], count)
    if pops:
        loud = rng.integers(0, n, max(1, n // (2 * sr)))
        clicks[loud] = 8 * rng.choice([-1, 1], len(loud))
    clicks = sosfilt(butter(2, 800 / (0.5 * sr), btype="highpass", output="sos"), clicks)
    return x + clicks * float(np.abs(x).max()) * rng.uniform(*size)


DAMAGE: dict[str, Callable[[np.ndarray, int, np.random.Generator], np.ndarray]] = {
    "band_limit": band_limit,
    "wow_flutter": wow_flutter,
    "clipping": clipping,
    "hum": hum,
    "hiss": hiss,
    "crackle": crackle,
}


def damage(x: np.ndarray, sr: int, rng: np.random.Generator) -> tuple[np.ndarray, list[str]]:
    """Apply 1-3 random degradations; returns the audio and their names (in DEGRADATIONS order)."""
    count = int(rng.choice([1, 2, 3], p=[0.3, 0.45, 0.25]))
    names = [str(n) for n in rng.choice(list(DAMAGE), size=count, replace=False)]
    for name in DAMAGE:  # playback-chain order
        if name in names:
            x = DAMAGE[name](x, sr, rng)
    return x, sorted(names, key=DEGRADATIONS.index)
