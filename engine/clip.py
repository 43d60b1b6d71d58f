"""What a client that keeps the file sends and does, so a file of any length edits in bounded memory.

An edit needs the region and its context at the file's rate (every channel), and a song-aware edit also
the whole song as the models hear it (mono at the model rate, a twelfth of a stereo 44.1 kHz file's
float32 bytes). So `engine.client.EditorClient` sends the window as a stretch (`engine.window.Part`) and
the song once (PutSong, keyed by `song_key`, streamed by `song_parts`); the engine answers with the
stretch edited, or with a plan the client renders from its file (`engine.song_render.render_plan`, the
engine's own code), and `write_patched` copies the file to the output block by block with the changed
samples written in. Neither side ever holds the whole file at its rate.

Letters: C channels, N samples.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import numpy as np
import soundfile as sf
import soxr

from engine import audio as audio_io
from engine.audio import AudioError
from engine.published_file import atomic_write
from engine.song_render import Patch
from engine.window import plan_window
from protos.musegenie.v1 import engine_pb2 as pb

BLOCK = 1 << 20  # frames read at once when a whole file is streamed (8 MB of stereo float32)
PART_SAMPLES = 1 << 20  # model-rate samples per PutSong part (4 MB)


class AudioSource(Protocol):
    """Audio an edit reads by stretches: a file on disk, or an array already in memory."""

    sample_rate: int
    channels: int
    num_samples: int

    def read(self, lo: int, hi: int) -> np.ndarray:
        """(C, hi - lo) contiguous float32 samples [lo, hi) (empty when hi <= lo)."""
        ...


class ArraySource:
    def __init__(self, audio: np.ndarray, sample_rate: int) -> None:
        self.audio = audio_io.check(audio, sample_rate)
        audio_io.check_level(self.audio)
        self.sample_rate = int(sample_rate)
        self.channels, self.num_samples = self.audio.shape

    def read(self, lo: int, hi: int) -> np.ndarray:
        return self.audio[:, lo : max(lo, hi)].copy()  # a copy: callers may write into it

    def identity(self) -> None:
        return None  # no cheaper identity than its content


class FileSource:
    """A sound file read by seeking (libsndfile): only the stretches asked for are decoded."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        header = audio_io.info(self.path)  # missing, a folder, not audio, truncated: AudioError
        if not audio_io.MIN_SAMPLE_RATE <= header.samplerate <= audio_io.MAX_SAMPLE_RATE:
            raise AudioError(
                f"{self.path}: sample rate {header.samplerate} Hz is outside the supported range"
            )
        if not 1 <= header.channels <= audio_io.MAX_CHANNELS or header.frames <= 0:
            raise AudioError(
                f"{self.path}: {header.channels} channels, {header.frames} frames: nothing to edit"
            )
        self.sample_rate, self.channels, self.num_samples = header.samplerate, header.channels, header.frames

    def read(self, lo: int, hi: int) -> np.ndarray:
        if hi <= lo:
            return np.zeros((self.channels, 0), np.float32)
        try:
            with sf.SoundFile(str(self.path)) as fh:
                fh.seek(lo)
                data = fh.read(hi - lo, dtype="float32", always_2d=True)  # (k, C)
        except (sf.LibsndfileError, RuntimeError, ValueError) as err:
            raise AudioError(f"{self.path}: corrupt or unreadable audio ({err})") from err
        if data.shape[0] != hi - lo:
            raise AudioError(f"{self.path}: holds fewer samples than its header says (changed while read?)")
        audio = audio_io.check(data.T, self.sample_rate, str(self.path))  # (C, k) contiguous
        audio_io.check_level(audio, str(self.path))
        return audio

    def identity(self) -> tuple:
        """What changes when the file does (its song key is computed once per identity)."""
        st = self.path.stat()
        return (str(self.path.resolve()), st.st_size, st.st_mtime_ns, st.st_ino)


def blocks(source: AudioSource, block: int = BLOCK) -> Iterator[np.ndarray]:
    """The whole source, (C, block) at a time, in order."""
    for lo in range(0, source.num_samples, block):
        yield source.read(lo, min(source.num_samples, lo + block))


def song_key(source: AudioSource) -> str:
    """Content hash of the song (its float32 frames, rate and shape): the engine keeps its index under it."""
    digest = hashlib.sha256(f"frames|{source.channels}|{source.num_samples}|{source.sample_rate}|".encode())
    for audio in blocks(source):
        digest.update(np.ascontiguousarray(audio.T).data)  # (k, C) frames, as the file holds them
    return digest.hexdigest()[:32]


def model_mono(source: AudioSource, model_rate: int) -> Iterator[np.ndarray]:
    """The song as the engine's index hears it, mono at the model rate, in runs: the same samples as
    `engine.audio.resample(engine.audio.to_mono(audio), rate, model_rate)` of the whole (soxr streams
    bit-identically to its one-shot call)."""
    stream = None
    if source.sample_rate != model_rate:
        stream = soxr.ResampleStream(source.sample_rate, model_rate, 1, dtype="float32", quality="HQ")
    for lo in range(0, source.num_samples, BLOCK):
        hi = min(source.num_samples, lo + BLOCK)
        mono = audio_io.to_mono(source.read(lo, hi))[0]  # (k,)
        yield mono if stream is None else stream.resample_chunk(mono, last=hi == source.num_samples)


def song_parts(
    source: AudioSource, model_rate: int, key: str, part: int = PART_SAMPLES
) -> Iterator[pb.SongPart]:
    """PutSong's messages: the header, then the model-rate mono song in parts of `part` samples."""
    yield pb.SongPart(key=key, sample_rate=source.sample_rate, num_samples=source.num_samples)
    pending = np.zeros(0, np.float32)
    for run in model_mono(source, model_rate):
        pending = np.concatenate([pending, run])
        while len(pending) >= part:
            yield pb.SongPart(pcm=pending[:part].astype("<f4").tobytes())
            pending = pending[part:]
    if len(pending):
        yield pb.SongPart(pcm=pending.astype("<f4").tobytes())


def window_span(
    source: AudioSource, region: tuple[float, float], context_seconds: float, crossfade_ms: float
) -> tuple[int, int]:
    """The samples [lo, hi) an edit of `region` reads: the region and its context (the engine's own
    `engine.window.plan_window`; raises RegionError for a region outside the file)."""
    w = plan_window(source.num_samples, source.sample_rate, region, context_seconds, crossfade_ms, 1, 1, 1)
    return w.window_start, w.window_end


def write_patched(source: AudioSource, path: str | os.PathLike, patch: Patch) -> Path:
    """Write the source with `patch` over it as a float WAV, block by block, atomically (as
    `engine.audio.save_wav` writes a whole array)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    start, end = patch.start, patch.start + patch.audio.shape[1]
    with (
        atomic_write(path) as fh,
        sf.SoundFile(fh, "w", source.sample_rate, source.channels, subtype="FLOAT", format="WAV") as out,
    ):
        for lo in range(0, source.num_samples, BLOCK):
            hi = min(source.num_samples, lo + BLOCK)
            audio = source.read(lo, hi) if hi <= start or lo >= end else _patched(source, lo, hi, patch)
            out.write(audio.T)
    return path


def _patched(source: AudioSource, lo: int, hi: int, patch: Patch) -> np.ndarray:
    audio = source.read(lo, hi)  # (C, k)
    a, b = max(lo, patch.start), min(hi, patch.start + patch.audio.shape[1])
    audio[:, a - lo : b - lo] = patch.audio[:, a - patch.start : b - patch.start]
    return audio
