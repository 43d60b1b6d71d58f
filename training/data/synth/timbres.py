"""Pitched instrument timbres: wavetable oscillators with per-instrument spectra and envelopes.

Each voice renders one note of a fixed maximum length for (midi, brightness, sample rate); results are
cached, so a piece costs one table lookup per sample per note and repeated notes cost a copy. A note is a
pure function of its cache key, which keeps the corpus deterministic however pieces are spread over workers.
Brightness 0..2 follows the dynamics: louder playing has more upper harmonics.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.signal import butter, sosfilt

TABLE_SIZE = 4096
_PHASES = np.arange(TABLE_SIZE) / TABLE_SIZE  # (S,)


def midi_hz(midi: float) -> float:
    return 440.0 * 2.0 ** ((midi - 69.0) / 12.0)


def _table(amps: np.ndarray) -> np.ndarray:
    """One period of a sum of harmonics k = 1..K with amplitudes `amps` (K,), peak-normalised."""
    k = np.arange(1, len(amps) + 1)
    table = np.sin(2 * np.pi * np.outer(k, _PHASES)).T @ amps  # (S,)
    return (table / max(np.abs(table).max(), 1e-9)).astype(np.float32)


def _harmonics(freq: float, sr: int, limit_hz: float, most: int = 48) -> np.ndarray:
    """Harmonic numbers 1..K whose frequencies stay below `limit_hz` and Nyquist."""
    count = int(min(most, max(1, min(limit_hz, 0.45 * sr) // freq)))
    return np.arange(1, count + 1, dtype=np.float64)


def _osc(
    table: np.ndarray, freq: float, n: int, sr: int, vibrato: float = 0.0, rate: float = 5.0
) -> np.ndarray:
    """Read `table` at `freq` Hz for n samples, with optional vibrato (fractional depth)."""
    t = np.arange(n) / sr
    phase = freq * t
    if vibrato:
        onset = np.minimum(t / 0.25, 1.0)  # vibrato blooms after the attack, as players do
        phase = phase + onset * freq * vibrato * np.sin(2 * np.pi * rate * t) / (2 * np.pi * rate)
    idx = ((phase % 1.0) * TABLE_SIZE).astype(np.int64)
    return table[idx]


def _noise(seed: int, n: int, sr: int, lo: float, hi: float) -> np.ndarray:
    """Band-passed noise: kept below 4 kHz so the cymbals own the top octave of the spectrum."""
    white = np.random.default_rng(seed).standard_normal(n)
    sos = butter(2, [lo / (0.5 * sr), min(hi / (0.5 * sr), 0.95)], btype="bandpass", output="sos")
    return sosfilt(sos, white).astype(np.float32)


def _attack(n: int, sr: int, seconds: float) -> np.ndarray:
    return np.minimum(np.arange(n) / max(1.0, seconds * sr), 1.0)


def _piano(midi: int, bright: int, sr: int, n: int) -> np.ndarray:
    f = midi_hz(midi)
    t = np.arange(n) / sr
    k = _harmonics(f, sr, 3000 + 500 * bright)
    strike = np.abs(np.sin(np.pi * k / 7.3)) + 0.2  # hammer a seventh of the way along the string
    hi = _table(strike / k ** (1.6 - 0.25 * bright))
    lo = _table(1.0 / k[:4] ** 2.2)
    decay = 1.8 * 2 ** ((48 - midi) / 24)  # lower strings ring longer
    body = _osc(hi, f, n, sr) * np.exp(-t / (0.18 * decay)) + _osc(lo, f * 1.0012, n, sr) * np.exp(-t / decay)
    hammer = _noise(midi, n, sr, 200, 3000) * np.exp(-t / 0.004) * 0.3
    return (body * _attack(n, sr, 0.002) + hammer).astype(np.float32)


def _pluck(f: float, bright: int, sr: int, n: int, ring: float, position: float, limit: float) -> np.ndarray:
    t = np.arange(n) / sr
    k = _harmonics(f, sr, limit + 1000 * bright)
    comb = np.abs(np.sin(np.pi * k * position)) + 0.05  # pluck position notches harmonics
    hi = _table(comb / k ** (1.3 - 0.2 * bright))
    lo = _table(comb[:3] / k[:3] ** 1.5)
    return _osc(hi, f, n, sr) * np.exp(-t / (0.12 * ring)) + _osc(lo, f, n, sr) * np.exp(-t / ring)


def _guitar(midi: int, bright: int, sr: int, n: int) -> np.ndarray:
    """Archtop rhythm guitar: dark and short, more thud than ring."""
    out = _pluck(midi_hz(midi), bright, sr, n, ring=0.35, position=0.25, limit=1200)
    return (out * _attack(n, sr, 0.003)).astype(np.float32)


def _guitar_lead(midi: int, bright: int, sr: int, n: int) -> np.ndarray:
    """Hollow-body single-note lines: warm, round, a slow vibrato-free decay."""
    f = midi_hz(midi)
    t = np.arange(n) / sr
    out = _pluck(f, bright, sr, n, ring=1.2, position=0.12, limit=1800)
    body = np.sin(2 * np.pi * f * t) * np.exp(-t / 0.8) * 0.5  # the warm fundamental of a neck pickup
    return ((out + body) * _attack(n, sr, 0.004)).astype(np.float32)


def _bass(midi: int, bright: int, sr: int, n: int) -> np.ndarray:
    f = midi_hz(midi)
    t = np.arange(n) / sr
    out = _pluck(f, bright, sr, n, ring=0.9, position=0.22, limit=900)
    thump = np.sin(2 * np.pi * f * 0.5 * t) * np.exp(-t / 0.03) * 0.3  # finger on the string
    return ((out + thump) * _attack(n, sr, 0.004)).astype(np.float32)


def _formant(freqs: np.ndarray, centre: float, width: float) -> np.ndarray:
    return np.exp(-0.5 * (np.log2(freqs / centre) / width) ** 2)


def _sax(midi: int, bright: int, sr: int, n: int) -> np.ndarray:
    f = midi_hz(midi)
    t = np.arange(n) / sr
    k = _harmonics(f, sr, 4000)
    amps = (0.3 + _formant(k * f, 600 + 250 * bright, 0.9) + 0.4 * _formant(k * f, 2000, 0.4)) / k**0.6
    tone = _osc(_table(amps), f, n, sr, vibrato=0.006, rate=5.2)
    breath = _noise(1000 + midi, n, sr, 700, 3500) * 0.06 * (1 + bright)
    env = _attack(n, sr, 0.035) * (0.85 + 0.15 * np.exp(-t / 0.3))
    return ((tone + breath) * env).astype(np.float32)


def _trumpet(midi: int, bright: int, sr: int, n: int) -> np.ndarray:
    f = midi_hz(midi)
    k = _harmonics(f, sr, 4000)
    warm = _table(_formant(k * f, 1000, 0.8) / k**0.8)
    brass = _table((_formant(k * f, 1400 + 400 * bright, 1.0) + 0.2) / k ** (0.5 - 0.15 * bright))
    bloom = _attack(n, sr, 0.06)  # brass brightens as the lips lock in
    tone = _osc(warm, f, n, sr, 0.004, 5.6) * (1 - 0.7 * bloom) + _osc(brass, f, n, sr, 0.004, 5.6) * bloom
    return (tone * _attack(n, sr, 0.02)).astype(np.float32)


def _vibes(midi: int, bright: int, sr: int, n: int) -> np.ndarray:
    f = midi_hz(midi)
    t = np.arange(n) / sr
    bar = np.sin(2 * np.pi * f * t) * np.exp(-t / 1.1)
    overtone = (
        np.sin(2 * np.pi * 3.98 * f * t) * np.exp(-t / 0.12) * (0.25 + 0.15 * bright) * (3.98 * f < 4000)
    )
    if 10 * f < 0.45 * sr:
        overtone = overtone + np.sin(2 * np.pi * 9.9 * f * t) * np.exp(-t / 0.03) * 0.1 * bright
    tremolo = 1.0 - 0.35 * (0.5 + 0.5 * np.sin(2 * np.pi * 5.5 * t))  # the motor-driven fans
    mallet = _noise(2000 + midi, n, sr, 300, 3000) * np.exp(-t / 0.002) * 0.2
    return ((bar * tremolo + overtone) * _attack(n, sr, 0.001) + mallet).astype(np.float32)


@dataclass(frozen=True)
class Voice:
    render: object  # (midi, bright, sr, n) -> (n,) float32
    seconds: float  # longest note the voice renders
    release: float  # fade applied when a note is cut short
    gain: float  # mix balance
    lowest: int  # playable MIDI range
    highest: int


VOICES = {
    "piano": Voice(_piano, 1.6, 0.05, 0.09, 36, 96),
    "guitar": Voice(_guitar, 1.0, 0.04, 0.15, 36, 88),
    "guitar_lead": Voice(_guitar_lead, 1.8, 0.05, 0.35, 45, 88),
    "bass": Voice(_bass, 1.4, 0.03, 0.4, 24, 60),
    "sax": Voice(_sax, 1.8, 0.05, 1.0, 44, 82),
    "trumpet": Voice(_trumpet, 1.8, 0.04, 0.8, 52, 86),
    "vibes": Voice(_vibes, 2.0, 0.08, 0.3, 53, 91),
}


def instrument_of(voice: str) -> str:
    """The annotated instrument a voice plays (the lead guitar is the guitar)."""
    return "guitar" if voice == "guitar_lead" else voice


@lru_cache(maxsize=2048)
def note(voice: str, midi: int, bright: int, sr: int) -> np.ndarray:
    """A cached, read-only note of the voice's maximum length."""
    spec = VOICES[voice]
    midi = int(np.clip(midi, spec.lowest, spec.highest))
    out = spec.render(midi, int(bright), sr, int(spec.seconds * sr))
    out.setflags(write=False)
    return out


def place(buf: np.ndarray, voice: str, midi: int, start: float, dur: float, vel: float, sr: int) -> None:
    """Add one note into `buf` (N,) at `start` seconds, cut to `dur` with the voice's release fade."""
    spec = VOICES[voice]
    bright = int(np.clip(vel * 3, 0, 2))
    sample = note(voice, midi, bright, sr)
    i0 = int(round(start * sr))
    n = min(len(sample), int(dur * sr), len(buf) - i0)
    if n <= 0 or i0 < 0:
        return
    seg = sample[:n] * (spec.gain * vel**1.5)
    r = min(n, int(spec.release * sr))
    seg[n - r :] *= np.linspace(1.0, 0.0, r, dtype=np.float32)
    buf[i0 : i0 + n] += seg
