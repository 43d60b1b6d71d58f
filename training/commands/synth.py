"""Render the synthetic jazz corpus: OUT_DIR/NAME.wav + NAME.json + NAME.mid per piece and OUT_DIR/corpus.jsonl.

Swing pieces at 90-260 BPM in every key: ii-V-I progressions, piano/guitar comping, walking or pedal bass,
drums (sticks or brushes; swing, double time, stop-time) and horn/vibes/guitar solos (with --backing, a
second horn or the vibes playing backgrounds or soli behind them), in whole-second sections with 1-3 annotated
musical events at each boundary. Played by sampled instruments (a General MIDI soundfont through FluidSynth)
or by the additive synthesiser. Deterministic for a seed, whatever --workers.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path

from engine.audio import load
from engine.cli_args import add_dataclass_arguments, dataclass_from_args
from engine.errors import CommandError


@dataclass
class SynthConfig:
    minutes: float = 10.0  # total minutes of music to render
    seed: int = 0  # corpus seed: same seed, same bytes
    workers: int = 1  # parallel worker processes (the output does not depend on it)
    degrade_fraction: float = 0.0  # fraction of pieces given old-recording damage and labelled quality "bad"
    piece_seconds: tuple[int, ...] = (20, 40)  # shortest and longest piece, in seconds
    sample_rate: int = 16000  # output sample rate in Hz
    subtype: str = "PCM_16"  # WAV sample format (PCM_16, PCM_24, FLOAT)
    renderer: str = "auto"  # soundfont (sampled instruments through FluidSynth), additive, or auto (soundfont if installed)
    soundfont: Path | None = (
        None  # General MIDI .sf2/.sf3 (default: the first of /usr/share/sounds/sf2/... found)
    )
    backing: float = 0.0  # weight of a second horn or the vibes coming in on backgrounds behind the soloist at a section boundary, against about 1 for an instrument entering (0: never, the corpora made before this option; 1.5: behind about two in five of the seconds with a soloist)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out_dir", type=Path, help="folder to write the pieces and corpus.jsonl into")
    add_dataclass_arguments(parser, SynthConfig)
    parser.add_argument(
        "--picture", type=Path, default=None, help="also draw spectrograms of the first pieces to this PNG"
    )


def run(args: argparse.Namespace) -> int:
    from training.data.synth import write_corpus

    config = dataclass_from_args(SynthConfig, args)
    if config.minutes <= 0:
        raise CommandError(f"--minutes must be positive, got {config.minutes}")
    if len(config.piece_seconds) != 2:
        raise CommandError("--piece-seconds takes two numbers: the shortest and the longest piece")
    if not 0.0 <= config.degrade_fraction <= 1.0:
        raise CommandError(f"--degrade-fraction must lie in [0, 1], got {config.degrade_fraction}")
    if not 0.0 <= config.backing < float("inf"):
        raise CommandError(f"--backing must be a number >= 0, got {config.backing}")
    if config.renderer not in ("auto", "soundfont", "additive"):
        raise CommandError(f"--renderer must be auto, soundfont or additive, got {config.renderer!r}")
    started = time.perf_counter()
    entries = write_corpus(args.out_dir, **dataclasses.asdict(config))
    seconds = time.perf_counter() - started
    audio_s = sum(e["duration"] for e in entries)
    bad = sum(e["quality"] == "bad" for e in entries)
    played = entries[0]["renderer"] + (f" ({entries[0]['soundfont']})" if entries[0]["soundfont"] else "")
    print(
        f"{len(entries)} pieces played by {played}, {audio_s / 60:.1f} min of audio ({bad} degraded) "
        f"in {seconds:.1f} s "
        f"({audio_s / seconds:.0f}x real time with {config.workers} worker(s)) -> {args.out_dir}/corpus.jsonl"
    )
    if args.picture:
        _picture(args.out_dir, entries, args.picture)
        print(f"spectrograms -> {args.picture}")
    return 0


def _picture(out_dir: Path, entries: list[dict], path: Path) -> None:
    """The first two good pieces and the first damaged one, titled with what plays."""
    from engine.spectrogram import save_spectrograms

    chosen = [e for e in entries if e["quality"] == "good"][:2] + [
        e for e in entries if e["quality"] == "bad"
    ][:1]
    panels = []
    for entry in chosen:
        ann = json.loads((out_dir / entry["annotations"]).read_text())
        audio, sr = load(out_dir / entry["path"])
        events = ", ".join(
            f"{e['time']:.0f}s {e['type']} {e['instrument'] or ''}".strip() for e in ann["events"][:6]
        )
        damage = f" damaged: {'+'.join(ann['degradations'])}" if ann["degradations"] else ""
        panels.append((f"{ann['name']}: {ann['key']}, {ann['tempo']:.0f} BPM{damage} | {events}", audio, sr))
    save_spectrograms(path, panels, title="musegenie synthetic jazz corpus")
