"""Merge training collections into one manifest: synth corpora, real-music listings, folders, filter manifests.

The output is a filter manifest (JSON lines, absolute paths) that `musegenie train tokenizer --data` and
`musegenie tokenize --data` read: a filter manifest's rows are kept as they are (failed songs keep only
their good `spans`), a corpus or listing contributes every file whole, a plain folder every audio file.
Each row keeps its provenance (source package and licence, renderer and soundfont), and the command prints
what the mix is made of, per source and licence, as the model card will.
Example: musegenie data merge --out mix.jsonl work/manifest.jsonl work/soundfont-seed0 data/real_filtered.jsonl
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from engine.errors import CommandError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "inputs",
        nargs="+",
        type=Path,
        metavar="INPUT",
        help="a folder (its corpus.jsonl if any, else its audio files), a corpus.jsonl, a real-music listing "
        "or a filter manifest; a file named twice is kept once",
    )
    parser.add_argument("--out", type=Path, required=True, help="manifest to write (replaced atomically)")


def run(args: argparse.Namespace) -> int:
    from engine.published_file import atomic_write
    from training.data.manifest import ManifestError
    from training.data.provenance import data_sources, merge

    try:
        rows = merge(args.inputs)
    except ManifestError as err:
        raise CommandError(str(err)) from err
    if args.out.resolve() in {p.resolve() for p in args.inputs}:
        raise CommandError(f"--out {args.out} is one of the inputs: choose another file")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(args.out, "w") as sink:
        sink.writelines(json.dumps(row) + "\n" for row in rows)
    sources = data_sources(args.out)
    width = max(len(s["source"]) for s in sources)
    for s in sources:
        print(f"{s['source']:<{width}}  {s['files']:>5} files  {s['minutes']:>7.1f} min  {s['licence']}")
    print(f"{len(rows)} files, {sum(s['minutes'] for s in sources):.1f} min -> {args.out}")
    return 0
