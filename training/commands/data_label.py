"""Label the recording quality of clips: listen (or look at the mel spectrogram) and answer good or bad.

Clips are the first 5 s of songs drawn from AUDIO_DIR_OR_MANIFEST (a folder of audio, a corpus.jsonl, a
filter manifest or a CSV with a `path` column); --bias-column draws evenly across a metadata column such as
`year` so old recordings are not under-represented. Answers are appended to --out (path,start,duration,label)
as they are given: quit at any time and run the same command again to carry on.

Non-interactive: --from-csv takes labels from a CSV (path,start[,duration],label); --from-annotations labels
the sampled clips of the synthetic corpus from its `quality` annotations.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from engine.errors import CommandError
from training.data.quality.clips import sample_clips
from training.data.quality.labelling import Player, answered, label_clips
from training.data.quality.labels import Label, append_labels, clip_key, labels_from_annotations, read_labels
from training.data.quality.sources import list_sources

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "input",
        metavar="AUDIO_DIR_OR_MANIFEST",
        type=Path,
        help="folder of audio, corpus.jsonl, filter manifest or CSV with a 'path' column",
    )
    parser.add_argument(
        "--out", type=Path, required=True, help="labels CSV to append to (path,start,duration,label)"
    )
    parser.add_argument("--n", type=int, default=200, help="number of clips to label")
    parser.add_argument(
        "--seed", type=int, default=0, help="seeds which songs are drawn (same seed = same clips)"
    )
    parser.add_argument("--duration", type=float, default=5.0, help="clip length in seconds")
    parser.add_argument(
        "--position",
        choices=("head", "random"),
        default="head",
        help="clip from the start of each song (as in the seed) or from a random point",
    )
    parser.add_argument(
        "--bias-column",
        default=None,
        metavar="COLUMN",
        help="draw songs evenly across this metadata column of the input listing (e.g. year)",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--from-csv",
        type=Path,
        default=None,
        metavar="CSV",
        help="take labels from this CSV (path,start[,duration],label; relative paths are "
        "relative to AUDIO_DIR_OR_MANIFEST's folder) instead of asking",
    )
    source.add_argument(
        "--from-annotations",
        action="store_true",
        help="label the sampled clips from the synthetic corpus' 'quality' annotations",
    )
    parser.add_argument(
        "--pictures",
        type=Path,
        default=None,
        metavar="DIR",
        help="where spectrogram PNGs go (default: OUT's folder/<OUT name>_spectrograms)",
    )
    parser.add_argument(
        "--no-play", action="store_true", help="do not play audio (only show the spectrograms)"
    )
    parser.add_argument(
        "--no-show", action="store_true", help="save the spectrogram pictures without opening windows"
    )


def _append_new(out: Path, labels: list[Label]) -> int:
    done = answered(out)
    new = [item for item in labels if clip_key(item.path, item.start) not in done]
    append_labels(out, new)
    return len(new)


def run(args: argparse.Namespace) -> int:
    try:
        sources = list_sources(args.input)
    except (FileNotFoundError, ValueError) as err:
        raise CommandError(str(err)) from err
    if args.from_csv is not None:
        base = args.input if args.input.is_dir() else args.input.parent
        try:
            labels = read_labels(args.from_csv, args.duration, base=base)
        except (OSError, ValueError) as err:
            raise CommandError(str(err)) from err
        missing = [item for item in labels if not item.path.is_file()]
        for item in missing:
            log.warning("skipped, no such audio file: %s", item.path)
        added = _append_new(args.out, [item for item in labels if item.path.is_file()])
        print(f"{added} labels added to {args.out} from {args.from_csv} ({len(missing)} rows without audio)")
        return 0
    clips = sample_clips(sources, args.n, args.seed, args.duration, args.position, args.bias_column)
    if args.from_annotations:
        try:
            labels = labels_from_annotations(clips, sources)
        except ValueError as err:
            raise CommandError(
                f"{err}; --from-annotations needs the synthetic corpus (musegenie synth)"
            ) from err
        added = _append_new(args.out, labels)
        good = sum(item.label == "good" for item in labels)
        print(
            f"{added} labels added to {args.out} ({good} good, {len(labels) - good} bad among {len(labels)} clips)"
        )
        return 0
    pictures = args.pictures or args.out.parent / f"{args.out.stem}_spectrograms"
    player = None if args.no_play else Player()
    result = label_clips(clips, args.out, pictures, say=print, player=player, show=not args.no_show)
    print(
        f"this session: {result.good} good, {result.bad} bad, {result.skipped} skipped; "
        f"{result.remaining} clips left"
        + (" (run the same command again to carry on)" if result.remaining else "")
    )
    return 0
