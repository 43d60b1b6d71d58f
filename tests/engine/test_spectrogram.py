"""engine.spectrogram: our numpy log-mel and the stacked PNG writer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.spectrogram import hz_to_mel, log_mel, mel_filterbank, save_spectrograms

SR = 16000


def _sine(freq: float, seconds: float = 1.0, sr: int = SR) -> np.ndarray:
    return (0.5 * np.sin(2 * np.pi * freq * np.arange(int(seconds * sr)) / sr)).astype(np.float32)


def test_filterbank_covers_the_spectrum_with_triangles() -> None:
    bank = mel_filterbank(SR, 1024, 80)
    assert bank.shape == (80, 513) and bank.dtype == np.float32
    assert (bank >= 0).all() and (bank.sum(axis=1) > 0).all()
    peaks = bank.argmax(axis=1)
    assert np.all(np.diff(peaks) >= 0), "filter centres rise with the band index"


@pytest.mark.parametrize(("n", "hop"), [(16000, 256), (16001, 256), (5000, 160), (100, 256)])
def test_log_mel_shape_and_finite(n: int, hop: int) -> None:
    audio = np.random.default_rng(0).standard_normal((1, n)).astype(np.float32)
    spec = log_mel(audio, SR, n_mels=64, hop=hop)
    assert spec.shape == (64, 1 + n // hop) and spec.dtype == np.float32
    assert np.isfinite(spec).all()
    assert np.isfinite(log_mel(np.zeros(n, np.float32), SR)).all(), "silence stays finite (floored)"


def test_channels_are_averaged_and_1d_accepted() -> None:
    mono = _sine(440)
    assert np.allclose(log_mel(np.stack([mono, mono]), SR), log_mel(mono, SR), atol=1e-4)
    with pytest.raises(ValueError, match="expected"):
        log_mel(np.zeros((1, 0), np.float32), SR)


@pytest.mark.parametrize("freq", [220.0, 1000.0, 5000.0])
def test_sine_lights_the_matching_mel_band(freq: float) -> None:
    spec = log_mel(_sine(freq), SR, n_mels=80)  # (M, F)
    band = int(spec[:, 10:-10].mean(axis=1).argmax())
    centre = hz_to_mel(freq) / hz_to_mel(SR / 2) * 81 - 1  # filter m peaks at edge m + 1 of 82 edges
    assert abs(band - centre) <= 1.5
    assert spec[band, 10:-10].mean() > np.median(spec) + 30


def test_louder_is_higher_by_the_gain_in_db() -> None:
    quiet = log_mel(_sine(440) * 0.1, SR)
    loud = log_mel(_sine(440), SR)
    band = int(loud.mean(axis=1).argmax())
    assert loud[band, 5:-5].mean() - quiet[band, 5:-5].mean() == pytest.approx(20.0, abs=0.1)


def test_save_spectrograms_writes_a_png(tmp_path: Path) -> None:
    noise = np.random.default_rng(1).standard_normal((1, 8000)).astype(np.float32) * 0.1
    path = save_spectrograms(
        tmp_path / "sub" / "pic.png",
        [
            ("sine", _sine(440)[None], SR),
            ("noise 8k", noise, 8000),
            ("44.1k", _sine(3000, 0.5, 44100), 44100),
        ],
        title="test",
    )
    assert path == tmp_path / "sub" / "pic.png"
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    assert [p.name for p in path.parent.iterdir()] == ["pic.png"], "no temp file left behind"
    with pytest.raises(ValueError, match="no panels"):
        save_spectrograms(tmp_path / "empty.png", [])
