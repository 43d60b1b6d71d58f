"""engine.audio: real files in every format libsndfile writes here, and every documented bad input."""

from __future__ import annotations

import os

import numpy as np
import pytest
import soundfile as sf

from engine import audio
from engine.audio import AudioError


def tone(freq: float, sr: int, seconds: float, channels: int = 1) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    x = 0.5 * np.sin(2 * np.pi * freq * t).astype(np.float32)
    return np.stack([x * (0.5 + 0.5 * c / max(channels - 1, 1)) for c in range(channels)])


def peak_freq(x: np.ndarray, sr: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / sr)[spectrum.argmax()])


@pytest.mark.parametrize(
    ("fmt", "subtype", "sr", "channels", "tol"),
    [
        ("WAV", "PCM_16", 44100, 2, 1e-4),
        ("WAV", "FLOAT", 16000, 1, 0.0),
        ("WAV", "PCM_24", 48000, 6, 1e-6),
        ("FLAC", "PCM_16", 22050, 2, 1e-4),
        ("OGG", "VORBIS", 32000, 2, None),
        ("OGG", "OPUS", 48000, 1, None),
        ("MP3", "MPEG_LAYER_III", 44100, 2, None),
    ],
)
def test_round_trip_formats(tmp_path, fmt, subtype, sr, channels, tol):
    x = tone(440.0, sr, 1.0, channels)
    path = tmp_path / f"t.{fmt.lower()}"
    sf.write(str(path), x.T, sr, format=fmt, subtype=subtype)
    y, got_sr = audio.load(path)
    assert got_sr == sr and y.dtype == np.float32 and y.shape[0] == channels
    if tol is not None:  # lossless: exact length and values
        assert y.shape == x.shape
        np.testing.assert_allclose(y, x, atol=tol)
    else:  # lossy codecs may pad: the tone must still be there
        assert abs(y.shape[1] - x.shape[1]) < 0.1 * sr
        assert abs(peak_freq(y[0], sr) - 440.0) < 5.0


def test_load_mono_resample_and_window(tmp_path):
    x = tone(1000.0, 44100, 2.0, channels=2)
    path = tmp_path / "s.wav"
    audio.save_wav(path, x, 44100)
    y, sr = audio.load(path, sample_rate=16000, mono=True)
    assert sr == 16000 and y.shape == (1, 32000)
    assert abs(peak_freq(y[0], sr) - 1000.0) < 2.0
    part, _ = audio.load(path, start=0.5, duration=0.25)
    np.testing.assert_array_equal(part, x[:, 22050 : 22050 + 11025])


def test_resample_preserves_band_and_rms():
    x = tone(3000.0, 48000, 1.0)
    y = audio.resample(x, 48000, 16000)
    assert y.shape == (1, 16000) and y.dtype == np.float32
    assert abs(peak_freq(y[0], 16000) - 3000.0) < 2.0
    assert abs(np.sqrt((y**2).mean()) - np.sqrt((x**2).mean())) < 0.01
    alias = audio.resample(tone(10000.0, 48000, 1.0), 48000, 16000)  # above the new Nyquist: filtered out
    assert np.abs(alias[:, 500:-500]).max() < 0.01  # edges carry the onset transient


def test_save_wav_is_atomic_and_keeps_format(tmp_path):
    x = tone(220.0, 44100, 0.5, channels=2)
    path = tmp_path / "out" / "edit.wav"
    audio.save_wav(path, x, 44100, subtype="PCM_24")
    info = sf.info(str(path))
    assert (info.samplerate, info.channels, info.subtype) == (44100, 2, "PCM_24")
    assert [p.name for p in path.parent.iterdir()] == ["edit.wav"]  # no temp file left behind
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's private 0600
    audio.save_wav(path, x * 0.5, 44100)  # overwrite in place
    np.testing.assert_allclose(audio.load(path)[0], x * 0.5, atol=1e-7)


def test_failed_write_leaves_previous_file(tmp_path):
    path = tmp_path / "keep.wav"
    audio.save_wav(path, tone(220.0, 16000, 0.1), 16000)
    before = path.read_bytes()
    with pytest.raises(AudioError):
        audio.save_wav(path, np.full((1, 10), np.nan, dtype=np.float32), 16000)
    assert path.read_bytes() == before
    assert len(list(tmp_path.iterdir())) == 1


def test_mono_downmix():
    x = np.stack([np.ones(4, np.float32), -np.ones(4, np.float32) * 0.5])
    np.testing.assert_allclose(audio.to_mono(x), [[0.25] * 4])
    assert audio.to_mono(x[:1]) is not None and audio.to_mono(x[:1]).shape == (1, 4)


def test_missing_file(tmp_path):
    with pytest.raises(AudioError, match="no such file"):
        audio.load(tmp_path / "nope.wav")


def test_corrupt_file(tmp_path):
    path = tmp_path / "garbage.wav"
    path.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk" + bytes(range(256)) * 4)
    with pytest.raises(AudioError, match=r"garbage\.wav"):
        audio.load(path)


def test_zero_length_file(tmp_path):
    path = tmp_path / "empty.wav"
    sf.write(str(path), np.zeros((0, 1), np.float32), 16000)
    with pytest.raises(AudioError, match="zero-length"):
        audio.load(path)


def test_nan_in_file(tmp_path):
    path = tmp_path / "nan.wav"
    x = tone(220.0, 16000, 0.1)
    x[0, 10] = np.nan
    sf.write(str(path), x.T, 16000, subtype="FLOAT")
    with pytest.raises(AudioError, match="NaN"):
        audio.load(path)


def test_absurd_sample_rate(tmp_path):
    path = tmp_path / "slow.wav"
    sf.write(str(path), np.zeros((100, 1), np.float32), 200)
    with pytest.raises(AudioError, match="sample rate"):
        audio.load(path)
    with pytest.raises(AudioError, match="sample rate"):
        audio.check(np.zeros((1, 10), np.float32), 10_000_000)


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros(10, np.float32), "shape"),
        (np.zeros((1, 0), np.float32), "zero-length"),
        (np.zeros((100, 10), np.float32), "channels"),
        (np.zeros((1, 10), np.int16), "floating point"),
        (np.array([[0.0, np.inf]], np.float32), "infinite"),
    ],
)
def test_check_rejects(array, message):
    with pytest.raises(AudioError, match=message):
        audio.check(array, 16000, source="request")


def test_unusable_paths_are_audio_errors(tmp_path):
    for path in ("/" + "a" * 300 + ".wav", tmp_path, tmp_path / "missing.wav"):
        with pytest.raises(AudioError):
            audio.load(path)
