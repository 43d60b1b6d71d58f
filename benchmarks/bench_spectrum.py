"""The tokenizer encoder's fixed spectra: the two-stage DFT (`training.models.spectrum.LogSpectrum`) against
the single conv with the whole windowed DFT as its kernel that it replaced, same frames, same magnitudes.

    python benchmarks/bench_spectrum.py                      # the `small` preset's two views, batch 8 x 2 s
    python benchmarks/bench_spectrum.py --threads 2 --repeats 21

Rows: the latent-rate mel's frames (hop 2048, 4096 points) and the spectrum view's (hop 256, 1024 points).
Latency = median of --repeats forward calls after two warm-ups; speedup = conv ms / two-stage ms (> 1: the
two-stage DFT is faster); constants = floats each stores (the conv's kernel is what went into the ONNX graph).
Prints a table (not a test).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.timing import median_ms  # noqa: E402
from training.models.spectrum import LogSpectrum  # noqa: E402


def conv_magnitude(hop: int, n_fft: int) -> tuple[Callable[[torch.Tensor], torch.Tensor], int]:
    """The baseline: one strided conv whose kernel is the Hann-windowed DFT (cosine then sine rows)."""
    k, n = np.arange(n_fft // 2 + 1), np.arange(n_fft)
    window = np.hanning(n_fft + 1)[:-1]
    phase = 2 * np.pi * np.outer(k, n) / n_fft
    kernel = np.concatenate([np.cos(phase), -np.sin(phase)]) * window / window.sum()
    basis = torch.from_numpy(kernel).float()[:, None]  # (2F, 1, n_fft)
    side, bins = (n_fft - hop) // 2, n_fft // 2 + 1

    def magnitude(x: torch.Tensor) -> torch.Tensor:
        spectrum = F.conv1d(F.pad(x, (side, side), mode="reflect"), basis, stride=hop)  # (B, 2F, L)
        return torch.sqrt(spectrum[:, :bins] ** 2 + spectrum[:, bins:] ** 2)  # (B, F, L)

    return magnitude, basis.numel()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=8, help="clips per call (the trainer's batch)")
    parser.add_argument("--seconds", type=float, default=2.0, help="clip length at 16 kHz")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--repeats", type=int, default=11, help="timed calls per row (median)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    samples = int(args.seconds * 16_000) // 2048 * 2048
    x = torch.randn(args.batch, 1, samples) * 0.1
    print(
        f"batch {args.batch} x {samples / 16_000:g} s, {args.threads} thread(s), median of {args.repeats}\n"
    )
    print(
        f"{'frames':<22}{'conv ms':>10}{'two-stage ms':>14}{'speedup':>9}{'conv floats':>13}{'two-stage':>11}"
    )
    with torch.no_grad():
        for name, hop, n_fft in (("latent mel 2048/4096", 2048, 4096), ("spectrum view 256/1024", 256, 1024)):
            conv, conv_floats = conv_magnitude(hop, n_fft)
            two_stage = LogSpectrum(hop, n_fft)
            error = (conv(x) - two_stage.magnitude(x)).abs().max().item()
            if error > 1e-5:
                raise SystemExit(f"{name}: the two implementations differ by {error:.2e}")
            conv_ms = median_ms(lambda: conv(x), args.repeats)  # noqa: B023 (called inside the loop)
            stage_ms = median_ms(lambda: two_stage.magnitude(x), args.repeats)  # noqa: B023
            floats = sum(b.numel() for b in two_stage.buffers())
            print(
                f"{name:<22}{conv_ms:>10.1f}{stage_ms:>14.1f}{conv_ms / stage_ms:>8.1f}x"
                f"{conv_floats:>13,}{floats:>11,}"
            )


if __name__ == "__main__":
    main()
