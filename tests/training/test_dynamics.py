"""Dynamics model, guided inpainting, training masks and the train/eval commands, on tiny CPU configs."""

from __future__ import annotations

import pytest
import torch

from training.inpainting import guided_velocity, inpaint
from training.models.dynamics import DynamicsConfig, DynamicsModel, preset

B, T, D, A = 2, 24, 16, 4


def _model(num_instruments: int = 0, trained: bool = True) -> DynamicsModel:
    """A tiny model; `trained` replaces the zero-initialised weights with random ones so outputs are non-zero."""
    torch.manual_seed(0)
    model = DynamicsModel(preset("tiny", latent_dim=D, num_actions=A, num_instruments=num_instruments)).eval()
    if trained:
        with torch.no_grad():
            for p in model.parameters():
                p.normal_(0.0, 0.2)
    return model


def _inputs(seed: int = 1) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    mask = torch.zeros(B, T)
    mask[0, 5:13] = 1
    mask[1, :6] = 1  # region at the window's left edge
    mask[1, 20:] = 1  # and at its right edge
    return {
        "context": torch.randn(B, T, D, generator=g),
        "mask": mask,
        "actions": torch.randint(0, A, (B, T), generator=g),
    }


def test_fresh_model_outputs_exact_zeros() -> None:
    model = _model(trained=False)
    x = _inputs()
    v = model(torch.randn(B, T, D), torch.rand(B), x["context"], x["mask"], x["actions"])
    assert v.shape == (B, T, D)
    assert torch.count_nonzero(v) == 0


def test_model_reads_noisy_only_where_masked_and_context_only_where_known() -> None:
    model = _model()
    x = _inputs()
    noisy, t = torch.randn(B, T, D), torch.rand(B)
    v = model(noisy, t, x["context"], x["mask"], x["actions"])
    known = (x["mask"] == 0).unsqueeze(-1)
    scrambled_noisy = torch.where(known, torch.randn(B, T, D), noisy)  # change noisy on known frames
    scrambled_context = torch.where(known, x["context"], torch.randn(B, T, D))  # and context on masked ones
    v2 = model(scrambled_noisy, t, scrambled_context, x["mask"], x["actions"])
    assert torch.allclose(v, v2, atol=1e-6)
    assert v.abs().mean() > 1e-3


def test_actions_and_time_change_the_output() -> None:
    model = _model()
    x = _inputs()
    noisy, t = torch.randn(B, T, D), torch.rand(B)
    v = model(noisy, t, x["context"], x["mask"], x["actions"])
    assert not torch.allclose(v, model(noisy, t, x["context"], x["mask"], (x["actions"] + 1) % A))
    assert not torch.allclose(v, model(noisy, 1 - t, x["context"], x["mask"], x["actions"]))


@pytest.mark.parametrize("frames", [1, 7, 131])
def test_any_length(frames: int) -> None:
    model = _model()
    v = model(
        torch.randn(1, frames, D),
        torch.rand(1),
        torch.randn(1, frames, D),
        torch.ones(1, frames),
        torch.zeros(1, frames, dtype=torch.long),
    )
    assert v.shape == (1, frames, D) and torch.isfinite(v).all()


def test_instruments_required_iff_configured() -> None:
    with_instruments, without = _model(num_instruments=3), _model()
    x = _inputs()
    args = (torch.randn(B, T, D), torch.rand(B), x["context"], x["mask"], x["actions"])
    instruments = torch.randint(0, 2, (B, T, 3)).float()
    v = with_instruments(*args, instruments)
    assert not torch.allclose(v, with_instruments(*args, 1 - instruments))
    with pytest.raises(ValueError, match="instruments"):
        with_instruments(*args)
    with pytest.raises(ValueError, match="instruments"):
        without(*args, instruments)


def test_bad_head_split_is_rejected() -> None:
    with pytest.raises(ValueError, match="heads"):
        DynamicsModel(DynamicsConfig(width=30, heads=4))
    with pytest.raises(KeyError, match="tiny"):
        preset("enormous")


def test_known_frames_pass_through_untouched() -> None:
    model = _model()
    x = _inputs()
    for guidance in (0.0, 1.0, 3.0):
        out = inpaint(model, x["context"], x["mask"], x["actions"], steps=4, guidance=guidance, method="heun")
        known = x["mask"] == 0
        assert torch.equal(out[known], x["context"][known])  # bit-identical
        assert not torch.allclose(out[~known], x["context"][~known])
        assert torch.isfinite(out).all()


def test_guidance_zero_and_one_behave_as_defined() -> None:
    model = _model()
    x = _inputs()
    xt, t = torch.randn(B, T, D), 0.7
    tt = torch.full((B,), t)
    null = torch.full_like(x["actions"], A)
    v_cond = model(xt, tt, x["context"], x["mask"], x["actions"])
    v_null = model(xt, tt, x["context"], x["mask"], null)
    g0 = guided_velocity(model, x["context"], x["mask"], x["actions"], guidance=0.0)(xt, t)
    g1 = guided_velocity(model, x["context"], x["mask"], x["actions"], guidance=1.0)(xt, t)
    g3 = guided_velocity(model, x["context"], x["mask"], x["actions"], guidance=3.0)(xt, t)
    assert torch.equal(g0, v_null)
    assert torch.equal(g1, v_cond)
    assert torch.allclose(g3, v_null + 3.0 * (v_cond - v_null), atol=1e-5)
    # g=0 ignores the actions entirely: two different action sequences give the same latents.
    a = inpaint(model, x["context"], x["mask"], x["actions"], steps=3, guidance=0.0)
    b = inpaint(model, x["context"], x["mask"], (x["actions"] + 1) % A, steps=3, guidance=0.0)
    assert torch.equal(a, b)
    c = inpaint(model, x["context"], x["mask"], (x["actions"] + 1) % A, steps=3, guidance=1.0)
    assert not torch.allclose(a, c)


def test_inpainting_is_deterministic_for_a_seed() -> None:
    model = _model()
    x = _inputs()
    a = inpaint(model, x["context"], x["mask"], x["actions"], steps=3, guidance=2.0, seed=5)
    b = inpaint(model, x["context"], x["mask"], x["actions"], steps=3, guidance=2.0, seed=5)
    c = inpaint(model, x["context"], x["mask"], x["actions"], steps=3, guidance=2.0, seed=6)
    assert torch.equal(a, b)
    assert not torch.allclose(a, c)
