"""Audio I/O for every stage: load anything libsndfile reads, mono downmix, resampling, atomic WAV writes.

Arrays are float32 with shape (C, N): channels first, like torch audio tensors, so a mono signal is (1, N).
Only numpy, soundfile and soxr: the engine must run on a box without torch or librosa.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from engine.published_file import atomic_write

MIN_SAMPLE_RATE = 1_000
MAX_SAMPLE_RATE = 768_000
MAX_CHANNELS = 64
# Full scale is 1.0; float files may go a little over, but beyond 60 dB over full scale an input is broken,
# and near 1e17 the models' float32 energies overflow into NaN. Refusing it keeps every edit finite.
MAX_AMPLITUDE = 1000.0


class AudioError(ValueError):
    """Audio that cannot be used: the message says which file (or input) and why."""


def check(audio: np.ndarray, sample_rate: int, source: str = "audio") -> np.ndarray:
    """Validate a (C, N) signal and return it as contiguous float32; raise AudioError otherwise."""
    audio = np.asarray(audio)
    if audio.ndim != 2:
        raise AudioError(f"{source}: expected shape (channels, samples), got {audio.shape}")
    if not MIN_SAMPLE_RATE <= int(sample_rate) <= MAX_SAMPLE_RATE:
        raise AudioError(
            f"{source}: sample rate {sample_rate} Hz is outside {MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE} Hz"
        )
    if not 1 <= audio.shape[0] <= MAX_CHANNELS:
        raise AudioError(f"{source}: {audio.shape[0]} channels (1..{MAX_CHANNELS} supported)")
    if audio.shape[1] == 0:
        raise AudioError(f"{source}: zero-length audio")
    if not np.issubdtype(audio.dtype, np.floating):
        raise AudioError(f"{source}: samples must be floating point, got {audio.dtype}")
    audio = np.ascontiguousarray(audio, dtype=np.float32)
    if not np.isfinite(audio).all():
        bad = int((~np.isfinite(audio)).sum())
        raise AudioError(f"{source}: {bad} samples are NaN or infinite")
    return audio


def check_level(audio: np.ndarray, source: str = "audio") -> None:
    """Raise AudioError for a signal louder than MAX_AMPLITUDE (an edit input; outputs may be louder)."""
    peak = float(np.abs(audio).max(initial=0.0))
    if peak > MAX_AMPLITUDE:
        raise AudioError(
            f"{source}: peak amplitude {peak:.3g} is over {MAX_AMPLITUDE:g} (full scale is 1.0): normalise it"
        )


def info(path: str | os.PathLike) -> sf._SoundFileInfo:
    """Header information (sample rate, frames, channels) without decoding the audio."""
    path = Path(path)
    try:
        if path.is_dir():
            raise AudioError(f"{path}: is a folder, not an audio file")
        if not path.is_file():
            raise AudioError(f"{path}: no such file")
    except OSError as err:  # a name too long, a loop of links: still the caller's bad path
        raise AudioError(f"{path}: {err.strerror or err}") from err
    try:
        header = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError) as err:
        raise AudioError(f"{path}: not readable audio ({err})") from err
    check_wav_length(path, header)
    return header


def check_wav_length(path: Path, header: sf._SoundFileInfo) -> None:
    """Refuse a RIFF WAV whose data chunk claims more audio than the file holds (a copy or download cut
    short): libsndfile would quietly read what is there, and the edit would run on part of the song."""
    if header.format != "WAV":
        return
    with open(path, "rb") as fh:
        riff = fh.read(12)
        if riff[:4] != b"RIFF" or riff[8:12] != b"WAVE":
            return
        while len(chunk := fh.read(8)) == 8:
            size = int.from_bytes(chunk[4:], "little")
            if chunk[:4] == b"data":
                available = os.fstat(fh.fileno()).st_size - fh.tell()
                # 0 and 0xFFFFFFFF: a writer that never filled the size in (a live recording): unknown.
                if size not in (0, 0xFFFFFFFF) and size > available:
                    bytes_per_frame = max(1, available // max(1, header.frames))
                    claimed = size / bytes_per_frame / header.samplerate
                    raise AudioError(
                        f"{path}: truncated: the header says {claimed:.2f} s but the file holds "
                        f"{header.duration:.2f} s (an unfinished copy or download?): export it again"
                    )
                return
            fh.seek(size + (size & 1), os.SEEK_CUR)  # chunks are padded to an even length


def load(
    path: str | os.PathLike,
    sample_rate: int | None = None,
    mono: bool = False,
    start: float = 0.0,
    duration: float | None = None,
) -> tuple[np.ndarray, int]:
    """Read a file (wav, flac, ogg/vorbis, ogg/opus, mp3, ...) as float32 (C, N).

    Args:
        sample_rate: resample to this rate; None keeps the file's rate.
        mono: average the channels into one.
        start, duration: read only this stretch, in seconds (at the file's rate).
    Returns:
        (audio, sample_rate) with audio of shape (C, N), or (1, N) when mono.
    """
    path = Path(path)
    header = info(path)
    if not MIN_SAMPLE_RATE <= header.samplerate <= MAX_SAMPLE_RATE:
        raise AudioError(
            f"{path}: sample rate {header.samplerate} Hz is outside {MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE} Hz"
        )
    first = int(round(start * header.samplerate))
    frames = -1 if duration is None else int(round(duration * header.samplerate))
    try:
        data, sr = sf.read(str(path), start=first, frames=frames, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, ValueError) as err:
        raise AudioError(f"{path}: corrupt or unreadable audio ({err})") from err
    audio = check(data.T, sr, source=str(path))
    if mono:
        audio = to_mono(audio)
    if sample_rate is not None and sample_rate != sr:
        audio, sr = resample(audio, sr, sample_rate), sample_rate
    return audio, sr


def to_mono(audio: np.ndarray) -> np.ndarray:
    """(C, N) -> (1, N) by averaging channels."""
    return audio.mean(axis=0, keepdims=True, dtype=np.float32) if audio.shape[0] > 1 else audio


def resample(audio: np.ndarray, sr_in: int, sr_out: int, quality: str = "HQ") -> np.ndarray:
    """High-quality band-limited resampling of (C, N) float32 audio (soxr)."""
    if sr_in == sr_out:
        return audio
    out = soxr.resample(np.ascontiguousarray(audio.T), sr_in, sr_out, quality=quality)
    return np.ascontiguousarray(out.reshape(out.shape[0], -1).T, dtype=np.float32)


def save_wav(path: str | os.PathLike, audio: np.ndarray, sample_rate: int, subtype: str = "FLOAT") -> Path:
    """Write (C, N) audio as WAV atomically: a temp file in the same folder, then rename over `path`.

    A reader never sees a half-written file and a crash never leaves one behind.
    subtype: "FLOAT" (lossless for our float32), "PCM_16", "PCM_24", ...
    """
    path = Path(path)
    audio = check(audio, sample_rate, source=str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as fh:
        sf.write(fh, audio.T, int(sample_rate), subtype=subtype, format="WAV")
    return path
