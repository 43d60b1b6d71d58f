"""Write manifests of the free-licensed real music in Debian packages (install them with scripts/real_music.sh).

Every song of drascula-music, asc-music, fretsonfire-songs-muldjord and fretsonfire-songs-sectoid is decoded
to a 16 kHz mono FLAC under OUT_DIR (stem songs mixed, with a NAME.json of guitar activity from the guitar
stem); OUT_DIR/real_music.jsonl lists the training songs and OUT_DIR/real_music_heldout.jsonl the songs kept
out for evaluation, each with its source package, source files, licence and copyright holder.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from engine.errors import CommandError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from training.data.real_music import PACKAGES

    parser.add_argument("out_dir", type=Path, help="folder for the decoded songs and the two manifests")
    parser.add_argument(
        "--packages", nargs="+", default=list(PACKAGES), help="which of the packages to read (default: all)"
    )
    parser.add_argument(
        "--held-out-fraction",
        type=float,
        default=0.25,
        help="share of each package's songs kept for evaluation",
    )
    parser.add_argument("--sample-rate", type=int, default=16000, help="sample rate of the decoded songs")


def run(args: argparse.Namespace) -> int:
    from training.data.real_music import HELD_OUT_NAME, TRAIN_NAME, RealMusicError, write_real_music

    if not 0.0 <= args.held_out_fraction < 1.0:
        raise CommandError(f"--held-out-fraction must lie in [0, 1), got {args.held_out_fraction}")
    try:
        train, held = write_real_music(
            args.out_dir, tuple(args.packages), args.held_out_fraction, args.sample_rate
        )
    except RealMusicError as err:
        raise CommandError(str(err)) from err
    for name, entries in ((TRAIN_NAME, train), (HELD_OUT_NAME, held)):
        minutes = sum(e["duration"] for e in entries) / 60
        print(f"{len(entries)} songs, {minutes:.1f} min -> {args.out_dir / name}")
    return 0
