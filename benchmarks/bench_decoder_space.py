"""The engine's decoder space (`engine/decoder_space.py`) on one edit window: forward + inverse with the MDCT
as a BLAS matmul against a cached basis (`engine/mdct.py`) and as the einsum with a basis rebuilt per call
that it replaced. The edit runs both once per request; on the 1024-bin space the einsum cost more than the
networks.

    python benchmarks/bench_decoder_space.py                    # 10 s window, 256- and 1024-bin spaces
    python benchmarks/bench_decoder_space.py --seconds 30 --repeats 9

Latency = median of --repeats forward + inverse calls after two warm-ups; speedup = einsum ms / matmul ms
(> 1: the matmul is faster). Prints a table (not a test).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from unittest import mock

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.timing import median_ms  # noqa: E402
from engine import mdct  # noqa: E402
from engine.decoder_space import DecoderSpace  # noqa: E402


def einsum_analysis(x: np.ndarray, hop: int) -> np.ndarray:
    """The replaced analysis: einsum over the frames, the basis rebuilt on every call."""
    half = hop // 2
    padded = np.concatenate([x[..., -half:], x, x[..., :half]], axis=-1)  # (..., N + P)
    frames = sliding_window_view(padded, 2 * hop, axis=-1)[..., ::hop, :]  # (..., L, 2P)
    return np.einsum("...lk,pk->...pl", frames, mdct.mdct_basis(hop).astype(x.dtype))


def einsum_synthesis(coefficients: np.ndarray, hop: int) -> np.ndarray:
    """The replaced synthesis: einsum to frames, then the same overlap-add as `engine.mdct.synthesis`."""
    frames = np.einsum("...pl,pk->...lk", coefficients, mdct.mdct_basis(hop).astype(coefficients.dtype))
    return mdct.overlap_add(frames, hop)  # (..., L P)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--seconds", type=float, default=10.0, help="window length (an edit's region + context)"
    )
    parser.add_argument("--repeats", type=int, default=7, help="timed forward + inverse calls per row")
    args = parser.parse_args()
    n = int(args.seconds * 16_000) // 2048 * 2048
    audio = (0.1 * np.random.default_rng(0).standard_normal(n)).astype(np.float32)
    print(f"decoder space forward + inverse on {n / 16_000:.1f} s (median of {args.repeats})")
    print(f"{'MDCT bins':>10}{'einsum ms':>12}{'matmul ms':>12}{'speedup':>10}{'max diff':>11}")
    for bins in (256, 1024):
        space = DecoderSpace(0.9, 12.0, 0.5, bins, window=3)

        def round_trip(space: DecoderSpace = space) -> np.ndarray:
            return space.inverse(space.forward(audio))

        fast = median_ms(round_trip, args.repeats)
        expected = round_trip()
        with mock.patch.multiple(mdct, analysis=einsum_analysis, synthesis=einsum_synthesis):
            slow = median_ms(round_trip, args.repeats)
            diff = float(np.abs(round_trip() - expected).max())
        print(f"{bins:>10}{slow:>12.1f}{fast:>12.1f}{slow / fast:>9.1f}x{diff:>11.1e}")


if __name__ == "__main__":
    main()
