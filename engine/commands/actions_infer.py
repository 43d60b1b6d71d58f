"""Infer which action the latent action model hears in each chunk of a region of an audio file, and who
plays there (when the bundle has an instrument estimator)."""

from __future__ import annotations

import argparse
import json

from engine import audio as audio_io
from engine.commands.editor_args import add_engine_arguments, add_region_arguments, open_editor


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_region_arguments(parser)
    add_engine_arguments(parser)
    parser.add_argument(
        "--json", action="store_true", help="print JSON (with every probability) instead of a table"
    )


def run(args: argparse.Namespace) -> int:
    audio, sr = audio_io.load(args.input)
    with open_editor(args) as editor:
        names = {a.id: a.name for a in editor.actions()}
        chunks = editor.infer_actions(audio, sr, args.start, args.end)
    if args.json:
        print(json.dumps([{**c, "name": names.get(c["action"], "")} for c in chunks], indent=2))
        return 0
    print(f"{'start':>8} {'end':>8}  {'action':<24} {'p':>4}  who plays")
    for c in chunks:
        label = f"{c['action']} {names.get(c['action'], '')}"
        players = ",".join(c.get("instruments", [])) or "-"
        print(
            f"{c['start']:8.2f} {c['end']:8.2f}  {label:<24} {c['probabilities'][c['action']]:4.2f}  {players}"
        )
    return 0
