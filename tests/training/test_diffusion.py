"""Flow matching: the path, time sampling, noise synchronisation, and overfitting one batch."""

import math

import torch

from training.diffusion import FlowConfig, add_noise, flow_loss, sample_time, synchronise_noise
from training.models.tokenizer import build


def test_path_end_points_and_target():
    x0, noise = torch.randn(3, 1, 8), torch.randn(3, 1, 8)
    assert torch.equal(add_noise(x0, noise, torch.zeros(3)), x0)
    assert torch.equal(add_noise(x0, noise, torch.ones(3)), noise)
    mid = add_noise(x0, noise, torch.full((3,), 0.25))
    assert torch.allclose(mid, 0.75 * x0 + 0.25 * noise)
    perfect = flow_loss(lambda x, t: noise - x0, x0, torch.rand(3), noise)
    assert perfect.item() == 0.0


def test_loss_t_floor_caps_the_weight_of_low_levels():
    x0, noise = torch.randn(2, 1, 8), torch.randn(2, 1, 8)
    t = torch.tensor([0.1, 0.5])

    def off_by_one(t_floor, rows=slice(None)):  # the same unit velocity error everywhere
        return flow_loss(
            lambda x, level: noise[rows] - x0[rows] + 1.0, x0[rows], t[rows], noise[rows], t_floor
        )

    assert off_by_one(0.0).item() == 1.0
    # Below the floor the error counts (t / floor)^2 as much; at or above it, unchanged.
    assert torch.isclose(off_by_one(0.25, slice(0, 1)), torch.tensor((0.1 / 0.25) ** 2))
    assert off_by_one(0.25, slice(1, 2)).item() == 1.0
    assert torch.isclose(off_by_one(0.25), torch.tensor(((0.1 / 0.25) ** 2 + 1.0) / 2))


def test_logit_normal_time():
    g = torch.Generator().manual_seed(0)
    t = sample_time(20_000, FlowConfig(), g)
    assert t.min() > 0 and t.max() < 1
    assert abs(t.mean().item() - 0.5) < 0.01
    shifted = sample_time(20_000, FlowConfig(time_mean=1.0), g)
    assert shifted.median().item() > 0.7


def test_noise_synchronisation():
    g = torch.Generator().manual_seed(0)
    latents, t = torch.randn(4000, 2, 3), torch.zeros(4000)
    out, t_out = synchronise_noise(latents, t, 0.1, g)
    changed = (out != latents).flatten(1).any(1)
    assert 0.07 < changed.float().mean().item() < 0.13
    # Unchanged samples keep their level; noised ones get a decoder level no lower than their latent level.
    assert torch.equal(t_out[~changed], t[~changed])
    assert (t_out[changed] > 0).all()
    # Always on: t_z ~ U(0, 1) and t ~ U(t_z, 1) give E[t] = 3/4.
    _, t_all = synchronise_noise(latents, t, 1.0, g)
    assert abs(t_all.mean().item() - 0.75) < 0.02
    off, t_off = synchronise_noise(latents, t, 0.0, g)
    assert torch.equal(off, latents) and torch.equal(t_off, t)


def test_overfitting_one_batch_drives_the_loss_down():
    torch.manual_seed(0)
    model = build("tiny")
    n = 8 * model.hop
    time_axis = torch.arange(n) / 16_000
    audio = torch.stack([0.3 * torch.sin(2 * math.pi * f * time_axis) for f in (220.0, 440.0)])[:, None]
    x0 = model.to_diffusion(audio)  # the decoder space training uses
    noise_eval, t_eval = torch.randn_like(x0), torch.full((2,), 0.5)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)

    def eval_loss():
        with torch.no_grad():
            return flow_loss(
                lambda x, t: model.velocity(x, t, model.encode(audio)), x0, t_eval, noise_eval
            ).item()

    before = eval_loss()
    for _ in range(80):
        t, noise = torch.rand(2), torch.randn_like(x0)
        loss = flow_loss(lambda x, t: model.velocity(x, t, model.encode(audio)), x0, t, noise)
        opt.zero_grad()
        loss.backward()
        opt.step()
    after = eval_loss()
    assert after < 0.5 * before, (before, after)
