"""Which labelled files hold the same recording, so cross-validation never splits one.

A label set often names one recording twice: a clean and a worn transfer, a remaster, the same song on two
albums, excerpts cut from one file. If the folds split such a pair, a held-out clip's twin is in training
with the opposite label and the out-of-fold figures (and the threshold chosen from them) are meaningless.

The `group` column of labels.csv says which files belong together. Without it, files are matched by ear:
each file's fingerprint is its spectral shape every 0.1 s: the log energy of 12 mel bands between 250 Hz and
3.5 kHz (the range the mild damages of damage.py leave alone: hum sits below it, band limits and most hiss
above) less the frame's mean. Two files are the same recording when their fingerprints correlate above
MATCH at some time offset (Pearson per band over the overlap, averaged over the bands), over an overlap of
at least MIN_OVERLAP_SECONDS (or most of the shorter file). Files that match are grouped transitively.
Every pair of files is compared: on 62 real songs of about 2 minutes (31 recordings, each clean and with
one mild damage under another name) all 31 pairs were found and nothing else, in about a minute.
Letters in shape comments: T frames, D bands, K FFT bins, L lags.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

import numpy as np

from engine import audio as audio_io
from engine.spectrogram import mel_filterbank
from training.data.quality.labels import Label

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
HOP = 1600  # 0.1 s: coarser than note onsets, so a sub-frame offset between two copies barely matters
N_FFT = 4096  # 0.26 s window: smooths the envelope for the same reason
BANDS = 12  # mel bands between FMIN and FMAX
FMIN, FMAX = 250.0, 3500.0  # above the mains hum and its loud harmonics, below a 4 kHz band limit
MAX_SECONDS = 600.0  # fingerprint at most the first 10 minutes of a file: enough to find an offset
MIN_OVERLAP_SECONDS = 20.0  # a match must hold over this much audio (or most of the shorter file)
MATCH = 0.6  # correlation above which two files are one recording: a mildly damaged copy scores 0.76-1.0
# against its clean one, other songs at most 0.37 (held-out real songs, synthetic pieces)


@functools.lru_cache(maxsize=1)
def _basis() -> np.ndarray:
    return mel_filterbank(SAMPLE_RATE, N_FFT, BANDS, FMIN, FMAX)  # (D, K)


def fingerprint(audio: np.ndarray) -> np.ndarray:
    """(N,) mono audio at 16 kHz -> (T, D) float32 spectral shape: log band energies less their mean over
    the bands in each frame (the loudness envelope alone is too alike between songs of one style)."""
    audio = np.asarray(audio, dtype=np.float32).reshape(-1)
    audio = np.pad(audio, (0, max(0, N_FFT - audio.size)))
    frames = np.lib.stride_tricks.sliding_window_view(audio, N_FFT)[::HOP]  # (T, N_FFT)
    spectrum = np.abs(np.fft.rfft(frames * np.hanning(N_FFT).astype(np.float32), axis=-1)) ** 2  # (T, K)
    level = np.log(spectrum @ _basis().T + 1e-8)  # (T, D)
    return (level - level.mean(axis=1, keepdims=True)).astype(np.float32)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """The best Pearson correlation of two fingerprints (T1, D), (T2, D) over time offsets with enough
    overlap: per band over the overlapping frames, averaged over the bands."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    size = 1 << (len(a) + len(b) - 2).bit_length()
    xcorr = np.fft.irfft(np.fft.rfft(a, size, axis=0) * np.conj(np.fft.rfft(b, size, axis=0)), size, axis=0)
    lags = np.concatenate([np.arange(len(a)), np.arange(-(len(b) - 1), 0)])  # a[t + lag] ~ b[t]
    sab = np.concatenate([xcorr[: len(a)], xcorr[size - len(b) + 1 :]])  # (L, D) at each lag
    n = np.minimum(len(a) - np.maximum(lags, 0), len(b) + np.minimum(lags, 0))  # (L,) overlapping frames
    needed = min(MIN_OVERLAP_SECONDS * SAMPLE_RATE / HOP, 0.8 * min(len(a), len(b)))
    keep = n >= max(needed, 2)
    if not keep.any():  # a file of one frame (under 0.35 s) has no shape over time to match
        return 0.0
    lags, sab, n = lags[keep], sab[keep], n[keep, None]  # (L', ...)
    first_a, first_b = np.maximum(lags, 0), np.maximum(-lags, 0)  # (L',)

    def sums(x: np.ndarray, first: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Sum and sum of squares of x over each lag's overlapping frames, (L', D) each."""
        total = np.concatenate([np.zeros((1, x.shape[1])), np.cumsum(x, axis=0)])  # (T + 1, D)
        square = np.concatenate([np.zeros((1, x.shape[1])), np.cumsum(x**2, axis=0)])
        last = first + n[:, 0]
        return total[last] - total[first], square[last] - square[first]

    (sa, saa), (sb, sbb) = sums(a, first_a), sums(b, first_b)
    cov = sab - sa * sb / n  # (L', D)
    var = (saa - sa**2 / n) * (sbb - sb**2 / n)  # (L', D)
    r = np.where(var > 1e-6 * n**2, cov / np.sqrt(np.maximum(var, 1e-30)), 0.0)  # a flat band says nothing
    return float(r.mean(axis=1).max())


def _components(count: int, pairs: list[tuple[int, int]]) -> np.ndarray:
    """(count,) component index of each node of an undirected graph given as edges, numbered from 0."""
    parent = list(range(count))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in pairs:
        parent[root(i)] = root(j)
    _, index = np.unique([root(i) for i in range(count)], return_inverse=True)
    return index


def same_recordings(paths: list[Path]) -> np.ndarray:
    """(F,) group index per file: files whose fingerprints match (transitively) share one.

    A file that cannot be read is its own group (its clips are skipped later with the reason).
    """
    prints: list[np.ndarray | None] = []
    for path in paths:
        try:
            audio, _ = audio_io.load(path, sample_rate=SAMPLE_RATE, mono=True, duration=MAX_SECONDS)
        except audio_io.AudioError:
            prints.append(None)
            continue
        prints.append(fingerprint(audio[0]))
    pairs = []
    for i, a in enumerate(prints):
        for j in range(i + 1, len(prints)):
            b = prints[j]
            if a is not None and b is not None and similarity(a, b) > MATCH:
                log.debug("one recording: %s and %s", paths[i], paths[j])
                pairs.append((i, j))
    groups = _components(len(paths), pairs)
    log.info("%d labelled files hold %d recordings (by ear)", len(paths), groups.max(initial=-1) + 1)
    return groups


def recording_groups(labels: list[Label]) -> np.ndarray:
    """(len(labels),) recording index per labelled clip: clips of one file are one recording; so are clips
    whose `group` is the same when the CSV gives groups, else files that sound like one recording."""
    paths = list(dict.fromkeys(item.path for item in labels))
    if any(item.group for item in labels):
        by_file = {path: f"file:{path}" for path in paths}
        keys = [f"group:{item.group}" if item.group else by_file[item.path] for item in labels]
    else:
        by_file = dict(zip(paths, (f"recording:{g}" for g in same_recordings(paths)), strict=True))
        keys = [by_file[item.path] for item in labels]
    first: dict[str, int] = {}
    pairs = [(i, first.setdefault(key, i)) for i, key in enumerate(keys)]
    pairs += [(i, first.setdefault(f"file:{item.path}", i)) for i, item in enumerate(labels)]
    return _components(len(labels), pairs)
