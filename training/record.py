"""The training record a bundle carries (its manifest's `training` entry, which the model card quotes): the
data and each source's licence, and for each model the stages that trained it (recipe, changes, budget).

`musegenie export` builds it from the runs it exports (`run_record`); `musegenie bundle card --recipes`
rebuilds it from the shipped recipes for a bundle whose runs are gone (`recipe_record`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from training.data.provenance import data_sources
from training.loop.checkpoint import load_run
from training.recipe import load_recipe


def run_record(run_dir: Path) -> list[dict[str, Any]]:
    """The stages of a training run, oldest first: the run and the runs it was warm-started from
    (`init_from`), each with its recipe name, the changes on top (--set, run options), values and steps."""
    stages: list[dict[str, Any]] = []
    seen: set[Path] = set()
    path: Path | None = Path(run_dir)
    while path is not None and path.resolve() not in seen:
        seen.add(path.resolve())
        info = load_run(path)
        recipe = info.extra.get("recipe") or {}
        stages.insert(
            0,
            {
                "recipe": recipe.get("name", "(none: trained before recipes)"),
                "sets": recipe.get("sets", []),
                "values": recipe.get("values", {"train": info.train_config}),
                "steps": info.step,
            },
        )
        source = info.train_config.get("init_from")
        path = Path(source) if source and Path(source).exists() else None
    return stages


def recipe_record(kind: str, names: Sequence[str]) -> list[dict[str, Any]]:
    """Stages named by shipped recipes, for a bundle whose runs are gone (steps: the recipes' budgets)."""
    stages = []
    for name in names:
        values = load_recipe(kind, name).record()["values"]
        stages.append({"recipe": name, "sets": [], "values": json.loads(json.dumps(values)), "steps": None})
    return stages


def training_record(
    runs: Mapping[str, list[dict[str, Any]]], data: str | None, data_note: str = "", notes: Sequence[str] = ()
) -> dict[str, Any]:
    """The manifest's `training` entry: the data and each source's licence, each model's stages."""
    record = {"data": data, "data_note": data_note, "notes": list(notes), "runs": dict(runs)}
    if sources := data_sources(data):
        record["sources"] = sources
    return record
