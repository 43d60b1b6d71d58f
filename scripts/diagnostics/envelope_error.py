"""How much of the tokenizer's log-mel distance is the envelope the Griffin-Lim baseline is given?

Reads a `musegenie eval tokenizer` folder (its metrics.json and per-clip WAVs) and prints per clip:
- `envelope`: the floored log-mel L1 on the baseline's own input (`latent_dim` mels at the latent rate),
  for the reconstruction and for Griffin-Lim;
- `log-mel`: the evaluation's log-mel distance of the reconstruction, as decoded and after an *oracle*
  envelope fix: every mel band's gain per latent frame set to the original's (interpolated over time and
  spread over a 1024-point STFT's bins by the mel weights). The oracle is not a decoder; it says how far
  the reconstruction would get if its envelope were right.
Not a test: prints a table.

    .venv/bin/python scripts/diagnostics/envelope_error.py work/default/eval/tokenizer
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from training.metrics import EPS, _floored_log_l1, log_mel_distance  # noqa: E402

N_FFT, HOP = 1024, 256  # the STFT the oracle's gains are applied in


def envelope(audio: np.ndarray, rate: int, hop: int, mels: int) -> np.ndarray:
    """(mels, frames) mel magnitudes at the latent rate: the Griffin-Lim baseline's input."""
    return librosa.feature.melspectrogram(
        y=audio, sr=rate, n_fft=2 * hop, hop_length=hop, n_mels=mels, power=1.0
    )


def oracle_fix(original: np.ndarray, decoded: np.ndarray, rate: int, hop: int, mels: int) -> np.ndarray:
    """`decoded` with each mel band's level per latent frame moved to the original's."""
    log_gain = np.log(envelope(original, rate, hop, mels) + EPS) - np.log(
        envelope(decoded, rate, hop, mels) + EPS
    )  # (M, T)
    spectrum = librosa.stft(decoded, n_fft=N_FFT, hop_length=HOP)  # (F, K)
    coarse_times = np.arange(log_gain.shape[1]) * hop / HOP
    per_frame = np.stack([np.interp(np.arange(spectrum.shape[1]), coarse_times, g) for g in log_gain])
    weights = librosa.filters.mel(sr=rate, n_fft=N_FFT, n_mels=mels)  # (M, F)
    weights = weights / np.maximum(weights.sum(0, keepdims=True), EPS)  # each bin's share of every band
    gain = np.exp(weights.T @ per_frame)  # (F, K); bins no band covers keep gain 1
    return librosa.istft(spectrum * gain, hop_length=HOP, length=decoded.size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("eval_dir", type=Path, help="a `musegenie eval tokenizer` output folder")
    args = parser.parse_args()
    metrics = json.loads((args.eval_dir / "metrics.json").read_text())
    mels = int(metrics["latent_dim"])
    rows = []
    for i in range(len(metrics["clips"])):
        original, rate = sf.read(args.eval_dir / f"{i:02d}_original.wav", dtype="float32")
        decoded, _ = sf.read(args.eval_dir / f"{i:02d}_reconstruction.wav", dtype="float32")
        baseline, _ = sf.read(args.eval_dir / f"{i:02d}_griffin_lim.wav", dtype="float32")
        hop = int(round(rate / metrics["frame_rate"]))
        reference = envelope(original, rate, hop, mels)
        rows.append(
            [
                _floored_log_l1(reference, envelope(decoded, rate, hop, mels)),
                _floored_log_l1(reference, envelope(baseline, rate, hop, mels)),
                log_mel_distance(original, decoded, rate),
                log_mel_distance(original, oracle_fix(original, decoded, rate, hop, mels), rate),
                log_mel_distance(original, baseline, rate),
            ]
        )
    header = ("envelope tok", "envelope GL", "log-mel tok", "tok + oracle env.", "log-mel GL")
    print(f"{'clip':<6}" + "".join(f"{h:>19}" for h in header))
    for i, row in enumerate(rows):
        print(f"{i:<6}" + "".join(f"{v:>19.3f}" for v in row))
    print(f"{'mean':<6}" + "".join(f"{v:>19.3f}" for v in np.mean(rows, axis=0)))


if __name__ == "__main__":
    main()
