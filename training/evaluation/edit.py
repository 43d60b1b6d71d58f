"""`musegenie eval edit`: the edit as a user hears it, made by the engine's own `Pipeline` on a bundle.

Every clip is downmixed and resampled to the bundle's rate (so every method is scored on the band the
model can produce); one region per clip, with context on both sides, is then rendered by each method:

- `roundtrip`: the region decoded from its own latents (`Pipeline.roundtrip`): the tokenizer's ceiling;
- `edit_inferred`: an edit with the actions the LAM reads in the region (`Pipeline.infer_actions`);
- `edit_other_actions`: an edit with each single action that differs from that reading (scores averaged);
- `edit_second_seed`: the inferred-action edit with the next seed;
- `copy`, `noise`: the non-learned baselines of `training.evaluation.edit_baselines`.

All edits use the bundle's defaults (steps, guidance, samplers, crossfade), as `musegenie serve` does.
Scores (`training.evaluation.edit_scores`), each the mean over clips (geometric for the ratios):
`logmel_l1`, `flatness_ratio`, `seam_flux_ratio`, and `realism` (the two-sample classifier's accuracy over all clips' frames, 0.5 =
indistinguishable from the original regions). Beside them: `action_effect` (mean log-mel L1 between
renderings with two different actions over that between two seeds of the inferred actions: > 1 when the
actions change more than the noise does), `action_fidelity` (how often the LAM reads action a back from a
region edited with a, against chance 1/A), `visqol_roundtrip` (ViSQOL MOS-LQO of the round trip) and, for an
instrument-conditioned bundle with an estimator, `instrument_fidelity` (training.evaluation.edit_instruments:
whether asking for an instrument set makes the estimator hear it, against the same edits unasked).
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from engine import audio as audio_io
from engine.pipeline import Pipeline
from engine.request import EditRequest
from training.data.manifest import Entry
from training.evaluation import edit_scores as scores
from training.evaluation.edit_baselines import BaselineError, copy_baseline, copy_source, shaped_noise
from training.evaluation.edit_instruments import fidelity_for_clip
from training.evaluation.edit_instruments import summarise as summarise_instruments

log = logging.getLogger(__name__)

METHODS = ("roundtrip", "edit_inferred", "edit_other_actions", "edit_second_seed", "copy", "noise")
METRICS = ("logmel_l1", "flatness_ratio", "realism", "seam_flux_ratio")
POSITIONS = ("centre", "random")
MIN_RMS = 1e-3  # regions quieter than this are skipped: silence has no flatness or flux to compare


class EditEvalError(ValueError):
    """Settings or data that leave nothing to evaluate (the message says why)."""


@dataclass
class EditEvalConfig:
    clips: int = 8  # clips to evaluate: the first N of --data long enough for the region and its context
    region_seconds: float = 4.0  # length of the edited region
    context_seconds: float | None = None  # audio kept each side of the region (unset: the bundle's default)
    position: str = "centre"  # where the region sits in a clip: centre, or random (drawn from --seed)
    seed: int = 0  # seed of the edits (the second-seed edit takes seed + 1), the region draw and the noise
    visqol: bool = True  # score the round trip with ViSQOL (audio mode, 48 kHz; about a second per clip)
    page: bool = True  # write index.html with a player and a spectrogram per method per clip


@dataclass
class Clip:
    name: str
    audio: np.ndarray  # (N,) mono at the bundle's rate
    start: int  # region [start, end) in samples
    end: int


def region_bounds(length: int, region: int, context: int, position: str, rng: np.random.Generator) -> int:
    """Start sample of a region of `region` samples with `context` samples free on both sides."""
    if position == "centre":
        return (length - region) // 2
    if position == "random":
        return int(rng.integers(context, length - region - context + 1))
    raise EditEvalError(f"position must be one of {POSITIONS}, got {position!r}")


def load_clips(
    entries: list[Entry], config: EditEvalConfig, sample_rate: int, context_s: float
) -> tuple[list[Clip], list[str]]:
    """The first `config.clips` usable entries as Clips, and one line per entry skipped (and why)."""
    if config.clips < 1:
        raise EditEvalError(f"--clips must be at least 1, got {config.clips}")
    if not config.region_seconds > 0 or context_s < 0:
        raise EditEvalError(
            f"need region_seconds > 0 and context_seconds >= 0, got {config.region_seconds}, {context_s}"
        )
    region = int(round(config.region_seconds * sample_rate))
    context = int(round(context_s * sample_rate))
    rng = np.random.default_rng(config.seed)
    clips, skipped = [], []
    for entry in entries:
        duration = None if entry.end is None else entry.end - entry.start
        audio, _ = audio_io.load(
            entry.path, sample_rate=sample_rate, mono=True, start=entry.start, duration=duration
        )
        audio = audio[0]  # (N,)
        name = entry.path.stem if entry.start == 0 else f"{entry.path.stem}@{entry.start:g}s"
        if len(audio) < region + 2 * context:
            skipped.append(
                f"{name}: {len(audio) / sample_rate:.1f} s is shorter than the region plus its context "
                f"({(region + 2 * context) / sample_rate:.1f} s)"
            )
            continue
        start = region_bounds(len(audio), region, context, config.position, rng)
        if np.sqrt(np.mean(audio[start : start + region] ** 2)) < MIN_RMS:
            skipped.append(f"{name}: the region is silent (the ratios would divide by nothing)")
            continue
        try:
            copy_source(audio, sample_rate, start, start + region, context)
        except BaselineError as err:
            skipped.append(f"{name}: {err}")
            continue
        clips.append(Clip(name, audio, start, start + region))
        if len(clips) == config.clips:
            break
    return clips, skipped


def _score(clip: Clip, signal: np.ndarray, sample_rate: int, fade: int) -> dict[str, float]:
    original, edited = clip.audio[clip.start : clip.end], signal[clip.start : clip.end]
    return {
        "logmel_l1": scores.logmel_l1(original, edited, sample_rate),
        "flatness_ratio": scores.flatness_ratio(original, edited),
        "seam_flux_ratio": scores.seam_flux_ratio(
            clip.audio, signal, sample_rate, clip.start, clip.end, fade
        ),
    }


def _mean(key: str, values: list[float]) -> float:
    """Ratios (`*_ratio`) are averaged geometrically, so one very tonal clip's 80x does not swamp the rest."""
    if key.endswith("_ratio"):
        return float(np.exp(np.mean(np.log(np.maximum(values, 1e-12)))))
    return float(np.mean(values))


def _mean_scores(rows: list[dict[str, float]]) -> dict[str, float]:
    return {key: _mean(key, [r[key] for r in rows]) for key in rows[0]}


@dataclass
class ClipResult:
    row: dict[str, Any]  # the clip's entry of edit.json's per_clip
    signals: dict[str, np.ndarray]  # (N,) whole-file renderings: original, each method, action_<id>
    features: dict[str, list[np.ndarray]]  # method -> (M, F) frame features of its region(s)


def evaluate_clip(
    pipeline: Pipeline,
    clip: Clip,
    context_s: float,
    config: EditEvalConfig,
    stage: Callable[[str], None] = lambda _: None,
) -> ClipResult:
    """Render every method on one clip and score it."""
    b = pipeline.bundle
    d, sr = b.defaults, b.sample_rate
    x = clip.audio[None]  # (1, N)
    region = (clip.start / sr, clip.end / sr)
    stage("encode")
    prepared = pipeline.prepare(x, sr, region, context_s)
    fade = prepared.window.fade
    inferred = [c["action"] for c in pipeline.infer_actions(x, sr, region)]

    def edit(ids: list[int], seed: int) -> np.ndarray:
        return pipeline.render(prepared, ids, None, (d.steps, d.guidance, d.decoder_steps), seed)[0][
            0
        ]  # (N,)

    stage("edit")
    signals = {
        "original": clip.audio,
        "roundtrip": pipeline.roundtrip(prepared, d.decoder_steps, config.seed)[0],
        "edit_inferred": edit(inferred, config.seed),
        "edit_second_seed": edit(inferred, config.seed + 1),
    }
    actions = [a.id for a in b.actions]
    for a in actions:
        signals[f"action_{a}"] = edit([a], config.seed)
    stage("baselines")
    context = int(round(context_s * sr))
    signals["copy"], source = copy_baseline(clip.audio, sr, clip.start, clip.end, context, fade)
    signals["noise"] = shaped_noise(clip.audio, clip.start, clip.end, context, fade, config.seed)

    stage("score")
    others = [a for a in actions if any(i != a for i in inferred)]
    per_method = {m: _score(clip, signals[m], sr, fade) for m in METHODS if m in signals}
    per_method["edit_other_actions"] = _mean_scores(
        [_score(clip, signals[f"action_{a}"], sr, fade) for a in others]
    )
    per_method = {m: per_method[m] for m in METHODS}

    def region_of(name: str) -> np.ndarray:
        return signals[name][clip.start : clip.end]

    pairs = list(itertools.combinations(actions, 2))
    action_distance = (
        float(
            np.mean(
                [scores.logmel_l1(region_of(f"action_{a}"), region_of(f"action_{c}"), sr) for a, c in pairs]
            )
        )
        if pairs
        else float("nan")
    )
    seed_distance = scores.logmel_l1(region_of("edit_inferred"), region_of("edit_second_seed"), sr)
    fidelity = {}
    for a in actions:
        try:
            read = [c["action"] for c in pipeline.infer_actions(signals[f"action_{a}"][None], sr, region)]
        except audio_io.AudioError as err:  # a broken model's output the engine refuses to read: a miss
            log.warning("%s: the edit with action %d cannot be read back (%s)", clip.name, a, err)
            read = []
        fidelity[str(a)] = float(np.mean([r == a for r in read])) if read else 0.0
    base = EditRequest(region, tuple(inferred), context_seconds=context_s, seed=config.seed)
    stage("instruments")
    players = fidelity_for_clip(pipeline, x, sr, base, np.random.default_rng(config.seed))
    visqol = None
    if config.visqol:
        stage("visqol")
        visqol = scores.visqol(region_of("original"), region_of("roundtrip"), sr)
    features = {m: [scores.frame_features(region_of(m), sr)] for m in ("original", *METHODS) if m in signals}
    features["edit_other_actions"] = [scores.frame_features(region_of(f"action_{a}"), sr) for a in others]
    row = {
        "name": clip.name,
        "region": [clip.start / sr, clip.end / sr],
        "inferred_actions": inferred,
        "copy_source_seconds": source / sr,
        "scores": per_method,
        "original_seam_flux_ratio": scores.seam_flux_ratio(
            clip.audio, clip.audio, sr, clip.start, clip.end, fade
        ),
        "action_distance": action_distance,
        "seed_distance": seed_distance,
        "action_fidelity": fidelity,
        "visqol_roundtrip": visqol,
        "instruments": players,
    }
    return ClipResult(row, signals, features)


def _stage(bar: tqdm, name: str, stage: str) -> None:
    bar.set_postfix_str(f"{name}: {stage}")


def summarise(
    results: list[ClipResult], num_actions: int, seed: int, instruments: list[str]
) -> dict[str, Any]:
    """The aggregate keys of edit.json from the clips' results."""
    rows = [r.row for r in results]
    methods: dict[str, dict[str, float]] = {}
    real = [(i, f) for i, r in enumerate(results) for f in r.features["original"]]
    for m in METHODS:
        mean = _mean_scores([row["scores"][m] for row in rows])
        fake = [(i, f) for i, r in enumerate(results) for f in r.features[m]]
        mean["realism"] = scores.two_sample_accuracy(real, fake, seed)
        methods[m] = {k: mean[k] for k in METRICS}
    fidelity = [v for row in rows for v in row["action_fidelity"].values()]
    visqol = [row["visqol_roundtrip"] for row in rows if row["visqol_roundtrip"] is not None]
    seed_distance = float(np.mean([row["seed_distance"] for row in rows]))
    edit_l1 = np.array([row["scores"]["edit_inferred"]["logmel_l1"] for row in rows])  # (clips,)
    copy_l1 = np.array([row["scores"]["copy"]["logmel_l1"] for row in rows])  # (clips,)
    return {
        "methods": methods,
        # per clip, so a few clips with a near-silent region (where a pasted copy costs a lot) cannot carry it
        "edit_vs_copy": {
            "median_ratio": float(np.median(edit_l1 / np.maximum(copy_l1, 1e-12))),
            "closer": float(np.mean(edit_l1 < copy_l1)),
        },
        "action_effect": float(np.mean([row["action_distance"] for row in rows])) / max(seed_distance, 1e-9),
        "action_fidelity": {"accuracy": float(np.mean(fidelity)), "chance": 1.0 / num_actions},
        "visqol_roundtrip": float(np.mean(visqol)) if visqol else None,
        "original_seam_flux_ratio": _mean("_ratio", [row["original_seam_flux_ratio"] for row in rows]),
        "instrument_fidelity": summarise_instruments([row["instruments"] for row in rows], instruments),
    }


def evaluate(
    pipeline: Pipeline,
    entries: list[Entry],
    config: EditEvalConfig,
    out_dir: Path,
    meta: dict[str, Any],
) -> tuple[dict[str, Any], list[ClipResult]]:
    """Evaluate up to `config.clips` clips of `entries`; writes OUT/edit.json; returns it and the renders.

    `meta` carries the "bundle", "data" and "command" keys of edit.json.
    """
    b = pipeline.bundle
    context_s = b.defaults.context_seconds if config.context_seconds is None else config.context_seconds
    if config.visqol and (why := scores.visqol_available()):
        raise EditEvalError(f"{why}; or pass --no-visqol")
    clips, skipped = load_clips(entries, config, b.sample_rate, context_s)
    for line in skipped:
        log.warning("skipped %s", line)
    if not clips:
        raise EditEvalError(
            f"no clip can hold a {config.region_seconds:g} s region with {context_s:g} s of context each side "
            f"and a segment elsewhere to copy ({len(skipped)} tried): " + "; ".join(skipped[:3])
        )
    results = []
    with tqdm(clips, desc="eval edit", unit="clip") as bar:
        for clip in bar:
            stage = partial(_stage, bar, clip.name)
            results.append(evaluate_clip(pipeline, clip, context_s, config, stage))
    summary = {
        **{k: meta[k] for k in ("bundle", "data")},
        "clips": len(results),
        "region_seconds": config.region_seconds,
        "context_seconds": context_s,
        **summarise(results, b.num_actions, config.seed, b.instruments),
        "per_clip": [r.row for r in results],
        "skipped": skipped,
        "defaults": asdict(b.defaults),
        "config": asdict(config),
        "command": meta["command"],
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "edit.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary, results
