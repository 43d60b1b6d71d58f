"""Pre-emphasis of the decoder's space and its FIR inverse (numpy, used by the engine)."""

import numpy as np
import pytest

from engine.emphasis import TOLERANCE, deemphasis, deemphasis_kernel, preemphasis


def test_round_trip_on_every_row_and_shape():
    audio = np.random.default_rng(0).standard_normal((2, 1, 4000)).astype(np.float32)
    emphasised = preemphasis(audio, 0.9)
    assert emphasised.shape == audio.shape and emphasised.dtype == np.float32
    assert np.allclose(emphasised[..., 1:], audio[..., 1:] - 0.9 * audio[..., :-1])
    assert np.allclose(deemphasis(emphasised, 0.9), audio, atol=1e-5)


def test_kernel_is_the_truncated_impulse_response():
    kernel = deemphasis_kernel(0.9)
    assert kernel[0] == 1 and np.isclose(kernel[5], 0.9**5)
    assert kernel[-1] >= TOLERANCE > 0.9 ** len(kernel)
    assert deemphasis_kernel(0.0).tolist() == [1.0]


def test_tilts_the_spectrum_towards_the_treble():
    n = np.arange(16000)
    bass, treble = np.sin(2 * np.pi * 100 * n / 16000), np.sin(2 * np.pi * 4000 * n / 16000)
    ratio = np.std(preemphasis(treble, 0.9)) / np.std(preemphasis(bass, 0.9))
    assert ratio > 10  # ~ +22 dB treble against bass


def test_zero_is_the_identity_and_bad_coefficients_are_refused():
    audio = np.linspace(-1, 1, 50, dtype=np.float32)
    assert np.array_equal(preemphasis(audio, 0.0), audio)
    assert np.array_equal(deemphasis(audio, 0.0), audio)
    for bad in (-0.1, 1.0):
        with pytest.raises(ValueError, match="emphasis"):
            deemphasis_kernel(bad)
