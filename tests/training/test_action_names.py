"""Naming actions from measured edits, and eval edit's name_fidelity, on cases whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from engine.bundle import Action
from engine.descriptors import catalogue, measure
from training.evaluation.action_names import name_actions
from training.evaluation.edit_names import names_for_clip
from training.evaluation.edit_names import summarise as summarise_names

SR = 16000


def region(seed: int, seconds: float = 2.0) -> np.ndarray:
    """Project-made music-like audio: a few sine partials at a random pitch plus soft noise bursts."""
    g = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    f0 = 110.0 * 2 ** g.uniform(0, 2)
    x = sum(g.uniform(0.2, 1.0) / k * np.sin(2 * np.pi * k * f0 * t) for k in range(1, 6))
    bursts = g.standard_normal(len(t)) * (np.sin(2 * np.pi * 2 * t) > 0.95)
    return (0.1 * x + 0.02 * bursts).astype(np.float32)


def edits_of(original: np.ndarray, seed: int) -> dict[int, np.ndarray]:
    """Four "actions": 0 makes the region louder (x2), the others change it barely (gain 0.9..1.1)."""
    g = np.random.default_rng(100 + seed)
    return {0: 2.0 * original, **{a: g.uniform(0.9, 1.1) * original for a in (1, 2, 3)}}


class FakePipeline:
    """What edit_names reads of a Pipeline: the bundle's rate, its actions (with claims) and estimator."""

    def __init__(self, actions: list[Action]) -> None:
        self.actions = actions
        self.estimator = None
        self.bundle = type("B", (), {"sample_rate": SR})()


def test_an_edit_that_makes_the_region_louder_is_named_louder():
    regions = []
    for seed in range(6):
        original = region(seed)
        edits = edits_of(original, seed)
        values = measure([edits[a] for a in range(4)], SR).values
        regions.append(dict(enumerate(values)))
    named = {n.id: n for n in name_actions(regions, [0, 1, 2, 3], catalogue())}
    assert named[0].name == "louder" and named[0].claims == [("loudness", 1)]
    assert named[0].fidelity == 1.0
    assert "louder (+" in named[0].description and "in 100% of 6 edits" in named[0].description
    assert len({n.name for n in named.values()}) == 4  # every action gets its own name
    assert not any(ch.isdigit() for n in named.values() for ch in n.name)


def test_name_fidelity_finds_the_louder_edit_louder_and_not_softer():
    actions = [
        Action(0, "louder", "", (("loudness", 1),)),
        Action(1, "softer", "", (("loudness", -1),)),  # a false name: action 1 barely changes anything
        Action(2, "busier", "", (("note_density", 1),)),
        Action(3, "unnamed", ""),
    ]
    rows = []
    for seed in range(4):
        original = region(seed)
        rows.append(names_for_clip(FakePipeline(actions), edits_of(original, seed), original))
    summary = summarise_names(rows, actions)
    per = summary["per_action"]
    assert per["0"]["name_fidelity"] == 1.0 and per["0"]["clips"] == 4
    assert per["1"]["name_fidelity"] < 1.0
    assert per["3"]["name_fidelity"] is None  # claims nothing: not measured, not counted
    assert summary["mean"] == pytest.approx(
        np.mean([v for v in (per[a]["name_fidelity"] for a in "012") if v is not None])
    )
    assert summarise_names(rows, [Action(0, "x", "")])["note"].startswith(
        "the bundle's actions were never described"
    )
