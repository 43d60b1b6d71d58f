"""The one sampler: exact on straight paths, same numbers on numpy and torch, projection and errors."""

import numpy as np
import pytest
import torch

from engine.sampling import METHODS, sample, timesteps, velocity_calls


def test_timesteps_run_from_noise_to_data():
    assert timesteps(4) == [1.0, 0.75, 0.5, 0.25, 0.0]
    with pytest.raises(ValueError):
        timesteps(0)


def test_a_shift_below_one_crowds_the_levels_towards_data():
    shifted = timesteps(4, 0.5)
    assert shifted[0] == 1.0 and shifted[-1] == 0.0
    assert shifted[2] == pytest.approx(1 / 3)  # s t / (1 + (s - 1) t) at t = 0.5
    assert all(a > b for a, b in zip(shifted, shifted[1:], strict=False))
    assert all(s < e for s, e in zip(shifted[1:-1], timesteps(4)[1:-1], strict=True))
    assert timesteps(4, 2.0)[2] == pytest.approx(2 / 3)
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="shift"):
            timesteps(4, bad)


@pytest.mark.parametrize("method", ["euler", "heun"])
@pytest.mark.parametrize("steps", [1, 3, 16])
@pytest.mark.parametrize("shift", [1.0, 0.7])
def test_exact_on_straight_path(method, steps, shift):
    rng = np.random.default_rng(0)
    x0 = rng.standard_normal((2, 1, 64))
    noise = rng.standard_normal((2, 1, 64))
    # The exact velocity of the straight path through x0: v(x, t) = (x - x0) / t.
    out = sample(lambda x, t: (x - x0) / t, noise, steps, method, shift=shift)
    np.testing.assert_allclose(out, x0, atol=1e-12)


@pytest.mark.parametrize("method", ["euler", "heun"])
def test_constant_field_moves_by_minus_v(method):
    v = np.full((3,), 0.5)
    out = sample(lambda x, t: v, np.zeros(3), 7, method)
    np.testing.assert_allclose(out, -v)


@pytest.mark.parametrize("method", ["euler", "heun"])
def test_numpy_and_torch_agree(method):
    rng = np.random.default_rng(1)
    w = rng.standard_normal((8, 8)).astype(np.float32) * 0.3
    noise = rng.standard_normal((2, 8)).astype(np.float32)

    def v_np(x, t):
        return np.tanh(x @ w) * (1.0 + t)

    def v_torch(x, t):
        return torch.tanh(x @ torch.from_numpy(w)) * (1.0 + t)

    a = sample(v_np, noise, 10, method)
    b = sample(v_torch, torch.from_numpy(noise), 10, method).numpy()
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_heun_beats_euler_on_curved_field():
    # dx/dt = x from t=1 to 0 starting at 1 ends at exp(-1).
    euler = sample(lambda x, t: x, np.ones(1), 4, "euler")
    heun = sample(lambda x, t: x, np.ones(1), 4, "heun")
    assert abs(heun[0] - np.exp(-1)) < abs(euler[0] - np.exp(-1)) / 5


def test_project_and_callback():
    levels, progress = [], []

    def project(x, t):
        levels.append(t)
        return x * 0 + t

    out = sample(
        lambda x, t: x, np.ones(2), 4, "heun", project=project, callback=lambda i, n: progress.append((i, n))
    )
    assert levels == [0.75, 0.5, 0.25, 0.0]
    assert progress == [(1, 4), (2, 4), (3, 4), (4, 4)]
    np.testing.assert_array_equal(out, np.zeros(2))


@pytest.mark.parametrize("method", METHODS)
def test_velocity_calls_counts_the_calls_sample_makes(method):
    calls = []
    for steps in range(1, 6):
        calls.clear()
        sample(lambda x, t: calls.append(t) or x, np.ones(1), steps, method)
        assert velocity_calls(steps, method) == len(calls)


def test_unknown_method():
    with pytest.raises(ValueError, match="unknown sampler"):
        sample(lambda x, t: x, np.ones(1), 2, "rk4")


@pytest.mark.parametrize("method", ["euler", "heun"])
@pytest.mark.parametrize("start", [0.3, 0.8])
def test_starting_part_way_lands_on_the_straight_paths_end(method, start):
    """SDEdit: a state noised to level `start` and integrated from there reaches x0 on a straight path, and
    the levels visited span [0, start]."""
    rng = np.random.default_rng(2)
    x0, noise = rng.standard_normal((2, 16)), rng.standard_normal((2, 16))
    seen = []

    def v(x, t):
        seen.append(t)
        return (x - x0) / t

    out = sample(v, (1 - start) * x0 + start * noise, 5, method, start=start)
    np.testing.assert_allclose(out, x0, atol=1e-12)
    assert seen[0] == pytest.approx(start) and max(seen) == pytest.approx(start)
    for bad in (0.0, -0.5, 1.5, float("nan")):
        with pytest.raises(ValueError, match="start"):
            sample(v, noise, 2, method, start=bad)
