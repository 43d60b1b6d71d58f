"""Choosing the clips a person labels, and reading them.

By default a clip is the first 5 s of a song, as in the seed. Songs can be drawn evenly across the values of
a metadata column (for example `year`), so that old recordings are not under-represented in a collection
where most songs are recent: numeric columns are cut into quantile bins, other columns are taken as
categories, and the draw goes round the bins in turn.
"""

from __future__ import annotations

import contextlib
import logging
import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine import audio as audio_io
from training.data.quality.features import FeatureConfig
from training.data.quality.sources import Source

log = logging.getLogger(__name__)

MISSING = "(missing)"


@dataclass(frozen=True)
class Clip:
    path: Path  # absolute audio path
    start: float  # seconds from the start of the song
    duration: float  # seconds


def _bins(sources: list[Source], column: str, num_bins: int) -> dict[str, list[Source]]:
    values = [s.metadata.get(column) for s in sources]
    numeric = {}
    for source, value in zip(sources, values, strict=True):
        with contextlib.suppress(TypeError, ValueError):
            numeric[id(source)] = float(value)
    groups: dict[str, list[Source]] = defaultdict(list)
    present = [v for v in values if v not in (None, "")]
    if present and len(numeric) == len(present):  # a numeric column: quantile bins
        edges = np.quantile(list(numeric.values()), np.linspace(0, 1, num_bins + 1)[1:-1])
        for source in sources:
            value = numeric.get(id(source))
            name = MISSING if value is None else f"bin{int(np.searchsorted(edges, value, side='right'))}"
            groups[name].append(source)
    else:
        for source, value in zip(sources, values, strict=True):
            groups[MISSING if value in (None, "") else str(value)].append(source)
    if MISSING in groups:
        log.warning(
            "%d songs have no %r value; they are drawn as one more group", len(groups[MISSING]), column
        )
    return dict(groups)


def choose_sources(
    sources: list[Source], n: int, seed: int = 0, bias_column: str | None = None, num_bins: int = 5
) -> list[Source]:
    """Up to n distinct songs in a seeded order; with bias_column, evenly across its bins/categories."""
    rng = random.Random(seed)
    if bias_column is None:
        chosen = list(sources)
        rng.shuffle(chosen)
        return chosen[:n]
    groups = [list(g) for _, g in sorted(_bins(sources, bias_column, num_bins).items())]
    for group in groups:
        rng.shuffle(group)
    chosen = []
    while len(chosen) < n and any(groups):
        for group in groups:
            if group and len(chosen) < n:
                chosen.append(group.pop())
    return chosen


def sample_clips(
    sources: list[Source],
    n: int,
    seed: int = 0,
    duration: float = 5.0,
    position: str = "head",
    bias_column: str | None = None,
) -> list[Clip]:
    """One clip per chosen song: its first `duration` seconds ("head") or a random stretch ("random")."""
    if position not in ("head", "random"):
        raise ValueError(f"position must be 'head' or 'random', got {position!r}")
    rng = random.Random(seed + 1)
    clips = []
    for source in choose_sources(sources, n, seed, bias_column):
        start = 0.0
        if position == "random":
            try:
                header = audio_io.info(source.path)
            except audio_io.AudioError as err:
                log.warning("skipped: %s", err)
                continue
            length = header.frames / header.samplerate
            start = round(rng.uniform(0.0, max(length - duration, 0.0)), 3)
        clips.append(Clip(source.path, start, duration))
    return clips


def load_clip(
    path: str | Path, start: float, duration: float, config: FeatureConfig = FeatureConfig()
) -> np.ndarray:
    """The clip as (N,) float32 mono audio at config.sample_rate (raises engine.audio.AudioError)."""
    audio, _ = audio_io.load(path, sample_rate=config.sample_rate, mono=True, start=start, duration=duration)
    return audio[0]  # (N,)
