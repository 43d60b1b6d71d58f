"""Reconstruction metrics: zero for identical signals, ordered sensibly, SI-SDR exact on known mixtures."""

import numpy as np
import pytest

from training.metrics import all_metrics, log_mel_bands, log_mel_distance, si_sdr, stft_distance

RATE = 16_000


def tone(freq: float, seconds: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_identical_signals_score_perfectly():
    x = tone(440.0)
    m = all_metrics(x, x[None], RATE)
    assert m["log_mel_l1"] == 0.0 and m["mr_stft"] == 0.0
    assert m["si_sdr"] > 100


def test_si_sdr_is_scale_invariant_and_exact_on_orthogonal_noise():
    rng = np.random.default_rng(0)
    ref = rng.standard_normal(8000)
    noise = rng.standard_normal(8000)
    noise -= noise.mean()
    ref -= ref.mean()
    noise -= noise @ ref / (ref @ ref) * ref  # orthogonal to ref
    noise *= np.linalg.norm(ref) / np.linalg.norm(noise) / np.sqrt(10)  # 10 dB below
    assert si_sdr(ref, ref + noise) == pytest.approx(10.0, abs=1e-6)
    assert si_sdr(ref, 3.0 * (ref + noise)) == pytest.approx(10.0, abs=1e-6)


def test_spectral_distances_order_near_and_far_pitches():
    ref = tone(440.0)
    near, far = tone(445.0), tone(1500.0)
    assert log_mel_distance(ref, near, RATE) < log_mel_distance(ref, far, RATE)
    assert stft_distance(ref, near) < stft_distance(ref, far)
    # Phase-blind: a polarity flip sounds the same.
    assert log_mel_distance(ref, -ref, RATE) < 1e-6


def test_errors():
    with pytest.raises(ValueError, match="samples"):
        log_mel_distance(tone(440.0), tone(440.0, 0.25), RATE)
    with pytest.raises(ValueError, match="non-zero"):
        si_sdr(np.zeros(100), np.ones(100))


def test_inaudible_noise_floor_is_ignored_but_audible_noise_counts():
    ref = np.concatenate([tone(440.0), np.zeros(8000, np.float32)])  # a note, then digital silence
    rng = np.random.default_rng(0)
    hiss = rng.standard_normal(ref.shape).astype(np.float32)
    quiet = log_mel_distance(ref, ref + 1e-6 * hiss, RATE)  # ~ -110 dB below the note's peak
    audible = log_mel_distance(ref, ref + 1e-2 * hiss, RATE)  # ~ -30 dB
    assert quiet < 1e-3 < 0.5 < audible


def test_band_breakdown_finds_a_low_rumble_and_averages_to_the_distance():
    ref = tone(1000.0, 1.0)
    t = np.arange(ref.size) / RATE
    rumble = (0.05 * np.sin(2 * np.pi * 60 * t)).astype(np.float32)
    bands = log_mel_bands(ref, ref + rumble, RATE, groups=8)
    assert len(bands["hz"]) == len(bands["l1"]) == len(bands["bias"]) == 8
    assert bands["hz"][0][0] < 60 < bands["hz"][0][1] and bands["hz"][-1][1] < RATE / 2
    assert bands["bias"][0] > 1.0 and bands["bias"][0] == max(bands["bias"])  # excess energy, lowest group
    assert np.mean(bands["l1"]) == pytest.approx(log_mel_distance(ref, ref + rumble, RATE))
