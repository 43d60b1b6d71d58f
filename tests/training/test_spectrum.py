"""The encoder's log-magnitude STFT view and the latents' log-mel shortcut: frame count and centring, a sine's
level in its bin or mel band, no parameters."""

import math

import librosa
import numpy as np
import pytest
import torch

from training.models.spectrum import FLOOR, LogMel, LogSpectrum
from training.models.tokenizer import build


def test_a_sine_reads_half_its_amplitude_in_its_own_bin_of_every_frame():
    hop, n_fft, rate = 128, 512, 16_000
    spectrum = LogSpectrum(hop, n_fft)
    k = 20  # 625 Hz: exactly on bin 20
    t = torch.arange(16 * hop) / rate
    log_magnitude = spectrum(0.8 * torch.sin(2 * math.pi * k * rate / n_fft * t)[None, None])
    assert log_magnitude.shape == (1, n_fft // 2 + 1, 16)
    inner = log_magnitude[0, :, 2:-2]  # frames that do not reach the reflected ends
    assert torch.allclose(inner[k], torch.full_like(inner[k], math.log(0.4)), atol=1e-3)
    assert (inner.argmax(dim=0) == k).all()
    assert inner[k + 5].max() < math.log(0.4) - 5  # the window's leakage stays 50 dB+ down


def test_frame_l_is_centred_on_its_hop():
    spectrum = LogSpectrum(16, 64)
    x = torch.zeros(1, 1, 160)
    x[..., 5 * 16 + 8] = 1.0  # an impulse at the centre of frame 5
    loudest = spectrum(x)[0].mean(dim=0)  # (L,)
    assert loudest.argmax().item() == 5
    assert torch.allclose(loudest[4], loudest[6], atol=1e-4)  # symmetric around it
    assert spectrum(torch.zeros(1, 1, 160)).eq(math.log(FLOOR)).all()


def test_spectrum_encoder_adds_only_a_zero_projection_that_then_hears_the_audio():
    torch.manual_seed(0)
    plain = build("small", spectrum=False)
    spectral = build("small")
    extra = sum(p.numel() for p in spectral.parameters()) - sum(p.numel() for p in plain.parameters())
    assert extra == (513 + 1) * 192  # the 1x1 conv from 513 bins (1024-point STFT) to 192 channels
    spectral.load_state_dict(plain.state_dict(), strict=False)
    audio = torch.randn(1, 1, 4 * spectral.hop) * 0.1
    with torch.no_grad():
        assert torch.equal(spectral.encode(audio), plain.encode(audio))  # zero-initialised: a warm start
        torch.nn.init.normal_(spectral.encoder.spectrum_in.weight, std=0.1)
        assert not torch.allclose(spectral.encode(audio), plain.encode(audio))


@pytest.mark.parametrize(("hop", "n_fft"), [(2048, 4096), (256, 1024), (320, 640), (16, 48)])
def test_two_stage_dft_matches_numpys_rfft_of_the_windowed_frames(hop, n_fft):
    torch.manual_seed(0)
    x = torch.randn(2, 1, 5 * hop) * 0.3
    side = (n_fft - hop) // 2
    padded = np.pad(x.numpy()[:, 0], ((0, 0), (side, side)), mode="reflect")
    frames = np.stack([padded[:, i * hop : i * hop + n_fft] for i in range(5)], axis=1)  # (B, L, n_fft)
    window = np.hanning(n_fft + 1)[:-1]
    expected = np.abs(np.fft.rfft(frames * window / window.sum(), axis=-1)).transpose(0, 2, 1)
    got = LogSpectrum(hop, n_fft).magnitude(x).numpy()  # (B, F, L)
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() < 1e-6


def test_latent_rate_mel_keeps_its_constants_small():
    """A 4096-point DFT as one conv kernel would put 2 x 4096^2 floats (67 MB) into the encoder's ONNX graph."""
    constants = sum(b.numel() for b in LogMel(2048, 4096, 64, 16_000).buffers())
    assert constants < 200_000  # two 64-point DFTs, the twiddles, the window and the 64 x 2049 mel bank


@pytest.mark.parametrize(("hop", "n_fft"), [(128, 64), (128, 192), (5, 10)])
def test_spectrum_rejects_a_window_not_a_multiple_of_its_hop_or_off_centre(hop, n_fft):
    with pytest.raises(ValueError, match="n_fft"):
        LogSpectrum(hop, n_fft)


def test_log_mel_puts_a_sine_in_the_band_around_its_frequency():
    rate, hop = 16_000, 256
    mel = LogMel(hop, 2 * hop, 32, rate)
    t = torch.arange(32 * hop) / rate
    bands = mel(0.5 * torch.sin(2 * math.pi * 1000.0 * t)[None, None])  # (1, 32, 32)
    assert bands.shape == (1, 32, 32)
    centres = librosa.mel_frequencies(32 + 2, fmax=rate / 2)[1:-1]
    assert (bands[0, :, 2:-2].argmax(dim=0) == int(abs(centres - 1000.0).argmin())).all()
    assert mel(torch.zeros(1, 1, 4 * hop)).eq(math.log(FLOOR)).all()


def test_latent_mel_shortcut_has_no_parameters_and_moves_the_latents_with_the_envelope():
    torch.manual_seed(0)
    plain, shortcut = build("tiny"), build("tiny", latent_mel=True)
    assert sum(p.numel() for p in shortcut.parameters()) == sum(p.numel() for p in plain.parameters())
    shortcut.load_state_dict(plain.state_dict())
    t = torch.arange(8 * shortcut.hop) / 16_000
    low, high = (0.3 * torch.sin(2 * math.pi * f * t)[None, None] for f in (300.0, 5000.0))
    with torch.no_grad():
        for audio in (low, high):
            assert not torch.allclose(shortcut.encode(audio), plain.encode(audio))
        # with the learned encoder zeroed, the latents are the normalised log-mel itself
        for p in shortcut.encoder.parameters():
            p.zero_()
        mels = shortcut.encoder.latent_mel(low)  # (1, D, T)
        expected = torch.nn.functional.layer_norm(((mels + 9.0) / 1.5).transpose(1, 2), (8,))
        assert torch.allclose(shortcut.encode(low), expected, atol=1e-5)


def test_latent_mel_weight_keeps_the_envelope_against_large_learned_features():
    """Trained encoders' features grow to ~10x the shortcut's size; the weight keeps the log-mel readable."""
    torch.manual_seed(0)
    t = torch.arange(8 * build("tiny").hop) / 16_000
    audio = 0.3 * torch.sin(2 * math.pi * 300.0 * t)[None, None] * torch.linspace(0.01, 1, t.numel())
    distance = {}
    for weight in (1.0, 30.0):
        model = build("tiny", latent_mel=True, latent_mel_weight=weight)
        with torch.no_grad():
            for p in model.encoder.parameters():
                p.normal_(std=0.3)  # large learned features
            mels = model.encoder.latent_mel(audio)  # (1, D, T)
            envelope = torch.nn.functional.layer_norm(((mels + 9.0) / 1.5).transpose(1, 2), (8,))
            distance[weight] = (model.encode(audio) - envelope).abs().mean().item()
    assert distance[30.0] < 0.5 * distance[1.0]
