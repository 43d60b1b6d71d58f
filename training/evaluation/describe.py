"""`musegenie actions describe`: what each action does, measured on the audio its edits produce.

On audio the bundle did not see being named (held-out clips, or any music), a few regions per clip are
edited with every action through the engine, exactly as a user gets them (`Pipeline.explore`, the bundle's
defaults: closeness, steps, guidance, seed), and every edit's region is measured (engine.descriptors:
loudness, brightness, onsets, percussive share, notes, register, range, polyphony, who plays). Each action
is then named from how its edits differ from the other actions' edits of the same regions
(training.evaluation.action_names). Nothing but the audio is read: a corpus's annotations play no part.

Clips are taken evenly spread over each `--data` listing (several listings share the clips), and each
clip's regions sit evenly spaced inside it with the bundle's context free on both sides.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from engine import audio as audio_io
from engine.descriptors import catalogue, measure
from engine.pipeline import Pipeline
from engine.request import EditRequest
from training.data.manifest import Entry
from training.evaluation.action_names import name_actions

log = logging.getLogger(__name__)

MIN_RMS = 1e-3  # regions quieter than this are skipped: silence has no register or brightness


class DescribeError(ValueError):
    """Settings or data that leave nothing to describe (the message says why)."""


@dataclass
class DescribeConfig:
    clips: int = 8  # clips to edit, spread evenly over --data (a share of each when several are given)
    regions: int = 2  # regions per clip, evenly spaced: every action edits each one
    region_seconds: float = 4.0  # length of an edited region (the explore default a user would select)
    seed: int = 0  # seed of the edits (the same for every action, as `actions explore` does)
    max_clip_seconds: float = 240.0  # a longer file is read only this far (its regions lie inside it)


@dataclass
class Region:
    clip: str
    audio: np.ndarray  # (N,) the whole clip, mono at the bundle's rate
    start: float  # seconds
    end: float


def spread_entries(listings: list[list[Entry]], clips: int) -> list[Entry]:
    """Up to `clips` entries, shared between the listings, each listing's evenly spread over it.

    Every listing's candidates follow its chosen ones, so a short or silent file is replaced by a neighbour.
    """
    if clips < 1:
        raise DescribeError(f"--clips must be at least 1, got {clips}")
    ordered: list[list[Entry]] = []
    for i, entries in enumerate(listings):
        share = clips // len(listings) + (i < clips % len(listings))
        if not entries or share == 0:
            ordered.append([])
            continue
        picks = sorted({int(j) for j in np.linspace(0, len(entries) - 1, share).round()})
        ordered.append([entries[j] for j in picks] + [e for j, e in enumerate(entries) if j not in picks])
    return [e for group in ordered for e in group]


def load_regions(
    listings: list[list[Entry]], config: DescribeConfig, sample_rate: int, context_s: float
) -> tuple[list[Region], list[str]]:
    """The regions to edit, and one line per file skipped (and why)."""
    if not config.region_seconds > 0 or config.regions < 1:
        raise DescribeError("need region_seconds > 0 and regions >= 1")
    need = config.region_seconds + 2 * context_s
    regions: list[Region] = []
    skipped: list[str] = []
    candidates = spread_entries(listings, config.clips)
    shares = [
        config.clips // len(listings) + (i < config.clips % len(listings)) for i in range(len(listings))
    ]
    taken = [0] * len(listings)
    owner = {id(e): i for i, entries in enumerate(listings) for e in entries}
    for entry in candidates:
        group = owner[id(entry)]
        if taken[group] >= shares[group]:
            continue
        duration = (
            config.max_clip_seconds
            if entry.end is None
            else min(entry.end - entry.start, config.max_clip_seconds)
        )
        audio, _ = audio_io.load(
            entry.path, sample_rate=sample_rate, mono=True, start=entry.start, duration=duration
        )
        audio = audio[0]  # (N,)
        seconds = len(audio) / sample_rate
        name = entry.path.stem if entry.start == 0 else f"{entry.path.stem}@{entry.start:g}s"
        if seconds < need:
            skipped.append(f"{name}: {seconds:.1f} s is shorter than a region and its context ({need:.1f} s)")
            continue
        mine = []
        free = seconds - need
        for j in range(config.regions):
            start = context_s + free * (j + 1) / (config.regions + 1)
            lo, hi = int(start * sample_rate), int((start + config.region_seconds) * sample_rate)
            if np.sqrt(np.mean(audio[lo:hi] ** 2)) >= MIN_RMS:
                mine.append(Region(name, audio, start, start + config.region_seconds))
        if not mine:
            skipped.append(f"{name}: its regions are silent")
            continue
        regions += mine
        taken[group] += 1
    return regions, skipped


def describe_region(pipeline: Pipeline, region: Region, seed: int) -> dict[str, Any]:
    """Edit one region with every action; the descriptors of the original and of each edit."""
    sr = pipeline.bundle.sample_rate
    lo, hi = int(round(region.start * sr)), int(round(region.end * sr))
    clips, sources = [region.audio[lo:hi]], {}
    ids = []
    for variant in pipeline.explore(
        region.audio[None], sr, EditRequest((region.start, region.end), seed=seed)
    ):
        ids.append(variant.action.id)
        clips.append(variant.audio[0, lo:hi])
        sources[str(variant.action.id)] = variant.source.text
    measured = measure(clips, sr, pipeline.estimator)
    return {
        "clip": region.clip,
        "region": [region.start, region.end],
        "original": measured.values[0],
        "edits": {str(a): v for a, v in zip(ids, measured.values[1:], strict=True)},
        "sources": sources,
        "missing": measured.missing,
    }


def describe(
    pipeline: Pipeline, listings: list[list[Entry]], config: DescribeConfig, meta: dict[str, Any]
) -> dict[str, Any]:
    """Measure and name every action of the pipeline's bundle; the describe.json object.

    `meta` carries its "bundle", "data" and "command" keys.
    """
    started = time.perf_counter()
    b = pipeline.bundle
    context_s = b.defaults.context_seconds
    regions, skipped = load_regions(listings, config, b.sample_rate, context_s)
    for line in skipped:
        log.warning("skipped %s", line)
    if not regions:
        raise DescribeError(
            f"no clip holds a {config.region_seconds:g} s region with {context_s:g} s of context each side: "
            + "; ".join(skipped[:3])
        )
    rows = []
    with tqdm(regions, desc="actions describe", unit="region") as bar:
        for region in bar:
            bar.set_postfix_str(region.clip)
            rows.append(describe_region(pipeline, region, config.seed))
    estimator = pipeline.estimator
    descriptors = catalogue(estimator.names if estimator is not None else ())
    per_region = [{int(a): v for a, v in row["edits"].items()} for row in rows]
    actions = [a.id for a in b.actions]
    named = name_actions(per_region, actions, descriptors)
    missing = {k: v for row in rows for k, v in row["missing"].items()}
    return {
        **{k: meta[k] for k in ("bundle", "data")},
        "clips": len({r.clip for r in regions}),
        "regions": len(rows),
        "region_seconds": config.region_seconds,
        "seconds": time.perf_counter() - started,
        "missing": missing,
        "descriptors": {k: asdict(d) for k, d in descriptors.items()},
        "actions": [
            {
                "id": n.id,
                "name": n.name,
                "description": n.description,
                "claims": [{"descriptor": k, "direction": s} for k, s in n.claims],
                "name_fidelity": n.fidelity,
                "moves": [asdict(m) for m in n.moves],
            }
            for n in named
        ],
        "per_region": [{k: v for k, v in row.items() if k != "missing"} for row in rows],
        "skipped": skipped,
        "config": asdict(config),
        "command": meta["command"],
    }


def write(summary: dict[str, Any], out: Path) -> Path:
    """OUT/describe.json (NaN written as null)."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / "describe.json"

    def clean(value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    path.write_text(json.dumps(clean(summary), indent=2) + "\n")
    return path
