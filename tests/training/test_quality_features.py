"""Quality features: shapes, determinism, finiteness on hard inputs, and that degradations move them."""

from __future__ import annotations

import numpy as np
import pytest

from training.data.quality.features import (
    FeatureConfig,
    audio_features,
    feature_names,
    segment_features,
    segment_starts,
)
from training.data.synth import render_piece
from training.data.synth.degrade import DAMAGE

CONFIG = FeatureConfig()
L = CONFIG.segment_samples
SR = CONFIG.sample_rate


def piece(seed: int, seconds: float) -> np.ndarray:
    """(N,) a clean piece of the synthetic corpus."""
    return render_piece(seed, seconds, SR)[0][0][: int(seconds * SR)]


def degrade(audio: np.ndarray, kind: str, seed: int, gain: float = 1.0) -> np.ndarray:
    """(N,) the corpus' own damage of that kind; gain scales what the damage adds (4 = 12 dB louder)."""
    damaged = DAMAGE[kind](audio.astype(np.float64), SR, np.random.default_rng(seed))
    return (audio + gain * (damaged - audio)).astype(np.float32)


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
    limited, clipped = degrade(clean, "band_limit", 0), degrade(clean, "clipping", 0)
    assert _feature(limited, "bandwidth") < _feature(clean, "bandwidth") - 0.1
    assert _feature(limited, "g7_p10") < _feature(clean, "g7_p10") - 20
    assert _feature(clipped, "clip_frac") > 0.1 > _feature(clean, "clip_frac")
    assert _feature(clipped, "crest_db") < _feature(clean, "crest_db") - 6
    # additive noises at the corpus' levels are often masked by the mix: test them 12 dB louder
    hiss, crackle, hum = (degrade(clean, kind, 0, gain=4.0) for kind in ("hiss", "crackle", "hum"))
    assert _feature(hiss, "g7_p10") > _feature(clean, "g7_p10") + 3  # a higher noise floor
    assert _feature(hiss, "depth_6k") < _feature(clean, "depth_6k")  # that never dips
    assert _feature(crackle, "spike_kurtosis") > _feature(clean, "spike_kurtosis") + 1
    assert _feature(hum, "g0_tflat") > _feature(clean, "g0_tflat")  # a steadier low end
    assert _feature(hum, "g0_std") < _feature(clean, "g0_std")


def test_level_does_not_change_the_relative_band_statistics():
    clean = piece(4, 5.0)
    loud, quiet = audio_features(clean)[0], audio_features(0.1 * clean)[0]
    names = feature_names()
    relative = [
        i for i, n in enumerate(names) if n.startswith("g") and n.split("_")[1] in ("mean", "p90", "spike")
    ]
    np.testing.assert_allclose(loud[0, relative], quiet[0, relative], atol=0.5)  # dB


@pytest.mark.parametrize("seed", [3, 7])
def test_detectors_see_additive_damage_at_the_corpus_level(seed):
    clean = piece(seed, 5.0)
    hiss, crackle, hum = (degrade(clean, kind, 0) for kind in ("hiss", "crackle", "hum"))
    assert _feature(hum, "hum_snr") > _feature(clean, "hum_snr") + 0.5  # mains bins above their neighbours
    assert _feature(crackle, "click_top") > _feature(clean, "click_top")
    assert _feature(crackle, "click_count") > _feature(clean, "click_count")
    assert _feature(hiss, "quiet_flatness") > _feature(clean, "quiet_flatness")  # flat quiet frames
    assert _feature(hiss, "floor_roughness_mid") < _feature(clean, "floor_roughness_mid")  # gaps filled


def test_hum_detector_finds_the_mains_family():
    rng = np.random.default_rng(2)
    t = np.arange(L) / SR
    noise = 0.1 * rng.standard_normal(L)
    hum = noise + 0.01 * sum(np.sin(2 * np.pi * 60 * k * t) / k for k in (1, 2, 3))  # 60 Hz, 20 dB under
    assert _feature(hum.astype(np.float32), "hum_snr") > 3.0 > _feature(noise.astype(np.float32), "hum_snr")
    assert _feature(hum.astype(np.float32), "hum_contrast") > 2.0  # 60 Hz, not 50 Hz


def test_click_detector_counts_isolated_impulses():
    rng = np.random.default_rng(3)
    noise = 0.05 * rng.standard_normal(L)
    clicks = noise.copy()
    clicks[rng.choice(L - 100, 25, replace=False) + 50] += 0.8  # 25 clicks in 5 s, 16x the noise
    per_second = np.expm1(_feature(clicks.astype(np.float32), "click_count"))
    assert per_second == pytest.approx(5.0, abs=0.5)
    assert _feature(noise.astype(np.float32), "click_count") == 0.0
