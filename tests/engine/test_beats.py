"""The song's beats (engine.beats) and what the plan makes of them: a steady pulse is tracked at its
tempo and phase, noise keeps no grid, and material is taken on the song's beat grid."""

from __future__ import annotations

import numpy as np
import pytest

from engine import song_plan
from engine.beats import onset_envelope, phase_mismatch, salience, song_beats
from engine.song import FEATURE_HOP, song_mel
from tests.engine.conftest import best_plan
from tests.engine.test_song import HOP, SR, index_of

BPM = 125.0  # a beat of 0.48 s: a slot (1.024 s) is not a whole number of beats


def click_track(seconds: float, bpm: float = BPM, first: float = 0.1, seed: int = 0) -> np.ndarray:
    """(N,) decaying 880 Hz clicks every beat from `first` s, over a little noise."""
    n = int(seconds * SR)
    out = 0.01 * np.random.default_rng(seed).standard_normal(n)
    t = np.arange(int(0.08 * SR)) / SR
    click = np.sin(2 * np.pi * 880 * t) * np.exp(-40 * t)
    for beat in np.arange(first, seconds - 0.1, 60.0 / bpm):
        i = int(beat * SR)
        out[i : i + len(click)] += 0.5 * click[: n - i]
    return out.astype(np.float32)


def test_a_steady_pulse_is_tracked_at_its_tempo_and_on_its_clicks():
    song = click_track(30.0)
    beats = song_beats(song_mel(song, SR), FEATURE_HOP, SR) / SR  # (B,) seconds
    assert len(beats) > 0.8 * 30.0 * BPM / 60.0
    assert abs(np.median(np.diff(beats)) - 60.0 / BPM) < 0.02
    clicks = np.arange(0.1, 29.9, 60.0 / BPM)
    off = np.abs(beats[:, None] - clicks[None]).min(axis=1)
    assert np.median(off) < 0.03  # on the clicks, not between them


def test_noise_keeps_no_beat_grid():
    noise = 0.3 * np.random.default_rng(1).standard_normal(20 * SR).astype(np.float32)
    assert len(song_beats(song_mel(noise, SR), FEATURE_HOP, SR)) == 0
    env = onset_envelope(song_mel(click_track(10.0), SR))
    on = np.round(np.arange(0.1, 9.5, 60.0 / BPM) * SR / FEATURE_HOP).astype(int)  # the clicks' frames
    assert salience(env, on) > 3.0 * salience(env, on + 15)  # half a beat later: between the clicks


def test_phase_mismatch_is_zero_a_whole_beat_away_and_one_half_a_beat_away():
    beats = np.arange(0, 100) * 1000.0
    got = phase_mismatch(beats, np.array([5000.0, 5500.0, 5250.0, 99_000.0 + 3000.0]), 2000.0)
    np.testing.assert_allclose(got, [0.0, 1.0, 0.5, 0.0], atol=1e-9)  # the last: past the grid, extrapolated
    assert not phase_mismatch(np.zeros(0), np.array([1.0, 2.0]), 0.0).any()  # no grid: no cost


def test_the_plan_takes_material_on_the_songs_beat_grid(monkeypatch):
    song = click_track(40.0)
    index = index_of(song)
    # surroundings that tell no stretch from another: only the beat grid can choose
    object.__setattr__(index, "features", np.zeros_like(index.features))
    grid = song_beats(song_mel(song, SR), FEATURE_HOP, SR)
    region = (20 * SR, 24 * SR)
    actions = np.zeros(-(-(region[1] - region[0]) // HOP), np.int64)

    def off_grid(plan) -> float:
        return float(max(phase_mismatch(grid, [p.source], region[0] + p.offset)[0] for p in plan.pieces))

    without = best_plan(index, region, 2 * SR, actions, margin=480)  # the index knows no beats
    object.__setattr__(index, "beats", grid)
    with_grid = best_plan(index, region, 2 * SR, actions, margin=480)
    assert without is not None and off_grid(without) > 0.3
    assert with_grid is not None and off_grid(with_grid) < 0.1
    # where the request keeps the region's action, the surroundings alone decide, as without beats
    kept = best_plan(index, region, 2 * SR, actions, margin=480, changed=np.zeros(len(actions), bool))
    assert kept is not None and kept.pieces == without.pieces
    monkeypatch.setattr(song_plan, "BEAT_WEIGHT", 0.0)  # the weight is what keeps it
    assert off_grid(best_plan(index, region, 2 * SR, actions, margin=480)) > 0.3


def test_the_song_index_holds_the_songs_beats(tiny_pipeline):
    index, _ = tiny_pipeline.songs.index(click_track(20.0)[None], SR)
    beats = index.beats / index.model_rate  # seconds
    assert len(beats) > 30 and abs(np.median(np.diff(beats)) - 60.0 / BPM) < 0.02
    assert index.nbytes >= index.beats.nbytes > 0


@pytest.mark.parametrize("frames, rate", [(4, 16000), (21, 4000), (21, 16000), (300, 2000), (5000, 8000)])
def test_any_song_length_and_rate_gives_beats_inside_the_song_or_none(frames, rate):
    mel = np.random.default_rng(frames).normal(-40, 10, (64, frames)).astype(np.float32)  # (M, F) dB
    beats = song_beats(mel, FEATURE_HOP, rate)
    assert beats.ndim == 1 and np.all((beats >= 0) & (beats < frames * FEATURE_HOP))
    assert np.all(np.diff(beats) > 0)
