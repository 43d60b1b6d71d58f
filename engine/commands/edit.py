"""Re-imagine a region of an audio file with chosen actions and write the whole file back, edited.

    musegenie edit song.wav --start 12 --end 16 --action 3 -o song_edit.wav
    musegenie edit song.wav --start 12 --end 16 --actions swing,solo -o out.wav --engine gpu-box:50051
    musegenie edit song.wav --start 12 --end 16 --action 2 --instruments sax,bass,drums -o out.wav

Runs on a server (--engine HOST:PORT) or in this process (--bundle DIR, default models/default). The
output has the input's rate and channels; everything outside the region and its short crossfades is
bit-identical to the input. `-o` may name a folder: the result is then `<input stem>_edit.wav` in it. An
output that is the input (the same path, a symlink or a hard link to it) is refused before any work: the
original is never replaced.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from tqdm import tqdm

from engine import audio as audio_io
from engine.commands.editor_args import (
    add_engine_arguments,
    add_instrument_argument,
    add_region_arguments,
    add_sampling_arguments,
    edit_request,
    open_editor,
    split_list,
)
from engine.errors import CommandError
from engine.published_file import remove_stale_temporaries


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_region_arguments(parser)
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--action", help="one action (id or name) for the whole region")
    which.add_argument("--actions", help="comma-separated actions spread evenly across the region")
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        help="where to write the edited audio (WAV); a folder gets <input stem>_edit.wav; never the input",
    )
    add_instrument_argument(parser)
    add_sampling_arguments(parser)
    add_engine_arguments(parser)


def output_path(input_path: Path, output: Path) -> Path:
    """Where to write: `output`, or `<stem>_edit.wav` inside it when it is a folder. Raises CommandError
    when that would replace the input (however it is reached) or cannot be a file, before any work."""
    if output.is_dir():
        output = output / f"{input_path.stem}_edit.wav"
    if output.resolve() == input_path.resolve() or (
        output.exists() and input_path.exists() and os.path.samefile(output, input_path)
    ):
        raise CommandError(f"output {output} is the input file: choose another -o, the original is kept")
    if output.is_dir():
        raise CommandError(f"output {output} is a folder")
    parent = output.parent
    while not parent.exists():  # save_wav creates missing folders; a file in the way cannot become one
        parent = parent.parent
    if not parent.is_dir():
        raise CommandError(f"cannot write {output}: {parent} is not a folder")
    return output


def run(args: argparse.Namespace) -> int:
    output = output_path(args.input, args.output)
    remove_stale_temporaries(output.parent, output.name)  # left by an earlier run that was killed
    actions = [args.action] if args.action is not None else split_list(args.actions)
    if not actions:
        raise CommandError("--actions is empty")
    request = edit_request(args, actions)
    header = audio_io.info(args.input)
    with open_editor(args) as editor, tqdm(total=100, desc="edit", unit="%", leave=False) as bar:

        def on_progress(fraction: float, stage: str) -> None:
            bar.set_postfix_str(stage)
            bar.update(round(100 * fraction) - bar.n)

        # An engine gets only the region's window and, once, the song at its rate: any length edits.
        result = editor.edit_file(args.input, request, output, on_progress=on_progress)
    print(
        f"wrote {output} ({header.channels} ch, {header.samplerate} Hz, region {args.start:g}-{args.end:g} s, "
        f"actions {actions}; material: {result.source.text})"
    )
    return 0
