"""How much log-mel damage does an error in the decoder's space do once mapped back to audio?

The tokenizer's decoder estimates the clean signal in a decoder space (`engine/decoder_space.py`) and the
estimate is expanded back to audio. This adds the same kinds of error to the held-out clips in several
candidate spaces and reports the log-mel distance (`training.metrics`) after the inverse:
- `white -20/-30 dB`: white noise at that level under the clip's RMS in the space (a residual noise floor);
- `envelope -10 dB`: random-sign MDCT coefficients scaled by the local (3 x 3) magnitude of the space's own
  coefficients, 10 dB down (the estimate right in level, wrong in detail, as a generative decoder is).
Spaces: per-coefficient companding sign(c) |c|^0.5 on a 64-bin or 256-bin MDCT, "smooth" companding
c = y (box3x3(|y|) + eps) (`compand_window` 3: a slowly varying gain, so a partial stays a partial) on a
256-bin or 1024-bin (the shipped tokenizer's) MDCT, and the linear pre-emphasised waveform. Not a test:
prints a table.

    .venv/bin/python scripts/diagnostics/decoder_space_errors.py
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy.ndimage import uniform_filter

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from engine import mdct  # noqa: E402
from engine.decoder_space import DecoderSpace  # noqa: E402
from training.data.manifest import read_entries, split_entries  # noqa: E402
from training.evaluation.tokenizer import held_out_clips  # noqa: E402
from training.metrics import log_mel_distance  # noqa: E402

RATE = 16_000
EMPHASIS, SCALE = 0.9, 12.0  # the shipped decoder space's pre-emphasis and scale


def box_magnitude(c: np.ndarray) -> np.ndarray:
    """Local level of MDCT coefficients (P, L): |c| averaged over 3 bins x 3 frames."""
    return uniform_filter(np.abs(c), (3, 3), mode="nearest")


def envelope_error(y: np.ndarray, bins: int, db: float, rng: np.random.Generator) -> np.ndarray:
    c = mdct.analysis(y, bins)
    level = box_magnitude(c) * 10 ** (db / 20)
    return mdct.synthesis(rng.standard_normal(c.shape) * level, bins)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="work/default/manifest.jsonl", help="the tokenizer's training data")
    parser.add_argument("--clips", type=int, default=8, help="held-out clips (5 s)")
    args = parser.parse_args()
    _, held_out = split_entries(read_entries(args.data), 0.05, 0)
    clips = [c[0].astype(np.float64) for c in held_out_clips(held_out, args.clips, 5.0, RATE, 0)]
    clips = [c[: c.size - c.size % 1024] for c in clips]
    spaces = {  # name: (space, MDCT bins the envelope error is shaped on)
        "compand, 64 bins": (DecoderSpace(EMPHASIS, SCALE, 0.5, 64), 64),
        "compand, 256 bins": (DecoderSpace(EMPHASIS, SCALE, 0.5, 256), 256),
        "smooth compand, 256 bins": (DecoderSpace(EMPHASIS, SCALE, 0.5, 256, window=3), 256),
        "smooth compand, 1024 bins (shipped)": (DecoderSpace(EMPHASIS, SCALE, 0.5, 1024, window=3), 1024),
        "linear": (DecoderSpace(EMPHASIS, SCALE), 64),
    }
    errors = ("white -20 dB", "white -30 dB", "envelope -10 dB")
    print(f"{'space':<36}" + "".join(f"{e:>17}" for e in errors) + f"{'round trip':>12}")
    rng = np.random.default_rng(0)
    for name, (space, bins) in spaces.items():
        scores = {e: [] for e in (*errors, "round trip")}
        for clip in clips:
            y = np.asarray(space.forward(clip.astype(np.float32)), np.float64)
            rms = np.sqrt(np.mean(y**2))
            perturbed = {
                "white -20 dB": y + rng.standard_normal(y.size) * rms * 0.1,
                "white -30 dB": y + rng.standard_normal(y.size) * rms * 10 ** (-1.5),
                "envelope -10 dB": y + envelope_error(y, bins, -10.0, rng),
                "round trip": y,
            }
            for kind, estimate in perturbed.items():
                audio = space.inverse(estimate.astype(np.float32))
                scores[kind].append(log_mel_distance(clip, audio, RATE))
        print(f"{name:<36}" + "".join(f"{np.mean(scores[e]):>17.3f}" for e in (*errors, "round trip")))


if __name__ == "__main__":
    main()
