"""The model card's "Actions" section: each action's name, what its edits measurably do and how often its
name is true, from eval/actions_describe.json (`actions describe`) and the name_fidelity of every
eval/edit*.json (`eval edit`, one column per held-out set); the training data's annotation words, where the
LAM evaluation had them (eval/lam_actions.json), stand beside the measurement, never in its place.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

WEAK = 0.6  # training.evaluation.action_names.WEAK: below it a name is only a tendency


def _share(value: Any) -> str:
    return (
        "n/a" if value is None or (isinstance(value, float) and not math.isfinite(value)) else f"{value:.2f}"
    )


def _edit_sets(evals: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """(label, name_fidelity summary) of every `eval edit` file that measured one: eval/edit.json,
    eval/edit_SET.json, and eval/names_SET.json (a run recorded for its name fidelity alone: the card's
    edit tables stay with the edit files)."""
    out = []
    for stem in sorted(evals):
        if stem == "edit" or stem.startswith(("edit_", "names_")):
            fidelity = evals[stem].get("name_fidelity")
            if fidelity and fidelity.get("per_action"):
                label = "held-out" if stem == "edit" else stem.split("_", 1)[1]
                out.append((f"{label}, {evals[stem].get('clips', '?')} clips", fidelity))
    return out


def actions_section(manifest: Mapping[str, Any], evals: Mapping[str, Any]) -> tuple[list[str], str]:
    """The section's lines and its summary line."""
    described = evals.get("actions_describe")
    lam = evals.get("lam_actions") or []  # eval lam's actions.json: a list, or {"actions": [...]}
    training = {a.get("id"): a for a in (lam.get("actions", []) if isinstance(lam, dict) else lam)}
    sets = _edit_sets(evals)
    header = ["id", "name", "what its edits do", "name fidelity, described clips"]
    header += [f"name fidelity, {label}" for label, _ in sets]
    if training:
        header.append("in the training data (LAM evaluation)")
    rows = []
    for a in manifest["actions"]:
        row = [a["id"], a["name"], a.get("description", ""), _share(a.get("name_fidelity"))]
        row += [_share(f["per_action"].get(str(a["id"]), {}).get("name_fidelity")) for _, f in sets]
        if training:
            lam = training.get(a["id"], {})
            row.append(f"{lam.get('name', '')}: {lam.get('description', '')}" if lam else "")
        rows.append(row)
    table = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    table += ["| " + " | ".join(str(c).replace("|", "/") for c in row) + " |" for row in rows]
    if described is None:
        text = (
            "The actions' names have not been measured on edits (no eval/actions_describe.json): run "
            "`musegenie actions describe --record`."
        )
        return [text, "", *table], text
    lines = [
        f"Named by `actions describe` from {described.get('regions', '?')} regions of "
        f"{described.get('clips', '?')} clips of {', '.join(map(str, described.get('data', [])))}, each edited "
        "with every action as a user gets it (the bundle's defaults): a name claims what the action's edit of "
        "a region does against the other actions' edits of the same region; name fidelity is the share of "
        "edits in which every claim held (`eval edit` measures it again on each held-out set).",
        "",
        *table,
    ]
    weak = [
        f'"{a["name"]}" (described {_share(a.get("name_fidelity"))})'
        for a in manifest["actions"]
        if (a.get("name_fidelity") or 0.0) < WEAK
    ]
    for label, f in sets:
        weak += [
            f'"{v["name"]}" ({label.split(",")[0]} {_share(v["name_fidelity"])})'
            for v in f["per_action"].values()
            if v.get("name_fidelity") is not None and v["name_fidelity"] < WEAK
        ]
    if weak:
        lines += [
            "",
            f"Below {100 * WEAK:.0f}%: {', '.join(weak)}. There the name is the action's most reliable "
            "measurable tendency, however modest: read it as a leaning, not a promise.",
        ]
    missing = described.get("missing") or {}
    lines += [f"Not measured ({k}): {v}" for k, v in missing.items()]
    means = ", ".join(f"{_share(f.get('mean'))} ({label})" for label, f in sets)
    named = "; ".join(f'"{a["name"]}"' for a in manifest["actions"])
    summary = f"Actions named from their edits ({named})" + (
        f"; names true on average {means}." if means else "."
    )
    return lines, summary
