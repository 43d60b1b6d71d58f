"""A fixed log-magnitude STFT: the tokenizer encoder's second view of its input.

A waveform (or MDCT) encoder has to learn a magnitude (a squaring nonlinearity) and a long average before a
band's loudness is a linear feature; trained on a CPU budget it only half does, and the latents lose the
envelope the decoder most needs (a probe read the 64-mel envelope from them to 0.6 nats). This view hands
it log band magnitudes directly, at a frequency resolution the first MDCT scale lacks (15.6 Hz bins for the
`small` preset against its MDCT's 125 Hz).

The DFT is two small ones (Cooley-Tukey, n_fft = N1 x N2) written as matmuls, so the ONNX graph needs no
FFT op and stores O(N1^2 + N2^2 + n_fft) constants: a single conv with the windowed DFT as its kernel would
store 2 n_fft^2 (67 MB for the latent-rate mel's 4096-point frames). Then sqrt(re^2 + im^2) and a log.
Letters: B batch, N samples (a multiple of the hop), F = n_fft / 2 + 1 bins, L = N // hop frames.
"""

from __future__ import annotations

import math

import librosa
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

FLOOR = 1e-5  # magnitude floor (-100 dB of a full-scale sine) before the log


def split(n: int) -> int:
    """The largest divisor of n not above sqrt(n): the first factor of a two-stage DFT."""
    return max(d for d in range(1, math.isqrt(n) + 1) if n % d == 0)


def dft_matrices(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin of 2 pi j k / n, each (n, n) float32."""
    phase = 2 * np.pi * np.outer(np.arange(n), np.arange(n)) / n
    return torch.from_numpy(np.cos(phase)).float(), torch.from_numpy(np.sin(phase)).float()


class LogSpectrum(nn.Module):
    """Audio (B, 1, N) -> log magnitudes (B, F, N // hop) of Hann-windowed frames of n_fft = m * hop samples,
    scaled so a unit sine peaks at 0.5; frame l is centred on sample l * hop + hop / 2."""

    def __init__(self, hop: int, n_fft: int) -> None:
        super().__init__()
        if n_fft < hop or n_fft % hop or (n_fft - hop) % 2:
            raise ValueError(
                f"n_fft ({n_fft}) must be a multiple of hop ({hop}) and differ from it by an even number"
            )
        self.hop, self.n_fft = hop, n_fft
        self.bins = n_fft // 2 + 1
        self.n1 = split(n_fft)
        self.n2 = n_fft // self.n1
        window = np.hanning(n_fft + 1)[:-1]  # periodic Hann
        self.register_buffer("window", torch.from_numpy(window / window.sum()).float(), persistent=False)
        cos1, sin1 = dft_matrices(self.n1)
        cos2, sin2 = dft_matrices(self.n2)
        twiddle = 2 * np.pi * np.outer(np.arange(self.n1), np.arange(self.n2)) / n_fft  # (k1, n2)
        for name, value in (
            ("cos1", cos1),
            ("sin1", sin1),
            ("cos2", cos2),
            ("sin2", sin2),
            ("twiddle_cos", torch.from_numpy(np.cos(twiddle)).float()),
            ("twiddle_sin", torch.from_numpy(np.sin(twiddle)).float()),
        ):
            self.register_buffer(name, value, persistent=False)

    def frames(self, x: torch.Tensor) -> torch.Tensor:
        """Audio (B, 1, N) -> reflect-padded frames (B, L, n_fft), frame l starting at l * hop."""
        side = (self.n_fft - self.hop) // 2
        x = F.pad(x, (side, side), mode="reflect")  # (B, 1, N + n_fft - hop)
        m = self.n_fft // self.hop
        blocks = x.reshape(x.shape[0], -1, self.hop)  # (B, L + m - 1, hop)
        length = blocks.shape[1] - m + 1
        return torch.cat([blocks[:, i : i + length] for i in range(m)], dim=-1)  # (B, L, n_fft)

    def magnitude(self, x: torch.Tensor) -> torch.Tensor:
        """Audio (B, 1, N) -> magnitudes (B, F, N // hop).

        Sample n = N2 n1 + n2, bin k = k1 + N1 k2: an N1-point DFT over n1, the twiddle e^(-2 pi i n2 k1 / n_fft),
        then an N2-point DFT over n2."""
        b, length = x.shape[0], x.shape[-1] // self.hop
        frames = (self.frames(x) * self.window).reshape(b, length, self.n1, self.n2)  # (B, L, n1, n2)
        re = self.cos1 @ frames  # (B, L, k1, n2)
        im = -(self.sin1 @ frames)
        re, im = (
            re * self.twiddle_cos + im * self.twiddle_sin,
            im * self.twiddle_cos - re * self.twiddle_sin,
        )
        re, im = re @ self.cos2 + im @ self.sin2, im @ self.cos2 - re @ self.sin2  # (B, L, k1, k2)
        spectrum_re = re.transpose(2, 3).reshape(b, length, self.n_fft)[..., : self.bins]  # (B, L, F)
        spectrum_im = im.transpose(2, 3).reshape(b, length, self.n_fft)[..., : self.bins]
        return torch.sqrt(spectrum_re**2 + spectrum_im**2).transpose(1, 2)  # (B, F, L)

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
