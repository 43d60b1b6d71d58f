"""The decoder's diffusion space in numpy (engine side): the MDCT its companding runs on, exact inverses,
and what companding (per coefficient or with a smooth gain) does to quiet sound and to decoder errors."""

import numpy as np
import pytest

from engine import mdct
from engine.decoder_space import DecoderSpace
from engine.emphasis import preemphasis
from training.metrics import log_mel_distance


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


@pytest.mark.parametrize(("compand", "window"), [(0.5, 1), (1 / 3, 1), (0.5, 3), (0.5, 5), (0.7, 3)])
def test_companded_space_round_trips(compand, window):
    """The smooth forward (window > 1) is a fixed point: it must still invert to float precision."""
    audio = np.random.default_rng(2).standard_normal((2, 4096)).astype(np.float32) * 0.1
    space = DecoderSpace(emphasis=0.9, scale=12.0, compand=compand, bins=32, window=window)
    decoded = space.forward(audio)
    assert decoded.shape == audio.shape and decoded.dtype == np.float32
    assert np.allclose(space.inverse(decoded), audio, atol=1e-5)
    assert np.array_equal(space.forward(np.zeros(4096, np.float32)), np.zeros(4096, np.float32))


def test_companding_lifts_quiet_sound_towards_the_loud():
    t = np.arange(8192) / 16000
    tone = np.sin(2 * np.pi * 440 * t).astype(np.float32)
    linear = DecoderSpace(scale=1.0)
    companded = DecoderSpace(scale=1.0, compand=0.5, bins=32)
    smooth = DecoderSpace(scale=1.0, compand=0.5, bins=32, window=3)
    for space, expected_db in ((linear, 60.0), (companded, 30.0), (smooth, 30.0)):
        loud, quiet = (np.sqrt(np.mean(space.forward(a * tone) ** 2)) for a in (1.0, 1e-3))
        assert 20 * np.log10(loud / quiet) == pytest.approx(expected_db, abs=0.5)


def test_expansion_sinks_small_residuals():
    """Noise left at 1e-2 in the companded space comes back 40 dB down, not 20."""
    residual = np.random.default_rng(3).standard_normal(4096).astype(np.float32) * 1e-2
    audio = DecoderSpace(scale=1.0, compand=0.5, bins=32).inverse(residual)
    assert np.sqrt(np.mean(audio**2)) < 2e-4


def test_smooth_gain_does_less_damage_to_an_estimate_wrong_in_detail():
    """An error as loud as the signal's local level (3 x 3 MDCT neighbourhood), 10 dB down, with random signs:
    through a smooth gain it expands to less log-mel damage than through a per-coefficient power."""
    rng = np.random.default_rng(4)
    t = np.arange(16384) / 16000
    chord = sum(np.sin(2 * np.pi * f * t) * a for f, a in ((220, 0.3), (277, 0.2), (330, 0.2), (1760, 0.02)))
    audio = (chord * np.exp(-3 * (t % 0.5)) + rng.standard_normal(t.size) * 1e-3).astype(np.float32)
    damage = {}
    for window in (1, 3):
        space = DecoderSpace(emphasis=0.9, scale=12.0, compand=0.5, bins=256, window=window)
        y = mdct.analysis(space.forward(audio), 256)
        level = np.abs(y)
        level = sum(np.roll(np.roll(level, i, -2), j, -1) for i in (-1, 0, 1) for j in (-1, 0, 1)) / 9
        error = mdct.synthesis(rng.choice([-1.0, 1.0], y.shape) * level * 10 ** (-10 / 20), 256)
        damage[window] = log_mel_distance(audio, space.inverse(space.forward(audio) + error), 16000)
    assert damage[3] < 0.85 * damage[1]


@pytest.mark.parametrize(
    ("compand", "bins", "window"),
    [(0.0, 32, 1), (1.5, 32, 1), (0.5, 0, 1), (0.5, 7, 1), (0.5, 32, 2), (0.5, 32, 0), (0.4, 32, 3)],
)
def test_bad_settings_are_refused(compand, bins, window):
    with pytest.raises(ValueError, match="compand"):
        DecoderSpace(compand=compand, bins=bins, window=window)
