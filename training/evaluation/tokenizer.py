"""Does the tokenizer work? Reconstruction of held-out clips against a Griffin-Lim baseline.

The baseline gets the same number of floats per second as the latents: a magnitude mel spectrogram with
`latent_dim` mels at the latent frame rate (hop = the tokenizer's hop), inverted with librosa's Griffin-Lim.
So `high`/`small` (7.8 frames/s x 64) are compared with a 64-mel, 128 ms-hop spectrogram, `low` (50 x 128)
with a 128-mel, 20 ms-hop one. Metrics (training.metrics): log-mel L1 (the headline; lower is better),
multi-resolution STFT distance (lower is better), SI-SDR in dB (higher is better; a generative decoder
re-draws phase, so expect it to be low for both). `log_mel_bands` splits the log-mel distance into 8 groups
of mel bands with the mean signed error (bias > 0: energy the original does not have, such as a decoder's
noise floor or bass rumble; < 0: missing energy).

Writes `metrics.json`, per-clip WAVs (`NN_original.wav`, `NN_reconstruction.wav`, `NN_griffin_lim.wav`) and
`spectrograms.png`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import librosa
import numpy as np
import torch
from tqdm import tqdm

from engine import audio as audio_io
from engine.bundle import Defaults
from engine.spectrogram import save_spectrograms
from training.data.audio_segments import AudioSegments
from training.data.manifest import Entry
from training.metrics import all_metrics, log_mel_bands
from training.models.tokenizer import Tokenizer

log = logging.getLogger(__name__)

SYSTEMS = ("tokenizer", "griffin_lim")
MIN_RMS = 1e-3  # clips quieter than this (silence) are skipped: SI-SDR is undefined on them


@dataclass
class TokenizerEvalConfig:
    # The decoder samples as an exported bundle does unless told otherwise (docs/experiments.md: samplers measured).
    steps: int = Defaults.decoder_steps  # decoder sampling steps
    method: str = Defaults.decoder_sampler  # decoder sampler: euler or heun
    shift: float = (
        Defaults.decoder_shift
    )  # time shift of the decoder's levels, below 1 more steps at low noise
    clips: int = 8  # held-out clips to reconstruct
    seconds: float = 5.0  # length of each clip
    griffin_lim_iters: int = 64  # Griffin-Lim iterations of the baseline
    seed: int = 0  # clip choice and decoder noise


def griffin_lim_baseline(
    audio: np.ndarray, sample_rate: int, n_mels: int, hop: int, iters: int, seed: int = 0
) -> np.ndarray:
    """Mel-spectrogram (n_mels x sample_rate/hop floats per second) -> Griffin-Lim audio of the same length
    (the random initial phase drawn from `seed`, so a rerun scores the same)."""
    signal = np.asarray(audio, dtype=np.float32).reshape(-1)
    n_fft = int(2 ** np.ceil(np.log2(2 * hop)))
    mel = librosa.feature.melspectrogram(
        y=signal, sr=sample_rate, n_fft=n_fft, hop_length=hop, n_mels=n_mels, power=1.0
    )  # (M, frames)
    magnitude = librosa.feature.inverse.mel_to_stft(
        mel, sr=sample_rate, n_fft=n_fft, power=1.0
    )  # (F, frames)
    out = librosa.griffinlim(
        magnitude, n_iter=iters, hop_length=hop, n_fft=n_fft, length=signal.size, random_state=seed
    )
    return out.astype(np.float32)[None]  # (1, N)


def held_out_clips(
    entries: list[Entry], count: int, seconds: float, sample_rate: int, seed: int
) -> list[np.ndarray]:
    """Up to `count` non-silent (1, N) clips drawn deterministically from `entries`."""
    segments = AudioSegments(entries, seconds, sample_rate, seed, items_per_epoch=max(1, 4 * count))
    clips = []
    for i in range(len(segments)):
        clip = segments[i]["audio"].numpy()  # (1, N)
        if float(np.sqrt(np.mean(clip**2))) >= MIN_RMS:
            clips.append(clip)
        if len(clips) == count:
            break
    return clips


def _mean(rows: list[dict[str, Any]], system: str) -> dict[str, float]:
    keys = rows[0][system].keys()
    return {k: float(np.mean([r[system][k] for r in rows])) for k in keys}


def _mean_bands(rows: list[dict[str, Any]], system: str) -> dict[str, list]:
    first = rows[0][system]
    return {
        "hz": first["hz"],
        **{k: np.mean([r[system][k] for r in rows], axis=0).round(4).tolist() for k in ("l1", "bias")},
    }


def evaluate(
    model: Tokenizer,
    entries: list[Entry],
    out_dir: Path,
    config: TokenizerEvalConfig,
    info: dict | None = None,
) -> dict[str, Any]:
    """Reconstruct held-out clips with the tokenizer and the baseline; write metrics, WAVs, picture."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rate, hop = model.config.sample_rate, model.hop
    clips = held_out_clips(entries, config.clips, config.seconds, rate, config.seed)
    if not clips:
        raise ValueError("no non-silent clips to evaluate in the given data")
    device = next(model.parameters()).device
    generator = torch.Generator(device=device).manual_seed(config.seed)
    rows, panels, bands = [], [], []
    for i, clip in enumerate(tqdm(clips, desc="eval tokenizer", unit="clip")):
        with torch.no_grad():
            audio = torch.from_numpy(clip)[None].to(device)  # (1, 1, N)
            recon = (
                model.reconstruct(
                    audio, config.steps, config.method, generator=generator, shift=config.shift
                )[0]
                .cpu()
                .numpy()
            )  # (1, N)
        baseline = griffin_lim_baseline(
            clip, rate, model.latent_dim, hop, config.griffin_lim_iters, config.seed + i
        )  # (1, N)
        row = {
            "clip": i,
            "tokenizer": all_metrics(clip, recon, rate),
            "griffin_lim": all_metrics(clip, baseline, rate),
        }
        rows.append(row)
        bands.append(
            {
                "tokenizer": log_mel_bands(clip, recon, rate),
                "griffin_lim": log_mel_bands(clip, baseline, rate),
            }
        )
        for name, signal in (("original", clip), ("reconstruction", recon), ("griffin_lim", baseline)):
            audio_io.save_wav(out_dir / f"{i:02d}_{name}.wav", np.clip(signal, -1, 1), rate)
        if i < 2:
            panels += [
                (f"clip {i}: original", clip, rate),
                (f"clip {i}: tokenizer ({config.steps} {config.method} steps)", recon, rate),
                (
                    f"clip {i}: Griffin-Lim from {model.latent_dim} mels x {rate / hop:.1f} frames/s",
                    baseline,
                    rate,
                ),
            ]
    means = {system: _mean(rows, system) for system in SYSTEMS}
    result = {
        "floats_per_second": model.latent_dim * rate / hop,
        "frame_rate": rate / hop,
        "latent_dim": model.latent_dim,
        "config": asdict(config),
        **(info or {}),
        "mean": means,
        "tokenizer_beats_baseline": {
            "log_mel_l1": means["tokenizer"]["log_mel_l1"] < means["griffin_lim"]["log_mel_l1"],
            "mr_stft": means["tokenizer"]["mr_stft"] < means["griffin_lim"]["mr_stft"],
            "si_sdr": means["tokenizer"]["si_sdr"] > means["griffin_lim"]["si_sdr"],
        },
        "log_mel_bands": {system: _mean_bands(bands, system) for system in SYSTEMS},
        "clips": rows,
    }
    (out_dir / "metrics.json").write_text(json.dumps(result, indent=2) + "\n")
    save_spectrograms(
        out_dir / "spectrograms.png", panels, title="tokenizer vs Griffin-Lim at equal floats/s"
    )
    log.info("wrote %s", out_dir / "metrics.json")
    return result


def summary_table(result: dict[str, Any]) -> str:
    """A small text table of the mean metrics per system."""
    lines = [f"{'system':<14}{'log-mel L1':>12}{'MR-STFT':>10}{'SI-SDR dB':>11}"]
    for system in SYSTEMS:
        m = result["mean"][system]
        lines.append(f"{system:<14}{m['log_mel_l1']:>12.3f}{m['mr_stft']:>10.3f}{m['si_sdr']:>11.2f}")
    if "log_mel_bands" in result:  # where the log-mel distance comes from; bias > 0 is excess energy
        tok, gl = (result["log_mel_bands"][s] for s in SYSTEMS)
        lines += ["", f"{'mel bands Hz':<14}{'tokenizer L1':>13}{'bias':>7}{'Griffin-Lim L1':>16}{'bias':>7}"]
        for (lo, hi), a, b, c, d in zip(tok["hz"], tok["l1"], tok["bias"], gl["l1"], gl["bias"], strict=True):
            lines.append(f"{f'{lo}-{hi}':<14}{a:>13.3f}{b:>+7.2f}{c:>16.3f}{d:>+7.2f}")
    return "\n".join(lines)
