"""Do a tokenizer's latents carry the envelope the Griffin-Lim baseline is given?

A ridge probe reads `latent_dim` log-mels at the latent rate (the baseline's input, in nats, floored 80 dB
under each clip's peak) from the latents of clips of the training pieces, and is scored (mean |error|) on
clips of the held-out pieces.
Not a test: prints one line.

    .venv/bin/python scripts/diagnostics/latent_envelope_probe.py work/default/tokenizer
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import librosa
import numpy as np
import torch
from sklearn.linear_model import Ridge

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from training.commands.runs import run_of_kind  # noqa: E402
from training.data.manifest import read_entries, split_entries  # noqa: E402
from training.evaluation.tokenizer import held_out_clips  # noqa: E402
from training.loop.checkpoint import load_model  # noqa: E402
from training.metrics import EPS, TOP_DB  # noqa: E402
from training.models.tokenizer import Tokenizer  # noqa: E402


def features(model: Tokenizer, clips: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(frames, D) latents and (frames, D) floored log-mels of the same frames, all clips stacked."""
    rows, targets = [], []
    for clip in clips:
        with torch.no_grad():
            z = model.encode_any(torch.from_numpy(clip)[None])[0].numpy()  # (T, D)
        mel = librosa.feature.melspectrogram(
            y=clip[0],
            sr=model.config.sample_rate,
            n_fft=2 * model.hop,
            hop_length=model.hop,
            n_mels=model.latent_dim,
            power=1.0,
            center=False,
        )  # (D, T')
        log_mel = np.log(np.maximum(mel, mel.max() * 10 ** (-TOP_DB / 20)) + EPS).T  # (T', D)
        frames = min(len(z), len(log_mel))
        rows.append(z[:frames])
        targets.append(log_mel[:frames])
    return np.concatenate(rows), np.concatenate(targets)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, help="tokenizer run folder")
    parser.add_argument("--train-clips", type=int, default=300, help="clips from the training pieces")
    parser.add_argument("--test-clips", type=int, default=40, help="clips from the held-out pieces")
    args = parser.parse_args()
    torch.set_num_threads(1)
    info = run_of_kind(args.run, "tokenizer", str(args.run))
    val_fraction = float(info.extra.get("task", {}).get("val_fraction", 0.05))
    train, test = split_entries(
        read_entries(info.extra["data"]), val_fraction, int(info.train_config["seed"])
    )
    model, _ = load_model(args.run, ema=True, device="cpu")
    rate = model.config.sample_rate
    seconds = 32 * model.hop / rate  # 32 latent frames per clip (4.1 s for `small`)
    x_train, y_train = features(model, held_out_clips(train, args.train_clips, seconds, rate, 1))
    x_test, y_test = features(model, held_out_clips(test, args.test_clips, seconds, rate, 0))
    probe = Ridge(alpha=1.0).fit(x_train, y_train)
    print(
        f"{args.run}: held-out probe L1 {np.abs(probe.predict(x_test) - y_test).mean():.3f} nats "
        f"(train {np.abs(probe.predict(x_train) - y_train).mean():.3f}; "
        f"predicting the training mean {np.abs(y_train.mean(0) - y_test).mean():.3f})"
    )


if __name__ == "__main__":
    main()
