"""The decoder's diffusion space in numpy (engine side): the MDCT it companding runs on, exact inverses,
and what companding does to quiet sound."""

import numpy as np
import pytest

from engine import mdct
from engine.decoder_space import DecoderSpace
from engine.emphasis import preemphasis


@pytest.mark.parametrize("hop", [2, 8, 32])
def test_mdct_is_orthogonal_with_circular_ends(hop):
    n = 6 * hop
    a = mdct.analysis(np.eye(n), hop).reshape(n, n).T  # (N, N): column j = analysis of impulse j
    assert np.allclose(a @ a.T, np.eye(n), atol=1e-10)
    x = np.random.default_rng(0).standard_normal((3, 10 * hop))
    c = mdct.analysis(x, hop)
    assert c.shape == (3, hop, 10)
    assert np.allclose(mdct.synthesis(c, hop), x, atol=1e-10)


def test_mdct_refuses_odd_hops_and_ragged_lengths():
    with pytest.raises(ValueError, match="even"):
        mdct.mdct_basis(5)
    with pytest.raises(ValueError, match="multiple"):
        mdct.analysis(np.zeros(100), 32)


def test_linear_space_is_scaled_preemphasis_exactly():
    audio = np.random.default_rng(1).standard_normal(4096).astype(np.float32) * 0.1
    space = DecoderSpace(emphasis=0.9, scale=12.0)
    assert np.array_equal(space.forward(audio), preemphasis(audio, 0.9) * np.float32(12.0))
    assert np.allclose(space.inverse(space.forward(audio)), audio, atol=1e-5)


@pytest.mark.parametrize("compand", [0.5, 1 / 3])
def test_companded_space_round_trips(compand):
    audio = np.random.default_rng(2).standard_normal((2, 4096)).astype(np.float32) * 0.1
    space = DecoderSpace(emphasis=0.9, scale=12.0, compand=compand, bins=32)
    decoded = space.forward(audio)
    assert decoded.shape == audio.shape and decoded.dtype == np.float32
    assert np.allclose(space.inverse(decoded), audio, atol=1e-5)


def test_companding_lifts_quiet_sound_towards_the_loud():
    t = np.arange(8192) / 16000
    tone = np.sin(2 * np.pi * 440 * t).astype(np.float32)
    linear = DecoderSpace(scale=1.0)
    companded = DecoderSpace(scale=1.0, compand=0.5, bins=32)
    for space, expected_db in ((linear, 60.0), (companded, 30.0)):
        loud, quiet = (np.sqrt(np.mean(space.forward(a * tone) ** 2)) for a in (1.0, 1e-3))
        assert 20 * np.log10(loud / quiet) == pytest.approx(expected_db, abs=0.5)


def test_expansion_sinks_small_residuals():
    """Noise left at 1e-2 in the companded space comes back 40 dB down, not 20."""
    residual = np.random.default_rng(3).standard_normal(4096).astype(np.float32) * 1e-2
    audio = DecoderSpace(scale=1.0, compand=0.5, bins=32).inverse(residual)
    assert np.sqrt(np.mean(audio**2)) < 2e-4


@pytest.mark.parametrize(("compand", "bins"), [(0.0, 32), (1.5, 32), (0.5, 0), (0.5, 7)])
def test_bad_settings_are_refused(compand, bins):
    with pytest.raises(ValueError, match="compand"):
        DecoderSpace(compand=compand, bins=bins)
