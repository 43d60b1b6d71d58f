"""Have a running engine index a song now, so that its first song-aware edit is as quick as later ones.

    musegenie prepare song.wav --engine 127.0.0.1:50051
    musegenie prepare song.wav --engine gpu-box:50051 --tls-ca ca.pem     # token from $MUSEGENIE_TOKEN

A song-aware edit (closeness above 0, the default) draws on the whole song, which the engine reads once
(an index cached by the song's content) on the song's first edit: seconds for a few minutes of music on a
laptop. `prepare` sends the song at the model's rate if the engine lacks it and builds that index now, in
the engine's queue like any edit, so the edits that follow skip it. An engine that keeps no songs (a Ray
cluster gateway) has nothing to prepare: the command says so and succeeds.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tqdm import tqdm

from engine import clip
from engine.client import DEFAULT_TARGET, EditorError
from engine.commands.editor_args import add_connection_arguments, engine_client
from engine.errors import CommandError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", type=Path, help="the song: an audio file (any rate, any channel count)")
    group = parser.add_argument_group("engine")
    group.add_argument(
        "--engine",
        metavar="HOST:PORT",
        default=DEFAULT_TARGET,
        help=f"the running `musegenie serve` that will edit the song (default {DEFAULT_TARGET})",
    )
    add_connection_arguments(group)


def run(args: argparse.Namespace) -> int:
    song = clip.FileSource(args.input)  # a missing, unreadable or cut-short file: AudioError, said at once
    try:
        with engine_client(args) as client, tqdm(total=100, desc="index", unit="%", leave=False) as bar:

            def on_progress(fraction: float, stage: str) -> None:
                bar.set_postfix_str(stage)
                bar.update(round(100 * fraction) - bar.n)

            done = client.prepare(song, on_progress=on_progress)
    except EditorError as err:
        raise CommandError(f"engine {args.engine}: {err}") from err
    if not done.indexed:
        print(f"{args.input}: not prepared: {done.note}")
    elif done.built:
        print(f"{args.input}: indexed in {done.seconds:.1f} s on the engine; its edits start at once")
    else:
        print(f"{args.input}: the engine had indexed it already; its edits start at once")
    return 0
