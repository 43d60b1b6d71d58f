"""Quality features: shapes, determinism, finiteness on hard inputs, and that degradations move them."""

from __future__ import annotations

import numpy as np
import pytest

from tests.training.quality_signals import SR, degrade, piece
from training.data.quality.features import (
    FeatureConfig,
    audio_features,
    feature_names,
    segment_features,
    segment_starts,
)

CONFIG = FeatureConfig()
L = CONFIG.segment_samples


def _signals() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "silence": np.zeros(L, np.float32),
        "noise": (0.3 * rng.standard_normal(L)).astype(np.float32),
        "clipped": np.clip(3 * rng.standard_normal(L), -1, 1).astype(np.float32),
        "full_scale_dc": np.ones(L, np.float32),
        "tiny": np.full(L, 1e-12, np.float32),
        "music": piece(1, 5.0),
    }


@pytest.mark.parametrize("name", list(_signals()))
def test_features_are_finite_and_deterministic(name):
    audio = _signals()[name]
    first, starts = audio_features(audio)
    second, _ = audio_features(audio.copy())
    assert first.shape == (1, len(feature_names())) and first.dtype == np.float32
    assert np.isfinite(first).all()
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(starts, [0])


def test_segments_are_computed_alike_in_a_batch_and_alone():
    rng = np.random.default_rng(1)
    segments = (0.1 * rng.standard_normal((20, L))).astype(np.float32)  # more than one chunk of 16
    batch = segment_features(segments)
    alone = np.concatenate([segment_features(s[None]) for s in segments])
    np.testing.assert_allclose(batch, alone, rtol=1e-5, atol=1e-5)


def test_segment_starts_cover_the_song():
    assert segment_starts(3 * L).tolist() == [0, L, 2 * L]
    assert segment_starts(3 * L + L // 2).tolist() == [
        0,
        L,
        2 * L,
        2 * L + L // 2,
    ]  # last one ends at the end
    assert segment_starts(3 * L + L // 10).tolist() == [0, L, 2 * L]  # a short tail is dropped
    assert segment_starts(L // 3).tolist() == [0]


def test_short_audio_gives_one_segment():
    features, starts = audio_features(piece(2, 1.0))
    assert features.shape == (1, len(feature_names())) and starts.tolist() == [0]


def test_wrong_segment_length_is_refused():
    with pytest.raises(ValueError, match="expected 80000"):
        segment_features(np.zeros((2, 1000), np.float32))


def _feature(audio: np.ndarray, name: str) -> float:
    return float(audio_features(audio)[0][0, feature_names().index(name)])


def test_degradations_move_the_features_they_should():
    clean = piece(3, 5.0)
    assert (
        _feature(degrade(clean, "hiss", 0), "g7_p10") > _feature(clean, "g7_p10") + 10
    )  # higher noise floor
    assert _feature(degrade(clean, "band_limit", 0), "bandwidth") < _feature(clean, "bandwidth")
    assert _feature(degrade(clean, "crackle", 0), "click_rate") > 1.2 * _feature(clean, "click_rate")
    assert _feature(degrade(clean, "clipping", 0), "clip_frac") > _feature(clean, "clip_frac")
    assert _feature(degrade(clean, "hum", 0), "g0_p10") > _feature(clean, "g0_p10")


def test_level_does_not_change_the_relative_band_statistics():
    clean = piece(4, 5.0)
    loud, quiet = audio_features(clean)[0], audio_features(0.1 * clean)[0]
    names = feature_names()
    relative = [
        i for i, n in enumerate(names) if n.startswith("g") and n.split("_")[1] in ("mean", "p90", "spike")
    ]
    np.testing.assert_allclose(
        loud[0, relative], quiet[0, relative], atol=0.5
    )  # dB; only the -100 dB floor differs
    assert CONFIG.sample_rate == SR
