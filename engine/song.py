"""Song-aware edits: the whole song indexed once (see `engine.song_plan` for what an edit makes of it).

Most music repeats, and a producer would copy a bar from elsewhere in the song before anything else: on
real music a pasted passage is nearer the original than the tokenizer's own round trip. So an edit first
looks for a passage of the *same song* whose surroundings match the region's and whose actions (and, when
asked, players) are the ones requested, and renders it from the song's own audio (every channel, the
input's rate, no decoder in the path); only where no passage qualifies is the region generated.

- `SongIndex`: what the engine knows of one song (log-mel frames for matching, the LAM's action and who
  plays per latent frame, its beats), built by `engine.pipeline.Pipeline.song_index` and kept in a `SongCache` keyed
  by the audio's content hash, so a second edit of the same song, from any interface, pays only for its
  region.
- `engine.song_plan` assembles a region from the song's own chunks with the actions asked for.

Letters: C channels, N samples, M mel bands, F feature frames, T latent frames, I instruments, P candidates.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from engine.spectrogram import framed_power, log_mel, mel_filterbank

# The instrument estimator's own analysis (engine.instruments), so one log-mel serves both.
FEATURE_HOP = 256  # model-rate samples between the index's feature frames (16 ms at 16 kHz)
N_FFT = 1024  # analysis frame: centred, so frame f hears [f * hop - N_FFT / 2, f * hop + N_FFT / 2)
N_MELS = 64
RANGE_DB = 80.0  # levels more than this below the song's peak are floored (silence should not decide)
CACHE_SONGS = 8  # songs kept per pipeline (a 3-minute song's index is ~15 MB, most of it its audio)
CACHE_BYTES = 256 << 20  # and at most this much of them (an hour-long song's index is ~300 MB: kept alone)
MEL_BLOCK = 4096  # feature frames analysed at once (65 s, ~25 MB of frames)


@dataclass(frozen=True)
class SongIndex:
    """One song as the engine sees it, at the model rate, from its first sample."""

    key: str  # content hash of the input audio and its rate
    sample_rate: int  # the input's rate (passages are pasted from the input)
    num_samples: int  # input samples
    model_rate: int
    features: np.ndarray  # (M, F) log-mel in dB, one frame every FEATURE_HOP model samples
    hop: int  # model samples per latent frame
    chunk_frames: int  # latent frames per action chunk (the unit a region is assembled from)
    # (T, R) the LAM's action in each latent frame, read from windows at R offsets (engine.song_edit)
    readings: np.ndarray
    heard: np.ndarray | None  # (T, I) who plays in each latent frame (bundle order); None = no estimator
    # (B,) the song's beats in model-rate samples (engine.beats); empty where the onsets keep no grid
    beats: np.ndarray = field(default_factory=lambda: np.zeros(0))
    # (T, D) the song's latents and (P,) its mono audio at the model rate (padded to whole LAM windows), from
    # which a plan's takes are read in place (engine.song_edit); None: not kept (the cheapest take is the edit)
    latents: np.ndarray | None = None
    audio: np.ndarray | None = None

    @property
    def frame_actions(self) -> np.ndarray:
        """(T,) the LAM's action in each latent frame, read in windows from the song's first frame."""
        return self.readings[:, 0]

    @property
    def nbytes(self) -> int:
        kept = sum(0 if a is None else a.nbytes for a in (self.heard, self.latents, self.audio))
        return self.features.nbytes + self.readings.nbytes + self.beats.nbytes + kept

    @property
    def model_samples(self) -> int:
        return int(round(self.num_samples * self.model_rate / self.sample_rate))


def song_key(audio: np.ndarray, sample_rate: int) -> str:
    """Content hash of (C, N) audio and its rate: equal audio from any interface shares one index.

    SHA-256, which CPUs with SHA extensions run at ~1.2 GB/s here against ~0.55 GB/s for BLAKE2b (a
    3-minute stereo 44.1 kHz song: 51 ms against 114 ms), on every edit of a song."""
    digest = hashlib.sha256(f"{audio.shape}|{audio.dtype}|{int(sample_rate)}|".encode())
    digest.update(memoryview(np.ascontiguousarray(audio)).cast("B"))
    return digest.hexdigest()[:32]


def song_mel(mono: np.ndarray, model_rate: int) -> np.ndarray:
    """(M, F) log-mel dB of mono model-rate audio (N,): the instrument estimator's analysis (its
    `engine.spectrogram.log_mel`), MEL_BLOCK frames at a time, so an hour-long song's frames never sit
    in memory at once (they would take ~3 GB)."""
    n, pad = mono.shape[0], N_FFT // 2
    frames = 1 + n // FEATURE_HOP
    if frames <= MEL_BLOCK or n <= pad:
        return log_mel(mono, model_rate, n_mels=N_MELS, n_fft=N_FFT, hop=FEATURE_HOP)
    bank = mel_filterbank(model_rate, N_FFT, N_MELS)
    out = np.empty((N_MELS, frames), np.float32)  # (M, F)
    for f0 in range(0, frames, MEL_BLOCK):
        f1 = min(frames, f0 + MEL_BLOCK)
        lo, hi = f0 * FEATURE_HOP, (f1 - 1) * FEATURE_HOP + N_FFT  # the frames' span of the padded song
        left, right = max(0, pad - lo), max(0, hi - (n + pad))  # reflected at the song's edges, as log_mel
        span = mono[max(0, lo - pad) : min(n, hi - pad)].astype(np.float32)
        power = framed_power(np.pad(span, (left, right), mode="reflect"), N_FFT, FEATURE_HOP)  # (K, f)
        out[:, f0:f1] = 10.0 * np.log10(np.maximum(bank @ power, 1e-10))
    return out


def matching_features(mel: np.ndarray) -> np.ndarray:
    """(M, F) log-mel floored RANGE_DB below its peak: how passages are compared."""
    return np.maximum(mel, mel.max() - RANGE_DB).astype(np.float32)


class SongCache:
    """A small thread-safe LRU of song indexes by content hash, at most `size` songs and `max_bytes` of
    them (the newest is always kept); concurrent requests for one song build it once (the others wait)."""

    def __init__(self, size: int = CACHE_SONGS, max_bytes: int = CACHE_BYTES) -> None:
        self.size = size
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, SongIndex] = OrderedDict()
        self._lock = threading.Lock()
        self._building: dict[str, threading.Lock] = {}

    def get(self, key: str, build: Callable[[], SongIndex]) -> tuple[SongIndex, bool]:
        """(the index for `key`, whether it was already cached), building it with `build` when absent."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key], True
            lock = self._building.setdefault(key, threading.Lock())
        with lock:
            with self._lock:
                if key in self._items:
                    return self._items[key], True
            try:
                index = build()
            except BaseException:  # a failed build is no longer under way: the next request builds again
                with self._lock:
                    self._building.pop(key, None)
                raise
            with self._lock:
                self._items[key] = index
                while len(self._items) > self.size or (
                    len(self._items) > 1 and self._bytes() > self.max_bytes
                ):
                    self._items.popitem(last=False)
                self._building.pop(key, None)
        return index, False

    def _bytes(self) -> int:
        return sum(getattr(item, "nbytes", 0) for item in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: str) -> bool:
        with self._lock:
            return key in self._items

    def building(self, key: str) -> bool:
        """Whether the index of `key` is being built now (a request for it waits for that build)."""
        with self._lock:
            return key in self._building
