"""How good is the tokenizer as a codec? ViSQOL of its round trip against Griffin-Lim and Opus, per audio set.

    python benchmarks/bench_codec.py --set real=data/real_music/real_music_heldout.jsonl \\
        --set rendered=work/heldout/corpus.jsonl                       # models/default
    python benchmarks/bench_codec.py --bundle shipped=models/default --bundle new=work/bundle \\
        --set real=... --clips 24 --out codec.json

Prints a table (not a test). For each set, `--clips` excerpts are taken at evenly spaced places across its
files (silent ones skipped). Each excerpt is `--seconds` long plus `--context` seconds each side; every
system reproduces the middle `--seconds`, which alone is scored:

- a bundle: `Pipeline.roundtrip` with the bundle's defaults (the engine's own encode, decode and stitch,
  the context on either side heard as in an edit), so the figure is exactly what `serve` would output;
- Griffin-Lim from a magnitude mel spectrogram of the same floats per second as the shipped latents
  (64 mels at 7.8 frames/s) and of a generous one (128 mels at 50 frames/s), 64 iterations;
- Opus at 6 and 12 kbps through two front ends to libopus, `opusenc`/`opusdec` (Debian package
  `opus-tools`) and ffmpeg's `libopus` (encode and decode), so that a comparison can quote the stronger
  (named after the table); a toolchain whose programs are missing is left out.

Scores: ViSQOL v3 MOS-LQO, audio mode (both signals 16 kHz mono, resampled to 48 kHz; 1 bad .. ~4.7
identical), and log-mel L1 (128 mels, natural log; lower is better). Mean over clips.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine import audio as audio_io  # noqa: E402
from engine.bundle import load_bundle  # noqa: E402
from engine.pipeline import Pipeline  # noqa: E402
from engine.runtime import Runtime, RuntimeConfig  # noqa: E402
from training.data.manifest import read_entries  # noqa: E402
from training.evaluation import edit_scores as scores  # noqa: E402
from training.evaluation.tokenizer import griffin_lim_baseline  # noqa: E402

SR = 16_000
MIN_RMS = 0.01  # excerpts quieter than this (about -40 dBFS) are skipped
GRIFFIN_LIM = {"griffin_lim_64x7.8": (64, 2048), "griffin_lim_128x50": (128, 320)}  # name: (mels, hop)
OPUS_KBPS = (6, 12)
# encoder: (programs it needs, where they come from); both decoders honour the stream's pre-skip, so the
# output lines up with the input sample for sample
OPUS_ENCODERS = {
    "opusenc": (("opusenc", "opusdec"), "apt-get install opus-tools"),
    "libopus": (("ffmpeg",), "apt-get install ffmpeg"),
}


def excerpts(data: Path, clips: int, seconds: float, context: float) -> list[np.ndarray]:
    """Up to `clips` mono (N,) excerpts of seconds + 2 x context, evenly spread over the set's files."""
    entries = read_entries(data)
    total = seconds + 2 * context
    songs = []
    for entry in entries:
        audio, _ = audio_io.load(entry.path, sample_rate=SR, mono=True)  # (1, N)
        start, end = int(entry.start * SR), audio.shape[1] if entry.end is None else int(entry.end * SR)
        if end - start >= total * SR:
            songs.append(audio[0, start:end])
    if not songs:
        raise SystemExit(f"{data}: no file is {total:g} s long")
    per_song = max(1, -(-clips // len(songs)))
    out = []
    for k in range(per_song):  # round-robin over songs, so a few clips still cover many songs
        for song in songs:
            room = len(song) - int(total * SR)
            start = int(room * (k + 1) / (per_song + 1))
            clip = song[start : start + int(total * SR)]
            middle = clip[int(context * SR) : int((context + seconds) * SR)]
            if float(np.sqrt(np.mean(middle**2))) >= MIN_RMS:
                out.append(clip.astype(np.float32))
            if len(out) == clips:
                return out
    return out


def _opus_commands(encoder: str, kbps: int, wav: Path, enc: Path, dec: Path) -> list[list[str]]:
    """The encode and decode command lines of one Opus toolchain (a key of OPUS_ENCODERS)."""
    if encoder == "opusenc":
        return [
            ["opusenc", "--quiet", "--bitrate", str(kbps), str(wav), str(enc)],
            ["opusdec", "--quiet", "--rate", str(SR), str(enc), str(dec)],
        ]
    ffmpeg = ["ffmpeg", "-nostdin", "-loglevel", "error", "-y"]
    return [
        [*ffmpeg, "-i", str(wav), "-c:a", "libopus", "-b:a", f"{kbps}k", str(enc)],
        [*ffmpeg, "-c:a", "libopus", "-i", str(enc), "-ar", str(SR), str(dec)],
    ]


def opus(clip: np.ndarray, kbps: int, encoder: str, tmp: Path) -> np.ndarray:
    """The clip through Opus at `kbps` with `encoder` and back (16 kHz mono), trimmed to its length."""
    wav, enc, dec = tmp / "in.wav", tmp / "x.opus", tmp / "out.wav"
    sf.write(wav, clip, SR, subtype="PCM_24")  # no float PEAK chunk for opusenc to warn about
    for command in _opus_commands(encoder, kbps, wav, enc, dec):
        subprocess.run(command, check=True)
    out, _ = sf.read(dec, dtype="float32")
    out = out if out.ndim == 1 else out.mean(axis=1)
    return np.pad(out, (0, max(0, len(clip) - len(out))))[: len(clip)]


def bundle_system(
    path: Path, context: float, seconds: float, seed: int
) -> Callable[[np.ndarray], np.ndarray]:
    pipeline = Pipeline(Runtime(load_bundle(path), RuntimeConfig(providers="cpu", intra_op_threads=1)))
    steps = pipeline.bundle.defaults.decoder_steps

    def run(clip: np.ndarray) -> np.ndarray:
        prepared = pipeline.prepare(clip[None], SR, (context, context + seconds), context)
        return pipeline.roundtrip(prepared, steps, seed)[0]  # (N,)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--bundle",
        action="append",
        default=[],
        metavar="NAME=DIR",
        help="a bundle to score (repeatable; default: shipped=models/default)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        required=True,
        metavar="NAME=DATA",
        help="held-out audio: a folder, corpus.jsonl or manifest (repeatable)",
    )
    parser.add_argument("--clips", type=int, default=12, help="excerpts per set")
    parser.add_argument("--seconds", type=float, default=5.0, help="scored length of each excerpt")
    parser.add_argument(
        "--context", type=float, default=1.0, help="audio each side the bundle hears, unscored"
    )
    parser.add_argument("--seed", type=int, default=0, help="decoder noise and Griffin-Lim's initial phase")
    parser.add_argument("--no-baselines", action="store_true", help="score the bundles only")
    parser.add_argument("--out", type=Path, default=None, help="also write the per-set means as JSON here")
    args = parser.parse_args()
    if why := scores.visqol_available():
        raise SystemExit(why)
    bundles = dict(b.split("=", 1) for b in (args.bundle or ["shipped=models/default"]))
    systems: dict[str, Callable[[np.ndarray], np.ndarray]] = {
        name: bundle_system(Path(path), args.context, args.seconds, args.seed)
        for name, path in bundles.items()
    }
    tmp = Path(tempfile.mkdtemp(prefix="bench_codec_"))
    if not args.no_baselines:
        for name, (mels, hop) in GRIFFIN_LIM.items():
            systems[name] = lambda c, m=mels, h=hop: griffin_lim_baseline(c, SR, m, h, 64, args.seed)[0]
        for encoder, (programs, install) in OPUS_ENCODERS.items():
            if not all(shutil.which(p) for p in programs):
                print(f"{'/'.join(programs)} not found ({install}): {encoder} left out", file=sys.stderr)
                continue
            for kbps in OPUS_KBPS:
                systems[f"{encoder}_{kbps}kbps"] = lambda c, k=kbps, e=encoder: opus(c, k, e, tmp)
    a, b = int(args.context * SR), int((args.context + args.seconds) * SR)
    results: dict[str, dict[str, dict[str, float]]] = {}
    for spec in args.set:
        set_name, data = spec.split("=", 1)
        clips = excerpts(Path(data), args.clips, args.seconds, args.context)
        rows: dict[str, dict[str, list[float]]] = {n: {"visqol": [], "log_mel_l1": []} for n in systems}
        for clip in tqdm(clips, desc=set_name, unit="clip"):
            reference = clip[a:b]
            for name, system in systems.items():
                out = system(clip)[a:b]
                rows[name]["visqol"].append(scores.visqol(reference, out, SR))
                rows[name]["log_mel_l1"].append(scores.logmel_l1(reference, out, SR))
        results[set_name] = {
            n: {k: float(np.mean(v)) for k, v in r.items()} | {"clips": len(clips)} for n, r in rows.items()
        }
    shutil.rmtree(tmp, ignore_errors=True)
    names = list(systems)
    print("ViSQOL MOS-LQO (log-mel L1), mean over clips\n")
    print("| set | " + " | ".join(names) + " |")
    print("|---" * (len(names) + 1) + "|")
    for set_name, by_system in results.items():
        n = next(iter(by_system.values()))["clips"]
        cells = [f"{by_system[s]['visqol']:.2f} ({by_system[s]['log_mel_l1']:.3f})" for s in names]
        print(f"| {set_name}, {n:.0f} clips | " + " | ".join(cells) + " |")
    print()
    for set_name, by_system in results.items():  # the baseline a published comparison quotes
        for kbps in OPUS_KBPS:
            mos = {
                e: by_system[f"{e}_{kbps}kbps"]["visqol"]
                for e in OPUS_ENCODERS
                if f"{e}_{kbps}kbps" in by_system
            }
            if mos:
                scored = ", ".join(f"{e} {v:.2f}" for e, v in mos.items())
                print(f"{set_name}: stronger Opus at {kbps} kbps: {max(mos, key=mos.get)} ({scored})")
    if args.out:
        args.out.write_text(
            json.dumps({"config": vars(args) | {"out": str(args.out)}, "results": results}, indent=2)
        )


if __name__ == "__main__":
    main()
