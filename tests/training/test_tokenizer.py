"""Tokenizer: shapes for every preset and odd lengths, normalised latents, fresh decoder, decode."""

import numpy as np
import pytest
import torch

from engine.decoder_space import DecoderSpace
from training.models.tokenizer import PRESETS, Tokenizer, TokenizerConfig, build, pad_to_multiple


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_shapes_for_every_preset(preset):
    torch.manual_seed(0)
    model = build(preset).eval()
    expected = {"tiny": (32, 8), "low": (320, 128), "high": (2048, 64), "small": (2048, 64)}[preset]
    assert (model.hop, model.latent_dim) == expected
    audio = torch.randn(2, 1, 3 * model.hop) * 0.1
    with torch.no_grad():
        latents = model.encode(audio)
        assert latents.shape == (2, 3, model.latent_dim)
        velocity = model.velocity(torch.randn_like(audio), torch.tensor([0.3, 0.9]), latents)
    assert velocity.shape == audio.shape


def test_latents_are_layer_normalised():
    model = build("tiny")
    with torch.no_grad():
        latents = model.encode(torch.randn(2, 1, 10 * model.hop))
    assert torch.allclose(latents.mean(-1), torch.zeros(2, 10), atol=1e-5)
    assert torch.allclose(latents.var(-1, unbiased=False), torch.ones(2, 10), atol=1e-3)


@pytest.mark.parametrize("length", [1, 31, 33, 100, 257])
def test_any_length_by_padding_and_trimming(length):
    model = build("tiny").eval()
    audio = torch.randn(1, 1, length)
    assert pad_to_multiple(audio, model.hop).shape[-1] % model.hop == 0
    latents = model.encode_any(audio)
    assert latents.shape == (1, -(-length // model.hop), model.latent_dim)
    assert model.reconstruct(audio, steps=2).shape == (1, 1, length)


def test_fresh_decoder_decodes_silence_or_the_noise_mapped_back():
    latents = torch.randn(1, 4, 8)
    noise = torch.randn(1, 1, 4 * build("tiny").hop)
    assert torch.equal(build("tiny").eval().decode(latents, steps=3, noise=noise), torch.zeros_like(noise))
    velocity = build(
        "tiny", prediction="velocity", fine_gate=False
    ).eval()  # predicts v = 0: the noise is never moved
    assert torch.allclose(velocity.decode(latents, steps=3, noise=noise), velocity.from_diffusion(noise))


@pytest.mark.parametrize("compand, bins, window", [(1.0, 0, 1), (0.5, 0, 1), (0.5, 32, 1), (0.5, 32, 3)])
def test_decoder_space_matches_the_engines_numpy_one(compand, bins, window):
    """Also with companding on a finer MDCT than the patch (compand_bins = the tiny hop) and smooth."""
    model = build("tiny", compand=compand, compand_bins=bins, compand_window=window)
    cfg = model.config
    space = DecoderSpace(cfg.emphasis, cfg.audio_scale, cfg.compand, bins or cfg.patch, window)
    audio = torch.randn(2, 1, 3072) * 0.1
    decoded = model.to_diffusion(audio)
    assert np.allclose(decoded.numpy(), space.forward(audio.numpy()), atol=1e-5)
    assert np.allclose(model.from_diffusion(decoded).numpy(), audio.numpy(), atol=1e-5)
    assert np.allclose(space.inverse(decoded.numpy()), audio.numpy(), atol=1e-5)


@pytest.mark.parametrize("bins", [3, 6, 64])
def test_compand_bins_must_be_even_and_divide_the_hop(bins):
    with pytest.raises(ValueError, match="compand_bins"):
        build("tiny", compand_bins=bins)


def test_a_companding_window_the_engine_cannot_run_or_a_shortcut_weight_of_zero_is_refused():
    with pytest.raises(ValueError, match="compand_window"):
        build("tiny", compand_window=2)
    with pytest.raises(ValueError, match="latent_mel_weight"):
        build("tiny", latent_mel_weight=0.0)


def test_envelope_read_from_the_latents_silences_the_clean_estimate():
    """x0 mode: the output is gated per band by a gain from the latents alone, whatever the noisy input."""
    torch.manual_seed(0)
    model = build("tiny")
    for p in model.parameters():
        torch.nn.init.normal_(p, std=0.05)
    noisy, t, latents = torch.randn(1, 1, 8 * model.hop), torch.tensor([0.3]), torch.randn(1, 8, 8)
    with torch.no_grad():
        x0 = model.decoder(noisy, t, latents.transpose(1, 2))
        assert x0.abs().mean() > 1e-3
        model.decoder.envelope.bias.fill_(-40.0)  # clamped to e^-12
        assert model.decoder(noisy, t, latents.transpose(1, 2)).abs().max() < x0.abs().max() * 1e-4
    assert build("tiny", prediction="velocity", fine_gate=False).decoder.envelope is None


def test_decoder_depends_on_latents_once_trained_a_little():
    torch.manual_seed(0)
    model = build("tiny")
    for p in model.parameters():
        torch.nn.init.normal_(p, std=0.05)
    noisy = torch.randn(1, 1, 4 * model.hop)
    t = torch.tensor([0.5])
    a = model.velocity(noisy, t, torch.randn(1, 4, model.latent_dim))
    b = model.velocity(noisy, t, torch.randn(1, 4, model.latent_dim))
    assert not torch.allclose(a, b)


def test_latent_frame_influences_its_own_region_most():
    """Conditioning is local: changing one latent frame changes the velocity mostly inside that frame."""
    torch.manual_seed(0)
    model = build("tiny")
    for p in model.parameters():
        torch.nn.init.normal_(p, std=0.05)
    hop, frames = model.hop, 16
    noisy, t = torch.randn(1, 1, frames * hop), torch.tensor([0.5])
    latents = torch.randn(1, frames, model.latent_dim)
    changed = latents.clone()
    changed[:, 8] += 3.0
    diff = (model.velocity(noisy, t, latents) - model.velocity(noisy, t, changed)).abs()[0, 0]
    inside = diff[8 * hop : 9 * hop].mean()
    far = torch.cat([diff[: 4 * hop], diff[13 * hop :]]).mean()
    assert inside > 10 * far


def test_config_validation():
    with pytest.raises(ValueError, match="one entry per stage"):
        TokenizerConfig(factors=(2, 2), widths=(8,), depths=(1, 1))
    with pytest.raises(KeyError, match="unknown tokenizer preset"):
        build("huge")
    assert isinstance(build("tiny", latent_dim=16), Tokenizer)


def test_sample_prediction_turns_the_clean_estimate_into_a_velocity():
    model = build("tiny", prediction="sample").eval()
    noisy, latents = torch.randn(2, 1, 4 * model.hop), torch.randn(2, 4, model.latent_dim)
    t = torch.tensor([0.5, 0.01])
    with torch.no_grad():
        v = model.velocity(noisy, t, latents)
        # A fresh decoder predicts x0 = 0, so v = x_t / t with t clamped at min_t.
        assert torch.allclose(v[0], noisy[0] / 0.5) and torch.allclose(v[1], noisy[1] / model.config.min_t)
        # One Euler step from t to 0 lands on the predicted x0 (here 0) whatever t is, down to min_t.
        assert torch.allclose(noisy[:1] - 0.5 * v[:1], torch.zeros(1, 1, 4 * model.hop), atol=1e-6)
    with pytest.raises(ValueError, match="prediction"):
        TokenizerConfig(prediction="eps")


def test_fresh_fine_gate_is_the_identity_and_a_shut_band_is_silent():
    torch.manual_seed(0)
    plain, gated = build("tiny").eval(), build("tiny", fine_gate=True).eval()
    gated.load_state_dict(plain.state_dict(), strict=False)
    torch.nn.init.normal_(plain.decoder.out.weight, std=0.1)  # a decoder that outputs something
    gated.decoder.out.load_state_dict(plain.decoder.out.state_dict())
    noisy, t, latents = torch.randn(1, 1, 8 * plain.hop), torch.tensor([0.5]), torch.randn(1, 8, 8)
    with torch.no_grad():
        assert torch.allclose(gated.decoder(noisy, t, latents), plain.decoder(noisy, t, latents), atol=1e-5)
        gated.decoder.fine_envelope.bias[5] = -12.0  # shut fine band 5 (of 16) everywhere
        estimate = gated.decoder(noisy, t, latents)
    fine = gated.decoder.fine.analysis(estimate)[0]  # (16, L)
    assert fine[5].abs().max() < 1e-4 * fine.abs().max()


def test_fine_gate_needs_the_clean_estimate():
    with pytest.raises(ValueError, match="fine_gate"):
        TokenizerConfig(fine_gate=True, prediction="velocity")
