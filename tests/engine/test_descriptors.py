"""Descriptors measured from audio alone (engine.descriptors, engine.notes) and the one test of a claim."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine import descriptors, notes
from engine.descriptors import catalogue, change_text, holds, measure, shift

SR = 16000


def tone(pitches: list[int], seconds: float = 2.0, level: float = 0.2, sr: int = SR) -> np.ndarray:
    """Sustained sines at MIDI `pitches` with soft attacks: (N,)."""
    t = np.arange(int(seconds * sr)) / sr
    out = sum(np.sin(2 * np.pi * 440.0 * 2 ** ((p - 69) / 12) * t) for p in pitches)
    envelope = np.minimum(1.0, t / 0.02) * np.minimum(1.0, (seconds - t) / 0.05)
    return (level * out * envelope).astype(np.float32)


def clicks(per_second: float, seconds: float = 2.0, sr: int = SR, seed: int = 0) -> np.ndarray:
    """Short noise bursts, `per_second` of them: (N,)."""
    out = np.zeros(int(seconds * sr), np.float32)
    burst = np.random.default_rng(seed).standard_normal(400).astype(np.float32) * np.exp(-np.arange(400) / 60)
    for k in range(int(per_second * seconds)):
        at = int((k + 0.25) * sr / per_second)
        out[at : at + 400] += 0.5 * burst[: len(out) - at]
    return out


def test_librosa_descriptors_follow_level_spectrum_and_attacks():
    base = tone([60]) + 0.3 * clicks(2)
    louder, brighter, busier = 2 * base, tone([60, 84]) + 0.3 * clicks(2), tone([60]) + 0.3 * clicks(6)
    values = measure([base, louder, brighter, busier], SR).values
    assert values[1]["loudness"] - values[0]["loudness"] == pytest.approx(6.0, abs=0.3)
    assert values[2]["brightness"] > values[0]["brightness"] + 200
    assert values[3]["onset_rate"] > values[0]["onset_rate"] + 1.5
    assert values[3]["percussive"] > values[0]["percussive"]
    assert 0 <= values[0]["percussive"] <= 1


def test_notes_are_transcribed_from_the_wheel_model():
    if why := notes.available():
        pytest.skip(why)
    low, chord = tone([57]), tone([69, 76])
    (a,), (b, c) = (sorted({n.pitch for n in events}) for events in notes.transcribe_many([low, chord], SR))
    assert (a, b, c) == (57, 69, 76)
    values = measure([low, chord], SR).values
    assert values[1]["register"] > values[0]["register"] + 10
    assert values[1]["polyphony"] == pytest.approx(2 * values[0]["polyphony"], rel=0.25)
    assert values[0]["pitch_range"] == 0 and 0.3 < values[0]["note_density"] < 1.5


def test_without_basic_pitch_the_note_descriptors_say_so(monkeypatch):
    monkeypatch.setattr(notes, "_basic_pitch", lambda: "basic-pitch is not installed (test)")
    result = measure([tone([60])], SR)
    assert "note_density" not in result.values[0] and "loudness" in result.values[0]
    assert result.missing["basic-pitch"] == "basic-pitch is not installed (test)"
    assert "estimator" in result.missing
    with pytest.raises(notes.NotesUnavailable, match="not installed"):
        notes.transcribe_many([tone([60])], SR)


def test_a_claim_holds_only_when_it_moves_against_the_other_actions():
    values = {0: {"loudness": -10.0}, 1: {"loudness": -16.0}, 2: {"loudness": -14.0}, 3: {"loudness": -20.0}}
    assert shift(values, 0, "loudness") == pytest.approx(6.0)  # against the median of -16, -14, -20
    assert holds(values, 0, [("loudness", 1)]) and not holds(values, 0, [("loudness", -1)])
    assert holds(values, 3, [("loudness", -1)])
    values[0]["register"] = math.nan  # unmeasured: never a move
    assert not holds(values, 0, [("loudness", 1), ("register", 1)])
    assert not holds(values, 0, [])  # a name that claims nothing is not true of anything


def test_change_text_leads_with_the_claims():
    d = catalogue(["drums"])
    before = {"loudness": -20.0, "brightness": 1000.0, "plays_drums": 0.9}
    after = {"loudness": -19.0, "brightness": 3000.0, "plays_drums": 0.1}
    assert change_text(before, after, d, first=["loudness"]).startswith("louder +1.0 dB, brighter +2000 Hz")
    assert "drums out -0.80 probability" in change_text(before, after, d)
    assert change_text(before, before, d) == "no measurable change"
    assert descriptors.claim_words([("note_density", 1), ("register", 1)], d) == "busier, higher"
