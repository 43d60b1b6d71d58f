"""Songs sent to the engine once, at the model's rate, by clients that keep their files (engine.clip).

A song-aware edit plans from the whole song, so the engine needs all of it, but only as its models hear
it: mono at the model rate (an hour is 230 MB as float32, against 1.3 GB for the stereo 44.1 kHz file).
`receive` takes a PutSong stream into one buffer, padded as the song index wants it; `SongUploads` keeps
it until the first edit of the song indexes it (engine.song_edit), within a byte budget.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from engine.audio import MAX_AMPLITUDE, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, AudioError
from engine.window import model_samples

MAX_SONG_SECONDS = 2 * 3600.0  # longest song an engine indexes (its memory grows ~350 MB per hour)
UPLOAD_BYTES = 512 << 20  # songs being received or waiting for their first edit, at most (2 h-long ones)
KEY = re.compile(r"[0-9a-f]{32}")  # engine.song.song_key's form


class SongMissing(LookupError):
    """An edit of a stretch names a song the engine holds neither indexed nor received (it was evicted,
    or never sent): the client sends it (PutSong) and asks again."""


class SongRefused(Exception):
    """A song the engine will not take now: too long for it, or no room while others are received."""


@dataclass(frozen=True)
class Upload:
    key: str
    audio: np.ndarray  # (P,) mono model-rate float32, zero-padded to the song index's multiple
    sample_rate: int  # the file's rate
    num_samples: int  # the file's length in its samples


class SongUploads:
    """Received songs waiting for their index, oldest dropped first when a new one needs the room."""

    def __init__(self, max_bytes: int = UPLOAD_BYTES) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, Upload] = OrderedDict()
        self._receiving = 0  # bytes of buffers being filled
        self._lock = threading.Lock()

    def reserve(self, nbytes: int) -> None:
        """Room for a buffer of `nbytes`, dropping waiting songs if need be (raises SongRefused)."""
        with self._lock:
            while self._items and self._used() + nbytes > self.max_bytes:
                self._items.popitem(last=False)
            if self._used() + nbytes > self.max_bytes:
                raise SongRefused(
                    f"the engine is receiving other songs ({self._receiving >> 20} MiB): send it again "
                    "when they are done"
                )
            self._receiving += nbytes

    def release(self, nbytes: int, upload: Upload | None = None) -> None:
        """The reserved buffer is filled (`upload` kept until its first edit) or abandoned (None)."""
        with self._lock:
            self._receiving -= nbytes
            if upload is not None:
                self._items[upload.key] = upload

    def restore(self, upload: Upload) -> None:
        """Put back a song whose index could not be built (cancelled, failed): its next edit needs it."""
        with self._lock:
            self._items[upload.key] = upload

    def take(self, key: str) -> Upload:
        with self._lock:
            if key not in self._items:
                raise SongMissing(f"song {key} is not on the engine (evicted or never sent): send it again")
            return self._items.pop(key)

    def _used(self) -> int:
        return self._receiving + sum(u.audio.nbytes for u in self._items.values())

    def __contains__(self, key: str) -> bool:
        with self._lock:
            return key in self._items


def receive(
    parts: Iterable,
    model_rate: int,
    padded_length: Callable[[int], int],
    uploads: SongUploads,
    max_seconds: float = MAX_SONG_SECONDS,
) -> Upload:
    """A song from PutSong's `musegenie.v1.SongPart` messages into `uploads`; the first part's header is
    checked before any audio is taken (raises AudioError for what is malformed, SongRefused)."""
    parts = iter(parts)
    head = next(parts, None)
    if head is None:
        raise AudioError("song: no parts")
    if not KEY.fullmatch(head.key):
        raise AudioError(
            f"song: key must be 32 lowercase hex digits (engine.song.song_key), got {head.key!r}"
        )
    rate, n = int(head.sample_rate), int(head.num_samples)
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE or n <= 0:
        raise AudioError(f"song: needs its file's sample rate and length, got {rate} Hz, {n} samples")
    if n / rate > max_seconds:
        raise SongRefused(
            f"the song is {n / rate / 60:.1f} min long; this engine indexes songs of at most "
            f"{max_seconds / 60:g} min: edit a shorter stretch of it (e.g. the region and a few minutes "
            "each side), or with closeness 0 (generated from the region's surroundings alone)"
        )
    m = model_samples(n, rate, model_rate)
    audio = np.zeros(padded_length(m), np.float32)  # (P,)
    uploads.reserve(audio.nbytes)
    upload = None
    try:
        filled = 0
        for part in itertools.chain([head], parts):
            if len(part.pcm) % 4:
                raise AudioError("song: a part is not a whole number of float32 samples")
            samples = np.frombuffer(part.pcm, "<f4")
            if filled + len(samples) > m:
                raise AudioError(f"song: more than the {m} samples its header announces")
            audio[filled : filled + len(samples)] = samples
            filled += len(samples)
        if filled != m:
            raise AudioError(f"song: {filled} samples of the {m} its header announces")
        if not np.isfinite(audio).all():
            raise AudioError("song: NaN or infinite samples")
        if float(np.abs(audio).max(initial=0.0)) > MAX_AMPLITUDE:
            raise AudioError(f"song: peak amplitude over {MAX_AMPLITUDE:g} (full scale is 1.0): normalise it")
        upload = Upload(head.key, audio, rate, n)
        return upload
    finally:
        uploads.release(audio.nbytes, upload)
