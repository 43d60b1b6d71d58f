"""`eval edit`'s name_fidelity: is each action's name true of its edits of held-out audio?

Every clip's region is edited once per action (edit.py's `action_<id>` renderings, the bundle's defaults);
each edit is measured (engine.descriptors) and an action's name *held* on the clip when every descriptor
its name claims (the manifest's `claims`, from `actions describe`) moved in the claimed direction from the
median of the other actions' edits of the same region (engine.descriptors.holds). name_fidelity is the
share of clips on which it held, per action, and its mean over actions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from engine.bundle import Action
from engine.descriptors import holds, measure
from engine.pipeline import Pipeline

NOT_DESCRIBED = "the bundle's actions were never described (run `musegenie actions describe --record`)"


def names_for_clip(
    pipeline: Pipeline, regions: dict[int, np.ndarray], original: np.ndarray
) -> dict[str, Any]:
    """Whether each action's name held on one clip: `regions` maps action id -> its edit's region (N,),
    `original` is the unedited region. A name whose claimed descriptor could not be measured is None."""
    ids = sorted(regions)
    measured = measure(
        [original, *(regions[a] for a in ids)], pipeline.bundle.sample_rate, pipeline.estimator
    )
    values = dict(zip(ids, measured.values[1:], strict=True))
    held: dict[str, bool | None] = {}
    for action in pipeline.actions:
        measurable = action.claims and all(k in values[action.id] for k, _ in action.claims)
        held[str(action.id)] = holds(values, action.id, action.claims) if measurable else None
    return {
        "held": held,
        "missing": measured.missing,
        "descriptors": {"original": measured.values[0], **{str(a): values[a] for a in ids}},
    }


def summarise(rows: Sequence[dict[str, Any]], actions: Sequence[Action]) -> dict[str, Any]:
    """Per action: name, claims and name_fidelity (share of clips where it held); their mean."""
    if not any(a.claims for a in actions):
        return {"per_action": {}, "mean": None, "note": NOT_DESCRIBED}
    per_action = {}
    for a in actions:
        held = [row["held"][str(a.id)] for row in rows if row["held"].get(str(a.id)) is not None]
        per_action[str(a.id)] = {
            "name": a.name,
            "claims": [{"descriptor": k, "direction": s} for k, s in a.claims],
            "name_fidelity": float(np.mean(held)) if held else None,
            "clips": len(held),
        }
    measured = [v["name_fidelity"] for v in per_action.values() if v["name_fidelity"] is not None]
    missing = {k: v for row in rows for k, v in row["missing"].items()}
    return {
        "per_action": per_action,
        "mean": float(np.mean(measured)) if measured else None,
        "missing": missing,
    }


def format_summary(summary: dict[str, Any]) -> str:
    """Printed lines: each action's name fidelity, then the mean (or why there is none)."""
    if summary.get("note"):
        return f"name fidelity: n/a ({summary['note']})"
    lines = ["name fidelity (share of clips where every claim of the name held):"]
    for action, v in summary["per_action"].items():
        shown = "n/a" if v["name_fidelity"] is None else f"{v['name_fidelity']:.2f}"
        lines.append(f"  {action:>3} {v['name']:<26} {shown} ({v['clips']} clips)")
    mean = summary["mean"]
    lines.append(f"  mean over actions: {'n/a' if mean is None else f'{mean:.2f}'}")
    lines += [f"  not measured ({k}): {v}" for k, v in summary.get("missing", {}).items()]
    return "\n".join(lines)
