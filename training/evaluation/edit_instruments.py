"""Instrument fidelity of edits: when an edit asks who should play, does the estimator hear them?

For each clip the bundle's instrument estimator first reads who plays in the original region (H). Three
requests are then rendered with the region's own inferred actions: H plus one instrument that is absent
(`add`), H minus one that plays (`remove`, when two or more play), and H itself (`keep`). Each is scored
against the same edit without an instrument request, so what the request itself changes is visible:

- `add`: the added instrument is heard in the edited region (in at least half of its seconds,
  `engine.instruments.HEARD_SHARE`);
- `remove`: the removed one is not;
- `exact`: the set heard (instruments present in at least half of the seconds) is exactly the set asked;
- per instrument, precision and recall of "asked to play" against "heard playing", over every request, and
  the add / remove success of the requests that changed that instrument;
- what asking costs: each request's log-mel L1 to the original region and its spectral flatness relative
  to it, beside the same figures for the edit without a request (an added horn must still sound like music).

Only instrument-conditioned bundles with an estimator can be asked; `fidelity_for_clip` returns None for
others and `summarise` reports why. Letters: S seconds, I instruments.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from engine import audio as audio_io
from engine.pipeline import Pipeline
from engine.request import EditRequest
from training.evaluation import edit_scores as scores


def heard_in(
    pipeline: Pipeline, audio: np.ndarray, sample_rate: int, region: tuple[float, float]
) -> set[str]:
    """Who the bundle's estimator hears in `region` of (C, N) audio, in the bundle's vocabulary: those
    playing in at least `engine.instruments.HEARD_SHARE` of its seconds (`Pipeline.heard_in`, the rule the
    song editor checks a request by)."""
    heard, names = pipeline.players_in(audio, sample_rate, region), pipeline.bundle.instruments
    if heard is None or not names:
        return set()
    return {name for name, playing in zip(names, heard, strict=True) if playing}


def fidelity_for_clip(
    pipeline: Pipeline, audio: np.ndarray, sample_rate: int, base: EditRequest, rng: np.random.Generator
) -> dict[str, Any] | None:
    """The three instrument requests for one clip (see the module docstring); None if it cannot be asked."""
    vocabulary = pipeline.bundle.instruments
    if not pipeline.conditioned or pipeline.estimator is None or not vocabulary:
        return None
    original = heard_in(pipeline, audio, sample_rate, base.region)
    unasked = pipeline.edit(audio, sample_rate, base).audio
    heard_unasked = heard_in(pipeline, unasked, sample_rate, base.region)
    start, end = int(round(base.region[0] * sample_rate)), int(round(base.region[1] * sample_rate))
    reference = audio_io.to_mono(audio[:, start:end])[0]  # (N',)

    def quality(edited: np.ndarray) -> dict[str, float]:
        region = audio_io.to_mono(edited[:, start:end])[0]
        return {
            "logmel_l1": scores.logmel_l1(reference, region, sample_rate),
            "flatness_ratio": scores.flatness_ratio(reference, region),
        }

    requests: dict[str, tuple[set[str], str | None]] = {"keep": (set(original), None)}
    absent = sorted(set(vocabulary) - original)
    if absent:
        x = str(rng.choice(absent))
        requests["add"] = (original | {x}, x)
    if len(original) >= 2:
        y = str(rng.choice(sorted(original)))
        requests["remove"] = (original - {y}, y)
    record: dict[str, Any] = {
        "original": sorted(original),
        "unasked": sorted(heard_unasked),
        "unasked_quality": quality(unasked),
    }
    for kind, (asked, changed) in requests.items():
        if not asked:
            continue
        request = replace(base, instruments=tuple(sorted(asked)))
        result = pipeline.edit(audio, sample_rate, request)
        edited = result.audio
        heard = heard_in(pipeline, edited, sample_rate, base.region)
        entry: dict[str, Any] = {"asked": sorted(asked), "heard": sorted(heard), "exact": heard == asked}
        entry["source"], entry["from_song"] = result.source.text, result.source.kind == "song"
        entry["quality"] = quality(edited)
        if changed is not None:
            entry["instrument"] = changed
            present, present_unasked = changed in heard, changed in heard_unasked
            entry["success"] = present if kind == "add" else not present
            entry["success_unasked"] = present_unasked if kind == "add" else not present_unasked
        record[kind] = entry
    return record


def summarise(records: list[dict[str, Any] | None], vocabulary: list[str]) -> dict[str, Any]:
    """Rates over clips: add / remove success with and without the request, exact-set rate, the share of
    requests made of the song's material, and per-instrument precision and recall of asked-to-play vs
    heard-playing."""
    usable = [r for r in records if r is not None]
    if not usable:
        return {"available": False, "reason": "the bundle is not instrument-conditioned or has no estimator"}
    out: dict[str, Any] = {"available": True, "clips": len(usable)}
    for kind in ("add", "remove"):
        entries = [r[kind] for r in usable if kind in r]
        out[kind] = {
            "requests": len(entries),
            "success": float(np.mean([e["success"] for e in entries])) if entries else None,
            "success_unasked": float(np.mean([e["success_unasked"] for e in entries])) if entries else None,
        }
    every = [r[k] for r in usable for k in ("keep", "add", "remove") if k in r]
    out["exact"] = float(np.mean([e["exact"] for e in every])) if every else None
    made = [e["from_song"] for e in every if "from_song" in e]  # records from before sources: none
    out["from_song"] = float(np.mean(made)) if made else None
    out["quality"] = _quality(usable)
    per: dict[str, dict[str, float | None]] = {}
    for name in vocabulary:
        asked = np.array([name in e["asked"] for e in every], bool)
        heard = np.array([name in e["heard"] for e in every], bool)
        per[name] = {
            "precision": float((asked & heard).sum() / heard.sum()) if heard.any() else None,
            "recall": float((asked & heard).sum() / asked.sum()) if asked.any() else None,
        }
        for kind, key in (("add", "added"), ("remove", "removed")):  # success of requests changing this one
            mine = [r[kind]["success"] for r in usable if kind in r and r[kind].get("instrument") == name]
            per[name][key] = float(np.mean(mine)) if mine else None
            per[name][f"{key}_requests"] = len(mine)
    out["per_instrument"] = per
    return out


def _quality(records: list[dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """Mean log-mel L1 and flatness ratio of each kind of request and of the same edits unasked (records from
    before these scores existed have none: None)."""
    out: dict[str, dict[str, float | None]] = {}
    for kind in ("unasked", "keep", "add", "remove"):
        if kind == "unasked":
            rows = [r.get("unasked_quality") for r in records]
        else:
            rows = [r[kind].get("quality") for r in records if kind in r]
        rows = [q for q in rows if q]
        out[kind] = {
            key: float(np.mean([q[key] for q in rows])) if rows else None
            for key in ("logmel_l1", "flatness_ratio")
        }
        out[kind]["requests"] = len(rows)
    return out


def format_summary(summary: dict[str, Any]) -> str:
    """A few lines for the console after the edit table."""
    if not summary.get("available"):
        return f"instrument fidelity: not measured ({summary.get('reason')})"

    def pct(value: float | None) -> str:
        return "-" if value is None else f"{100 * value:.0f}%"

    lines = [
        f"instrument fidelity over {summary['clips']} clips (exact set asked = heard: {pct(summary['exact'])}; "
        f"made of the song's material: {pct(summary.get('from_song'))})"
    ]
    for kind, verb in (("add", "heard when added"), ("remove", "gone when removed")):
        s = summary[kind]
        lines.append(
            f"  {verb}: {pct(s['success'])} of {s['requests']} requests (without the request: {pct(s['success_unasked'])})"
        )
    quality = summary.get("quality", {})
    if quality.get("unasked", {}).get("logmel_l1") is not None:
        parts = [
            f"{kind} {q['logmel_l1']:.3f} / {q['flatness_ratio']:.2f}x"
            for kind, q in quality.items()
            if q.get("logmel_l1") is not None
        ]
        lines.append("  log-mel L1 / flatness of the region: " + ", ".join(parts))
    for name, s in summary["per_instrument"].items():
        lines.append(
            f"  {name:<10} precision {pct(s['precision'])}  recall {pct(s['recall'])}  "
            f"heard when added {pct(s.get('added'))} of {s.get('added_requests', 0)}  "
            f"gone when removed {pct(s.get('removed'))} of {s.get('removed_requests', 0)}"
        )
    return "\n".join(lines)
