"""The drum kit (ride, hi-hat, snare, kick, crash; sticks or brushes) and its patterns.

Patterns: "swing" (spang-a-lang ride, hi-hat on 2 and 4, feathered kick, snare chatter), "double_time" (the
ride and hi-hat at twice the density, snare on the off-beats), "stop_time" (the band hits beat one of each
bar together, the soloist carries on alone). Brushes replace the ride with swishes and the snare with taps.
Hits are cached per (kind, variant, sample rate) and added into the drum stem.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.signal import butter, sosfilt

from training.data.synth.rhythm import Grid

PATTERNS = ("swing", "double_time", "stop_time")
KITS = ("sticks", "brushes")
KITS_SEED = 7919  # fixed: hits are part of the instrument, not of a piece
VARIANTS = 4  # recorded takes of each hit, so repeats are not machine-identical
KIND_GAIN = {
    "ride": 0.22,
    "hihat": 0.25,
    "snare": 0.4,
    "kick": 0.5,
    "crash": 0.22,
    "tap": 0.35,
    "swish": 0.2,
}


def _band(x: np.ndarray, sr: int, lo: float | None, hi: float | None) -> np.ndarray:
    nyq = 0.5 * sr
    if lo and hi:
        sos = butter(2, [lo / nyq, min(hi / nyq, 0.95)], btype="bandpass", output="sos")
    elif lo:
        sos = butter(2, min(lo / nyq, 0.95), btype="highpass", output="sos")
    else:
        sos = butter(2, min(hi / nyq, 0.95), btype="lowpass", output="sos")
    return sosfilt(sos, x)


def _metal(t: np.ndarray, sr: int, rng: np.random.Generator, base: float) -> np.ndarray:
    """A dozen inharmonic, individually decaying partials of a cymbal, kept below Nyquist."""
    out = np.zeros_like(t)
    for _ in range(12):
        f = base * rng.uniform(0.7, 2.6)
        if f < 0.45 * sr:
            out += np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi)) * np.exp(-t / rng.uniform(0.1, 0.6))
    return out / 12


@lru_cache(maxsize=256)
def hit(kind: str, variant: int, sr: int, length: int = 0) -> np.ndarray:
    """One cached, read-only drum hit (`length` samples for swishes, whose length follows the tempo)."""
    rng = np.random.default_rng([KITS_SEED, list(KIND_GAIN).index(kind), variant, length])
    seconds = {"ride": 0.9, "hihat": 0.12, "snare": 0.3, "kick": 0.4, "crash": 1.6, "tap": 0.2}.get(kind, 0.0)
    n = length or int(seconds * sr)
    t = np.arange(n) / sr
    noise = rng.standard_normal(n)
    if kind == "ride":
        wash = _band(noise, sr, 4000, None) + 0.6 * _metal(t, sr, rng, 3100)
        ping = _band(noise, sr, 2500, 6000) * np.exp(-t / 0.004)
        out = wash * np.exp(-t / 0.45) + ping
    elif kind == "hihat":
        out = _band(noise, sr, 5500, None) * np.exp(-t / 0.025)
    elif kind == "snare":
        body = np.sin(2 * np.pi * 185 * t) * np.exp(-t / 0.04)
        out = body * 0.8 + _band(noise, sr, 1500, 7000) * np.exp(-t / 0.1) * 1.5
    elif kind == "kick":
        sweep = 50 + 70 * np.exp(-t / 0.03)  # the pitch drop of a struck bass drum head
        phase = 2 * np.pi * np.cumsum(sweep) / sr
        out = np.sin(phase) * np.exp(-t / 0.22) + _band(noise, sr, 2000, None) * np.exp(-t / 0.003) * 0.3
    elif kind == "crash":
        out = (_band(noise, sr, 3000, None) + 0.5 * _metal(t, sr, rng, 2700)) * np.exp(-t / 0.9)
    elif kind == "tap":
        out = _band(noise, sr, 1200, 5000) * np.minimum(t / 0.004, 1) * np.exp(-t / 0.07) * 1.5
    elif kind == "swish":
        sweep = np.sin(np.pi * np.arange(n) / max(n, 1)) ** 2  # a brush circling on the head
        out = _band(noise, sr, 2500, 7000) * sweep
    else:
        raise ValueError(f"unknown drum hit {kind!r}")
    out = (out / max(np.abs(out).max(), 1e-9) * KIND_GAIN[kind]).astype(np.float32)
    out.setflags(write=False)
    return out


def pattern_hits(
    pattern: str, kit: str, grid: Grid, start: float, end: float, rng: np.random.Generator
) -> list[tuple[float, str, float]]:
    """(time s, kind, velocity 0..1) for every hit of `pattern` on `kit` in [start, end)."""
    hits: list[tuple[float, str, float]] = []
    brushes = kit == "brushes"
    for b in grid.beats(start, end):
        in_bar = b % 4
        t = grid.time(b)
        backbeat = in_bar in (1, 3)
        if pattern == "stop_time":
            if in_bar == 0:
                hits += [(t, "kick", 0.9), (t, "crash", 0.8), (t, "tap" if brushes else "snare", 0.8)]
            elif in_bar == 3:
                hits.append((t, "hihat", 0.5))
            continue
        if brushes:
            hits.append((t, "swish", 0.7))
            if backbeat:
                hits.append((t, "tap", 0.75))
        else:
            hits.append((t, "ride", 0.85 if backbeat else 0.7))
        if backbeat or pattern == "double_time":
            hits.append((t, "hihat", 0.7))
        hits.append((t, "kick", 0.25 if in_bar % 2 else 0.35))
        off = grid.time(b + 0.5)
        if pattern == "double_time":
            hits.append((off, "swish" if brushes else "ride", 0.75))
            hits.append((off, "tap" if brushes else "snare", 0.55))
        elif backbeat and not brushes:
            hits.append((off, "ride", 0.6))  # the "a-lang" of spang-a-lang
        if pattern == "swing" and not brushes and rng.random() < 0.15:
            hits.append((off, "snare", rng.uniform(0.25, 0.5)))  # comping chatter
        if pattern == "swing" and rng.random() < 0.04:
            hits.append((off, "kick", 0.8))  # a bomb
    return [h for h in hits if start <= h[0] < end]


def place_hit(
    buf: np.ndarray, kind: str, start: float, vel: float, sr: int, variant: int, length: int = 0
) -> None:
    """Add one hit into `buf` (N,) at `start` seconds."""
    sample = hit(kind, variant % VARIANTS, sr, length)
    i0 = int(round(start * sr))
    n = min(len(sample), len(buf) - i0)
    if n > 0:
        buf[i0 : i0 + n] += sample[:n] * vel
