"""A fixed log-magnitude STFT: the tokenizer encoder's second view of its input.

A waveform (or MDCT) encoder has to learn a magnitude (a squaring nonlinearity) and a long average before a
band's loudness is a linear feature; trained on a CPU budget it only half does, and the latents lose the
envelope the decoder most needs (a probe read the 64-mel envelope from them to 0.6 nats). This view hands
it log band magnitudes directly, at a frequency resolution the first MDCT scale lacks (15.6 Hz bins for the
`small` preset against its MDCT's 125 Hz).

One conv with the Hann-windowed DFT as a fixed kernel (ONNX Conv, no FFT), then sqrt(re^2 + im^2) and a log.
Letters: B batch, N samples (a multiple of the hop), F = n_fft / 2 + 1 bins, L = N // hop frames.
"""

from __future__ import annotations

import librosa
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

FLOOR = 1e-5  # magnitude floor (-100 dB of a full-scale sine) before the log


def dft_basis(n_fft: int) -> np.ndarray:
    """(2F, n_fft) float64: Hann-windowed cosine rows then sine rows, scaled so a unit sine peaks at 0.5."""
    n = np.arange(n_fft)
    k = np.arange(n_fft // 2 + 1)
    window = np.hanning(n_fft + 1)[:-1]  # periodic Hann
    phase = 2 * np.pi * k[:, None] * n[None] / n_fft
    return np.concatenate([np.cos(phase), -np.sin(phase)]) * window[None] / window.sum()


class LogSpectrum(nn.Module):
    """Audio (B, 1, N) -> log magnitudes (B, F, N // hop); frame l is centred on sample l * hop + hop / 2."""

    def __init__(self, hop: int, n_fft: int) -> None:
        super().__init__()
        if n_fft < hop or (n_fft - hop) % 2:
            raise ValueError(f"n_fft ({n_fft}) must be >= hop ({hop}) and differ from it by an even number")
        self.hop, self.n_fft = hop, n_fft
        self.bins = n_fft // 2 + 1
        basis = torch.from_numpy(dft_basis(n_fft)).float()[:, None, :]  # (2F, 1, n_fft)
        self.register_buffer("basis", basis, persistent=False)

    def magnitude(self, x: torch.Tensor) -> torch.Tensor:
        """Audio (B, 1, N) -> magnitudes (B, F, N // hop)."""
        side = (self.n_fft - self.hop) // 2
        x = F.pad(x, (side, side), mode="reflect")  # (B, 1, N + n_fft - hop)
        spectrum = F.conv1d(x, self.basis, stride=self.hop)  # (B, 2F, L)
        re, im = spectrum[:, : self.bins], spectrum[:, self.bins :]
        return torch.sqrt(re * re + im * im)  # (B, F, L)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.log(self.magnitude(x) + FLOOR)  # (B, F, L)


class LogMel(nn.Module):
    """Audio (B, 1, N) -> log mel magnitudes (B, M, N // hop): the LogSpectrum's bins summed by a fixed
    (Slaney) mel filterbank, the envelope a Griffin-Lim baseline gets as its input."""

    def __init__(self, hop: int, n_fft: int, n_mels: int, sample_rate: int) -> None:
        super().__init__()
        self.spectrum = LogSpectrum(hop, n_fft)
        bank = librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels)  # (M, F)
        self.register_buffer("bank", torch.from_numpy(bank).float(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.log(torch.einsum("mf,bfl->bml", self.bank, self.spectrum.magnitude(x)) + FLOOR)
