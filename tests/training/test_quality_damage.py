"""Mild single damage for training labels, and the song context that hears it."""

from __future__ import annotations

import numpy as np
import pytest

from training.data.quality.classifier import DEFAULT_THRESHOLD, song_threshold
from training.data.quality.context import context_names
from training.data.quality.damage import MILD, damage_mild
from training.data.quality.features import audio_features, feature_names
from training.data.synth import render_piece

SR = 16000


def _song(seed: int = 3, seconds: int = 30) -> np.ndarray:
    """(N,) a clean piece with a quiet middle (a third of it 30 dB down), as real songs have."""
    audio = render_piece(seed, seconds, SR)[0][0].astype(np.float64)
    third = len(audio) // 3
    audio[third : 2 * third] *= 10 ** (-30 / 20)
    return audio.astype(np.float32)


def _context(audio: np.ndarray, name: str) -> float:
    return float(audio_features(audio)[0][0, feature_names().index(name)])


@pytest.mark.parametrize("kind", sorted(MILD))
def test_each_mild_damage_is_one_gentle_change(kind: str) -> None:
    clean = _song()
    damaged = damage_mild(clean, SR, kind, np.random.default_rng(0))
    again = damage_mild(clean, SR, kind, np.random.default_rng(0))
    assert damaged.shape == clean.shape and damaged.dtype == np.float32 and np.array_equal(damaged, again)
    assert np.isclose(np.abs(damaged).max(), np.abs(clean).max(), rtol=1e-5)  # the clean peak level
    if kind == "band_limit":  # the band below the cut-off stays, the top octave goes
        spectrum = np.abs(np.fft.rfft(clean)) ** 2, np.abs(np.fft.rfft(damaged)) ** 2
        freqs = np.fft.rfftfreq(len(clean), 1 / SR)
        kept, cut = freqs < 3000, freqs > 6500
        assert abs(10 * np.log10(spectrum[1][kept].sum() / spectrum[0][kept].sum())) < 1
        assert 10 * np.log10(spectrum[1][cut].sum() / spectrum[0][cut].sum()) < -30
    else:  # an added noise well under the music: audible, far milder than the corpus' strong damage
        under_db = 10 * np.log10(np.mean(clean.astype(np.float64) ** 2) / np.mean((damaged - clean) ** 2.0))
        assert 24 < under_db < 50, under_db


def test_unknown_damage_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown damage"):
        damage_mild(np.zeros(SR, np.float32), SR, "wow", np.random.default_rng(0))


def test_song_context_hears_mild_damage_the_segment_misses() -> None:
    clean = _song()
    damaged = {kind: damage_mild(clean, SR, kind, np.random.default_rng(1)) for kind in MILD}
    assert _context(damaged["band_limit"], "edge_hf") < _context(clean, "edge_hf") - 20
    assert _context(damaged["band_limit"], "edge_drop") > _context(clean, "edge_drop") + 5
    for stat in ("floor_hum_snr_1s", "floor_hum_snr_2s"):  # the quiet middle shows the hum
        assert _context(damaged["hum"], stat) > _context(clean, stat) + 1.0, stat
    assert _context(damaged["crackle"], "song_click_max_p90") > _context(clean, "song_click_max_p90") + 1
    assert (
        _context(damaged["hiss"], "song_depth_6k_p90") < _context(clean, "song_depth_6k_p90") - 3
    )  # never dips
    assert _context(damaged["hiss"], "song_g7_p10_p10") > _context(clean, "song_g7_p10_p10") + 2  # floor


def test_context_is_the_same_in_every_row_of_a_song() -> None:
    features, starts = audio_features(_song(4, 20))
    context = features[:, -len(context_names()) :]
    assert len(starts) == 4 and np.isfinite(features).all()
    assert features.shape[1] == len(feature_names()) and (context == context[0]).all()


def test_song_threshold_separates_clean_from_damaged_songs() -> None:
    # three songs, each clean (y = 1) and damaged (y = 0), two segments each: six units
    groups = np.repeat([0, 1, 2, 3, 4, 5], 2)
    y = np.tile([1, 1, 0, 0], 3)
    proba = np.array([0.7, 0.6, 0.3, 0.2, 0.5, 0.5, 0.1, 0.1, 0.8, 0.9, 0.45, 0.35])
    threshold = song_threshold(proba, y, groups)
    assert 0.4 <= threshold < 0.5  # between the worst clean song (0.5) and the worst damaged one (0.4)
    assert song_threshold(proba, np.ones_like(y), groups) == DEFAULT_THRESHOLD
