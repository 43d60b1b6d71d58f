"""What the diagnostics share: the bundle's engine on CPU, and the clips `musegenie eval edit` takes from a
--data (a manifest or a folder of audio; its centre regions or its random ones), so that a script's figures
are about eval edit's own clips.

A script in this folder imports it as `heldout` (Python puts the script's folder first on the path).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from engine.bundle import Bundle, load_bundle  # noqa: E402
from engine.pipeline import Pipeline  # noqa: E402
from engine.runtime import Runtime, RuntimeConfig  # noqa: E402
from training.data.manifest import read_entries  # noqa: E402
from training.evaluation.edit import Clip, EditEvalConfig, load_clips  # noqa: E402


def add_options(
    parser: argparse.ArgumentParser, clips: int, *, repeat: bool = False, regions: bool = True
) -> None:
    """--bundle, --data (once, or as often as wanted with `repeat`), --clips (default `clips`) and, with
    `regions`, --position and --region-seed, as eval edit spells them."""
    parser.add_argument("--bundle", default="models/default", help="exported bundle")
    if repeat:
        parser.add_argument(
            "--data", required=True, action="append", help="manifest or folder of audio (repeat)"
        )
    else:
        parser.add_argument("--data", required=True, help="manifest or folder of audio")
    parser.add_argument("--clips", type=int, default=clips, help="clips per --data, as eval edit takes them")
    if regions:
        parser.add_argument("--position", default="centre", help="centre or random regions")
        parser.add_argument(
            "--region-seed", type=int, default=0, help="which random regions (--position random)"
        )


def engine(bundle: str | Path | Bundle) -> Pipeline:
    """The engine's pipeline over a bundle (a folder, or one already loaded) on CPU."""
    loaded = bundle if isinstance(bundle, Bundle) else load_bundle(bundle)
    return Pipeline(Runtime(loaded, RuntimeConfig(providers="cpu")))


def clips(
    pipeline: Pipeline, data: str | Path, count: int, position: str = "centre", region_seed: int = 0
) -> list[Clip]:
    """The first `count` clips eval edit takes from `data`, at the bundle's rate and context."""
    b = pipeline.bundle
    config = EditEvalConfig(clips=count, position=position, region_seed=region_seed)
    return load_clips(read_entries(Path(data)), config, b.sample_rate, b.defaults.context_seconds)[0]


def clips_of(pipeline: Pipeline, args: argparse.Namespace, data: str | Path | None = None) -> list[Clip]:
    """`clips` of the options `add_options` added: one --data (or `data`), the regions asked (centre
    without --position)."""
    return clips(
        pipeline,
        args.data if data is None else data,
        args.clips,
        getattr(args, "position", "centre"),
        getattr(args, "region_seed", 0),
    )
