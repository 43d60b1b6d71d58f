"""Log-mel spectrograms (numpy only, our own mel filterbank) and a PNG writer that stacks them.

Used wherever a picture of audio helps: quality labelling, tokenizer evaluation, the explore pages and
the demo's before/after picture. No torch, no librosa; matplotlib (Agg) is imported only to draw.
Letters: M mel bands, F frames.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from engine.published_file import atomic_write

FLOOR_DB = -80.0  # dynamic range kept below each panel's peak


def hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    """HTK mel scale."""
    return 2595.0 * np.log10(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)


def mel_to_hz(mel: np.ndarray | float) -> np.ndarray:
    return 700.0 * (10.0 ** (np.asarray(mel, dtype=np.float64) / 2595.0) - 1.0)


def mel_filterbank(
    sample_rate: int, n_fft: int, n_mels: int, fmin: float = 0.0, fmax: float | None = None
) -> np.ndarray:
    """Triangular filters (M, n_fft // 2 + 1), area-normalised (Slaney style), from fmin to fmax Hz."""
    fmax = sample_rate / 2 if fmax is None else fmax
    bins = np.linspace(0.0, sample_rate / 2, n_fft // 2 + 1)  # (K,)
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))  # (M + 2,)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]  # (M, 1) each
    rising = (bins[None] - lower) / np.maximum(centre - lower, 1e-9)
    falling = (upper - bins[None]) / np.maximum(upper - centre, 1e-9)
    weights = np.maximum(0.0, np.minimum(rising, falling))  # (M, K)
    weights *= 2.0 / np.maximum(upper - lower, 1e-9)
    return weights.astype(np.float32)


def stft_power(signal: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """Power spectrogram (n_fft // 2 + 1, F) of a 1-D signal, Hann window, centred (reflect-padded) frames."""
    pad = n_fft // 2
    mode = "reflect" if len(signal) > pad else "constant"
    return framed_power(np.pad(signal.astype(np.float32), (pad, pad), mode=mode), n_fft, hop)


def framed_power(padded: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """Power spectrogram (n_fft // 2 + 1, F) of the Hann-windowed frames padded[f hop : f hop + n_fft]."""
    frames = 1 + (len(padded) - n_fft) // hop
    idx = np.arange(n_fft)[None] + hop * np.arange(frames)[:, None]  # (F, n_fft)
    window = np.hanning(n_fft + 1)[:-1].astype(np.float32)  # periodic Hann
    spectrum = np.fft.rfft(padded[idx] * window, axis=1)  # (F, K)
    return (spectrum.real**2 + spectrum.imag**2).T.astype(np.float32)  # (K, F)


def log_mel(
    audio: np.ndarray, sample_rate: int, n_mels: int = 80, n_fft: int = 1024, hop: int = 256
) -> np.ndarray:
    """Log-mel spectrogram in dB, (M, F) with F = 1 + N // hop; channels are averaged first.

    Args:
        audio: (C, N) or (N,) samples.
    """
    audio = np.asarray(audio, dtype=np.float32)
    signal = audio.mean(axis=0) if audio.ndim == 2 else audio  # (N,)
    if signal.ndim != 1 or signal.size == 0:
        raise ValueError(f"log_mel: expected (C, N) or (N,) audio with samples, got shape {audio.shape}")
    power = stft_power(signal, n_fft, hop)  # (K, F)
    mel = mel_filterbank(sample_rate, n_fft, n_mels) @ power  # (M, F)
    return (10.0 * np.log10(np.maximum(mel, 1e-10))).astype(np.float32)


def save_spectrograms(
    path: str | os.PathLike,
    panels: list[tuple[str, np.ndarray, int]],
    title: str | None = None,
    n_mels: int = 80,
) -> Path:
    """Draw (title, audio, sample_rate) panels stacked vertically, time in seconds, mel frequency in Hz.

    Each panel shows its top 80 dB. Written atomically (temp file, then rename); returns the path.
    """
    from matplotlib.figure import Figure  # a bare Figure draws with Agg and keeps no global pyplot state

    if not panels:
        raise ValueError("save_spectrograms: no panels to draw")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig = Figure(figsize=(12, 2.6 * len(panels) + 0.4))
    axes = fig.subplots(len(panels), 1, squeeze=False)
    hop = 256
    for ax, (name, audio, sr) in zip(axes[:, 0], panels, strict=True):
        spec = log_mel(audio, sr, n_mels=n_mels, hop=hop)  # (M, F)
        top = float(spec.max())
        seconds = spec.shape[1] * hop / sr
        image = ax.imshow(
            spec,
            origin="lower",
            aspect="auto",
            cmap="magma",
            vmin=top + FLOOR_DB,
            vmax=top,
            extent=(0.0, seconds, 0, n_mels),
        )
        ticks_hz = [f for f in (100, 250, 500, 1000, 2000, 4000, 8000, 16000) if f < sr / 2]
        mel_top = float(hz_to_mel(sr / 2))
        ax.set_yticks([float(hz_to_mel(f)) / mel_top * n_mels for f in ticks_hz])
        ax.set_yticklabels([f"{f // 1000}k" if f >= 1000 else str(f) for f in ticks_hz])
        ax.set_ylabel("Hz (mel)")
        ax.set_title(name, fontsize=9, loc="left")
        fig.colorbar(image, ax=ax, pad=0.01, label="dB")
    axes[-1, 0].set_xlabel("time (s)")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    with atomic_write(path) as fh:
        fig.savefig(fh, dpi=100, format=path.suffix.lstrip(".") or "png")
    return path
