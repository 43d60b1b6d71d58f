"""Instrument fidelity of edits on the tiny instrument-conditioned bundle (plumbing and bookkeeping)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.bundle import load_bundle
from engine.pipeline import Pipeline
from engine.request import EditRequest
from engine.runtime import Runtime, RuntimeConfig
from tests.engine.conftest import stereo
from training.evaluation.edit_instruments import fidelity_for_clip, format_summary, heard_in, summarise

SR = 44100


@pytest.fixture(scope="module")
def instrument_pipeline(tiny_instrument_bundle: Path) -> Pipeline:
    return Pipeline(
        Runtime(load_bundle(tiny_instrument_bundle), RuntimeConfig(providers="cpu", intra_op_threads=1))
    )


def test_requests_are_scored_against_the_unasked_edit(instrument_pipeline):
    x = stereo(1.5)
    base = EditRequest((0.4, 1.2), (1,), steps=2, decoder_steps=2)
    record = fidelity_for_clip(instrument_pipeline, x, SR, base, np.random.default_rng(0))
    vocabulary = set(instrument_pipeline.bundle.instruments)
    original = set(record["original"])
    assert original == heard_in(instrument_pipeline, x, SR, base.region) and original <= vocabulary
    assert ("add" in record) == bool(vocabulary - original)
    assert ("remove" in record) == (len(original) >= 2)
    for kind in ("add", "remove"):
        if kind in record:
            entry = record[kind]
            changed = entry["instrument"]
            assert (changed in entry["asked"]) == (kind == "add")
            assert entry["success"] == ((changed in entry["heard"]) == (kind == "add"))
            assert entry["exact"] == (set(entry["heard"]) == set(entry["asked"]))
    requests = [record[k] for k in ("keep", "add", "remove") if k in record]
    for entry in requests:  # where each request's material came from, as the engine reports it
        assert entry["from_song"] == entry["source"].startswith("song") and entry["source"]
    summary = summarise([record, None], instrument_pipeline.bundle.instruments)
    assert summary["from_song"] == np.mean([e["from_song"] for e in requests])
    assert summary["available"] and summary["clips"] == 1
    assert set(summary["per_instrument"]) == vocabulary
    for kind, key in (("add", "added"), ("remove", "removed")):
        changed = record[kind]["instrument"] if kind in record else None
        for name, s in summary["per_instrument"].items():
            assert s[f"{key}_requests"] == int(name == changed)
            assert s[key] == (float(record[kind]["success"]) if name == changed else None)
    assert "instrument fidelity over 1 clips" in format_summary(summary)
    # what asking costs the sound: each request's region against the original, beside the unasked edit's
    for kind in ("unasked", "keep", "add", "remove"):
        quality = record["unasked_quality"] if kind == "unasked" else record.get(kind, {}).get("quality")
        if quality is None:
            continue
        assert quality["logmel_l1"] > 0 and quality["flatness_ratio"] > 0
        assert summary["quality"][kind] == {**quality, "requests": 1}
    assert summary["quality"]["unasked"]["requests"] == 1
    # nothing to keep if nobody is heard
    assert summary["quality"]["keep"]["requests"] == int("keep" in record)
    assert "log-mel L1 / flatness of the region: unasked" in format_summary(summary)


def test_unconditioned_bundles_are_reported_not_measured(tiny_bundle):
    tiny_pipeline = Pipeline(
        Runtime(load_bundle(tiny_bundle), RuntimeConfig(providers="cpu", intra_op_threads=1))
    )
    base = EditRequest((0.1, 0.3), (0,), steps=2, decoder_steps=2)
    assert fidelity_for_clip(tiny_pipeline, stereo(0.5), SR, base, np.random.default_rng(0)) is None
    summary = summarise([None], [])
    assert not summary["available"] and "not measured" in format_summary(summary)
