"""Filtering a collection: p(good) per 5 s segment, smoothed along the song, pass/fail per song.

As in the seed: every segment gets p(good) from the classifier, the sequence is smoothed with a Gaussian
(`sigma` in segments), and a song passes when the mean smoothed probability is above `threshold`. The seed's
"in hindsight" improvement is `min_good_seconds`: a failing song still contributes its runs of good
segments that last at least that long, as `spans` of its manifest entry.

The output is the filter manifest of docs/interfaces.md, one JSON line per song, appended as each song is
scored: a re-run skips songs already in the output, a crash loses at most the line being written, and
`--shard I/N` splits a collection between the jobs of a cluster array by a hash of each song's path.
"""

from __future__ import annotations

import json
import logging
import os
import time
import zlib
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.ndimage import gaussian_filter1d
from tqdm import tqdm

from engine import audio as audio_io
from training.data.provenance import PROVENANCE_KEYS  # copied from the input listing to the manifest
from training.data.quality.classifier import QualityFilter, load_filter
from training.data.quality.features import audio_features
from training.data.quality.sources import Source

log = logging.getLogger(__name__)

MANIFEST_KEYS = (
    "path",
    "duration",
    "sample_rate",
    "mean_prob",
    "passed",
    "segment_probs",
    "smoothed_probs",
    "spans",
    "annotations",
)


@dataclass
class FilterConfig:
    threshold: float | None = (
        None  # a song passes when its mean smoothed p(good) is above this (default: the filter's own, chosen in training)
    )
    sigma: float = 1.0  # Gaussian smoothing width along the song, in 5 s segments (0 = no smoothing)
    min_good_seconds: float = 0.0  # keep good runs at least this long from failing songs (0 = off; e.g. 30)


def smooth(probs: np.ndarray, sigma: float) -> np.ndarray:
    """(S,) probabilities -> (S,) Gaussian-smoothed along the song (edges repeat the end values)."""
    probs = np.asarray(probs, dtype=np.float64)
    if sigma <= 0 or probs.size < 2:
        return probs.copy()
    return gaussian_filter1d(probs, sigma, mode="nearest")


def song_passes(smoothed: np.ndarray, threshold: float) -> bool:
    """The seed's rule: the mean of the smoothed probabilities is above the threshold."""
    return bool(np.mean(smoothed) > threshold)


def good_spans(
    smoothed: np.ndarray,
    starts: np.ndarray,
    segment_seconds: float,
    duration: float,
    threshold: float,
    min_seconds: float,
) -> list[list[float]]:
    """[start_s, end_s] of the runs of segments whose smoothed p(good) is above threshold, >= min_seconds long.

    Args:
        smoothed: (S,) smoothed probabilities; starts: (S,) segment starts in seconds.
    """
    good = np.asarray(smoothed) > threshold  # (S,)
    spans, first = [], None
    for i, flag in enumerate([*good.tolist(), False]):
        if flag and first is None:
            first = i
        elif not flag and first is not None:
            begin, end = float(starts[first]), min(float(starts[i - 1]) + segment_seconds, duration)
            if end - begin >= min_seconds:
                spans.append([round(begin, 3), round(end, 3)])
            first = None
    return spans


def parse_shard(text: str) -> tuple[int, int]:
    """ "I/N" (0 <= I < N) -> (I, N); raises ValueError with the reason."""
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError as err:
        raise ValueError(f"--shard must look like I/N (e.g. 3/10), got {text!r}") from err
    if not (count >= 1 and 0 <= index < count):
        raise ValueError(f"--shard {text}: need 0 <= I < N")
    return index, count


def shard_of(key: str, count: int) -> int:
    """The shard a song belongs to: a hash of its path as the input names it (stable across machines)."""
    return zlib.crc32(key.encode("utf-8")) % count


def select_shard(sources: list[Source], index: int, count: int) -> list[Source]:
    return [s for s in sources if shard_of(s.key, count) == index]


def score_song(
    path: Path, annotations: Path | None, quality_filter: QualityFilter, config: FilterConfig
) -> dict[str, Any]:
    """Score one song into its manifest entry (raises engine.audio.AudioError when it cannot be read)."""
    features_config = quality_filter.feature_config
    header = audio_io.info(path)
    audio, sr = audio_io.load(path, sample_rate=features_config.sample_rate, mono=True)  # (1, N)
    features, starts = audio_features(audio[0], features_config)  # (S, D), (S,)
    probs = quality_filter.predict_good(features)  # (S,)
    smoothed = smooth(probs, config.sigma)  # (S,)
    duration = audio.shape[1] / sr
    threshold = quality_filter.threshold if config.threshold is None else config.threshold
    passed = song_passes(smoothed, threshold)
    if passed:
        spans = [[0.0, round(duration, 3)]]
    elif config.min_good_seconds > 0:
        spans = good_spans(
            smoothed,
            starts / sr,
            features_config.segment_seconds,
            duration,
            threshold,
            config.min_good_seconds,
        )
    else:
        spans = []
    return {
        "path": str(Path(path).resolve()),
        "duration": round(duration, 3),
        "sample_rate": int(header.samplerate),
        "mean_prob": round(float(np.mean(smoothed)), 4),
        "passed": passed,
        "segment_probs": [round(float(p), 4) for p in probs],
        "smoothed_probs": [round(float(p), 4) for p in smoothed],
        "spans": spans,
        "annotations": str(annotations) if annotations else None,
    }


def read_manifest(path: Path) -> list[dict[str, Any]]:
    """The entries of a filter manifest; a line cut short by a crash is dropped from the file with a warning."""
    if not path.exists():
        return []
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        keep = data.rfind(b"\n") + 1
        log.warning("%s: dropping an unfinished last line (an earlier run was interrupted)", path)
        os.truncate(path, keep)
        data = data[:keep]
    entries = []
    for number, line in enumerate(data.decode("utf-8").splitlines(), 1):
        if line.strip():
            try:
                entries.append(json.loads(line))
            except json.JSONDecodeError:
                log.warning("%s:%d: not JSON, ignored", path, number)
    return entries


# Worker processes hold the filter in this global, loaded once by _init_worker.
_WORKER: dict[str, Any] = {}


def _init_worker(model_path: str, config: FilterConfig) -> None:
    _WORKER["filter"], _WORKER["config"] = load_filter(model_path), config


def _score_job(path: str, annotations: str | None) -> tuple[str, dict[str, Any] | str]:
    try:
        return "ok", score_song(
            Path(path), Path(annotations) if annotations else None, _WORKER["filter"], _WORKER["config"]
        )
    except (audio_io.AudioError, OSError) as err:
        return "error", str(err)


@dataclass
class FilterRun:
    songs: int = 0  # songs in this shard
    resumed: int = 0  # songs already in the output, skipped
    scored: int = 0  # songs scored by this run
    audio_seconds: float = 0.0  # audio scored by this run
    wall_seconds: float = 0.0  # time this run took
    errors: list[tuple[str, str]] = field(default_factory=list)  # (path, why) of unreadable songs

    @property
    def realtime_factor(self) -> float:
        return self.audio_seconds / self.wall_seconds if self.wall_seconds > 0 else 0.0


def filter_collection(
    sources: list[Source],
    model_path: Path,
    out: Path,
    config: FilterConfig = FilterConfig(),
    workers: int = 1,
) -> FilterRun:
    """Score every source not yet in `out`, appending manifest lines; unreadable songs are logged and listed
    in the result (and in OUT.errors.jsonl), never fatal. workers > 1 scores in that many processes."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    done = {entry["path"] for entry in read_manifest(out)}
    todo = [s for s in sources if str(s.path) not in done]
    run = FilterRun(songs=len(sources), resumed=len(sources) - len(todo))
    if run.resumed:
        log.info("%d of %d songs already in %s: skipped", run.resumed, len(sources), out)
    jobs = [(str(s.path), str(s.annotations) if s.annotations else None) for s in todo]
    provenance = {str(s.path): {k: s.metadata[k] for k in PROVENANCE_KEYS if k in s.metadata} for s in todo}
    started = time.perf_counter()
    errors_path = out.with_name(out.stem + ".errors.jsonl")
    with out.open("a") as sink, tqdm(total=len(jobs), desc="filter", unit="song", disable=None) as bar:

        def record(path: str, status: str, value: dict[str, Any] | str) -> None:
            if status == "ok":
                value = value | provenance.get(path, {})
                sink.write(json.dumps(value) + "\n")
                sink.flush()
                run.scored += 1
                run.audio_seconds += value["duration"]
            else:
                log.warning("skipped: %s", value)
                run.errors.append((path, str(value)))
            bar.update()

        if workers <= 1:
            _init_worker(str(model_path), config)
            for path, annotations in jobs:
                record(path, *_score_job(path, annotations))
        else:
            with ProcessPoolExecutor(
                workers, initializer=_init_worker, initargs=(str(model_path), config)
            ) as pool:
                pending: dict[Future, str] = {}
                queue = iter(jobs)
                for path, annotations in queue:
                    pending[pool.submit(_score_job, path, annotations)] = path
                    while len(pending) >= 4 * workers:
                        finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                        for future in finished:
                            record(pending.pop(future), *future.result())
                for future in wait(pending).done:
                    record(pending[future], *future.result())
    run.wall_seconds = time.perf_counter() - started
    if run.errors:
        with errors_path.open("w") as fh:
            fh.writelines(json.dumps({"path": p, "error": e}) + "\n" for p, e in run.errors)
    return run
