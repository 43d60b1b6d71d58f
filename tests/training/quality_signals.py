"""Small hand-made test music for the quality-filter tests: clean pieces and degraded copies.

A piece is a few harmonic notes with decaying envelopes plus noise-burst hi-hats; degradations imitate old
recordings (crackle, hiss, band limit, hum, clipping). `write_corpus` lays them out like `musegenie synth`
(NAME.wav + NAME.json with a `quality` field + corpus.jsonl) so the annotation paths are exercised too.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from scipy.signal import butter, sosfilt

from engine.audio import save_wav

SR = 16_000
DEGRADATIONS = ("crackle", "hiss", "band_limit", "hum", "clipping")


def piece(seed: int, seconds: float, sr: int = SR) -> np.ndarray:
    """(N,) float32 clean music-like audio."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    t = np.arange(n) / sr
    out = np.zeros(n)
    note = 0.25 + 0.25 * rng.random()
    for start in np.arange(0, seconds, note):
        f0 = 110 * 2 ** (rng.integers(0, 30) / 12)
        i0, i1 = int(start * sr), min(int((start + 4 * note) * sr), n)
        tt = t[i0:i1] - start
        env = np.exp(-tt * (2 + 4 * rng.random())) * np.minimum(
            1.0, np.minimum(tt, tt[-1] - tt) / 0.005
        )  # 5 ms fades
        tone = sum(np.sin(2 * np.pi * f0 * k * tt) / k**1.5 for k in range(1, 12) if f0 * k < sr / 2)
        out[i0:i1] += 0.15 * env * tone
    hat_t = np.arange(int(0.05 * sr)) / sr
    hat = np.exp(-hat_t / 0.01) * np.minimum(1.0, hat_t / 0.001) * rng.standard_normal(hat_t.size)
    for start in np.arange(0, seconds - 0.06, note / 2):
        i0 = int(start * sr)
        out[i0 : i0 + hat.size] += 0.05 * hat
    return (0.5 * out / (np.abs(out).max() + 1e-9)).astype(np.float32)


def degrade(audio: np.ndarray, kind: str, seed: int, sr: int = SR) -> np.ndarray:
    """A degraded copy of (N,) audio."""
    rng = np.random.default_rng(seed)
    x = audio.astype(np.float64)
    if kind == "crackle":
        clicks = np.zeros_like(x)
        where = rng.random(x.size) < 40 / sr  # ~40 clicks a second
        clicks[where] = rng.standard_normal(where.sum()) * 0.3
        x = x + sosfilt(butter(2, 1500, "highpass", fs=sr, output="sos"), clicks)
    elif kind == "hiss":
        x = x + 0.02 * rng.standard_normal(x.size)
    elif kind == "band_limit":
        x = sosfilt(butter(6, 2500 + 1000 * rng.random(), "lowpass", fs=sr, output="sos"), x)
    elif kind == "hum":
        x = x + 0.05 * np.sin(2 * np.pi * 60 * np.arange(x.size) / sr)
    elif kind == "clipping":
        x = np.clip(x * 4, -0.5, 0.5) * 1.9
    else:
        raise ValueError(kind)
    return x.astype(np.float32)


def write_corpus(folder: Path, pieces: int, seconds: float, seed: int = 0) -> Path:
    """Half the pieces clean, half degraded (one or two degradations each); returns corpus.jsonl."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    lines = []
    for i in range(pieces):
        name = f"piece_{seed}_{i:03d}"
        audio = piece(seed * 1000 + i, seconds)
        kinds = [] if i % 2 == 0 else list(rng.choice(DEGRADATIONS, size=rng.integers(1, 3), replace=False))
        for kind in kinds:
            audio = degrade(audio, kind, seed * 1000 + i)
        quality = "bad" if kinds else "good"
        save_wav(folder / f"{name}.wav", audio[None], SR)
        notes = {
            "name": name,
            "sample_rate": SR,
            "duration": seconds,
            "quality": quality,
            "degradations": kinds,
        }
        (folder / f"{name}.json").write_text(json.dumps(notes))
        lines.append(
            {
                "path": f"{name}.wav",
                "annotations": f"{name}.json",
                "duration": seconds,
                "sample_rate": SR,
                "quality": quality,
                "degradations": kinds,
            }
        )
    listing = folder / "corpus.jsonl"
    listing.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return listing
