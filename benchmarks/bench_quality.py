"""Benchmark of the data quality filter on the synthetic corpus (half the pieces damaged).

Measures (and prints as a table):
- feature extraction speed, x real time on one core (BLAS/OpenMP pinned to one thread);
- classifier quality: train on the first 5 s of `--train-pieces` pieces, report the k-fold accuracy and the
  accuracy on the first 5 s of `--test-pieces` *different* pieces (another corpus seed), plus the share of
  damaged test pieces caught per kind of damage;
- end-to-end `filter_collection` throughput (reading, resampling, features, trees, manifest) on one
  worker and on `--workers`, and how often the song-level pass/fail agrees with the annotations.

    .venv/bin/python benchmarks/bench_quality.py --train-pieces 200 --test-pieces 100 --workers 2
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # "per core" figures: before numpy is imported

import argparse  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from training.data.quality.classifier import FilterTrainConfig, labelled_features, save_filter, train_filter  # noqa: E402
from training.data.quality.clips import load_clip, sample_clips  # noqa: E402
from training.data.quality.features import FeatureConfig, audio_features  # noqa: E402
from training.data.quality.filtering import FilterConfig, filter_collection, read_manifest  # noqa: E402
from training.data.quality.labels import labels_from_annotations  # noqa: E402
from training.data.quality.sources import list_sources  # noqa: E402
from training.data.synth import write_corpus  # noqa: E402


def feature_speed(paths: list[Path], repeats: int = 3) -> float:
    """x real time of audio_features on one core over whole songs already in memory."""
    songs = [load_clip(p, 0.0, None) for p in paths]  # (N,) each
    seconds = sum(s.size for s in songs) / FeatureConfig().sample_rate
    audio_features(songs[0])  # warm the caches
    best = float("inf")
    for _ in range(repeats):
        started = time.process_time()  # CPU time: the figure holds on a shared, busy machine too
        for song in songs:
            audio_features(song)
        best = min(best, time.process_time() - started)
    return seconds / best


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--train-pieces", type=int, default=200, help="pieces labelled for training (5 s each)"
    )
    parser.add_argument(
        "--test-pieces", type=int, default=100, help="different pieces the accuracy is measured on"
    )
    parser.add_argument(
        "--piece-seconds", type=int, nargs=2, default=(20, 40), help="piece length range, seconds"
    )
    parser.add_argument("--workers", type=int, default=2, help="processes for the parallel filter run")
    parser.add_argument(
        "--seed", type=int, default=0, help="training corpus seed (the test corpus uses seed+1)"
    )
    parser.add_argument("--keep", type=Path, default=None, help="render the corpora here and keep them")
    args = parser.parse_args()

    root = args.keep or Path(tempfile.mkdtemp(prefix="bench_quality_"))
    lo, hi = args.piece_seconds
    mean_seconds = (lo + hi) / 2
    started = time.perf_counter()
    for name, pieces, seed in (
        ("train", args.train_pieces, args.seed),
        ("test", args.test_pieces, args.seed + 1),
    ):
        if not (root / name / "corpus.jsonl").exists():
            write_corpus(
                root / name,
                pieces * mean_seconds / 60,
                seed,
                workers=args.workers,
                degrade_fraction=0.5,
                piece_seconds=(lo, hi),
                progress=False,
            )
    render = time.perf_counter() - started
    train_sources, test_sources = (
        list_sources(root / "train" / "corpus.jsonl"),
        list_sources(root / "test" / "corpus.jsonl"),
    )

    speed = feature_speed([s.path for s in test_sources[:10]])

    train_labels = labels_from_annotations(
        sample_clips(train_sources, len(train_sources), seed=0), train_sources
    )
    x, y, groups, _ = labelled_features(train_labels)
    quality_filter, report = train_filter(x, y, groups, FilterTrainConfig())
    model_path = save_filter(quality_filter, root / "filter.joblib")

    test_labels = labels_from_annotations(sample_clips(test_sources, len(test_sources), seed=0), test_sources)
    xt, yt, _, _ = labelled_features(test_labels)
    predicted = quality_filter.predict_good(xt) > 0.5
    test_accuracy = float((predicted == yt).mean())
    caught: dict[str, list[bool]] = defaultdict(list)
    by_path = {s.path: s for s in test_sources}
    for item, label, guess in zip(test_labels, yt, predicted, strict=True):  # one 5 s segment per clip
        for kind in by_path[item.path].metadata.get("degradations", []):
            caught[kind].append(not guess)
        if label == 1:
            caught["(clean kept)"].append(bool(guess))

    runs, cpu_seconds = {}, {}
    for workers in sorted({1, args.workers}):
        out = root / f"manifest_{workers}.jsonl"
        out.unlink(missing_ok=True)
        cpu_seconds[workers] = time.process_time()  # counts this process only: meaningful for 1 worker
        runs[workers] = filter_collection(test_sources, model_path, out, FilterConfig(), workers=workers)
        cpu_seconds[workers] = time.process_time() - cpu_seconds[workers]
    cpu_speed = runs[1].audio_seconds / cpu_seconds[1]
    entries = read_manifest(root / "manifest_1.jsonl")
    quality = {str(s.path): s.quality for s in test_sources}
    agree = float(np.mean([e["passed"] == (quality[e["path"]] == "good") for e in entries]))

    rows = [
        (
            "corpora",
            f"{len(train_sources)} train + {len(test_sources)} test pieces, {lo}-{hi} s, half damaged",
        ),
        ("render time", f"{render:.1f} s"),
        ("feature extraction, 1 core CPU time", f"{speed:.0f}x real time"),
        ("train clips (5 s heads)", f"{report.clips} ({report.good} good, {report.bad} bad)"),
        (f"{report.folds}-fold accuracy (by piece)", f"{report.accuracy:.3f}"),
        ("accuracy, different pieces", f"{test_accuracy:.3f} on {len(yt)} clips (target >= 0.90)"),
    ]
    rows += [(f"  caught: {kind}", f"{np.mean(v):.2f} of {len(v)}") for kind, v in sorted(caught.items())]
    for workers, run in runs.items():
        rows.append(
            (
                f"filter end to end, {workers} worker(s)",
                f"{run.realtime_factor:.0f}x real time "
                f"({run.audio_seconds / 60:.1f} min in {run.wall_seconds:.1f} s)",
            )
        )
    rows.append(("filter end to end, 1 core CPU time", f"{cpu_speed:.0f}x real time"))
    rows.append(("song pass/fail vs annotations", f"{agree:.3f} (threshold 0.55, sigma 1)"))
    rows.append(("top features", ", ".join(name for name, _ in report.top_features[:6])))
    width = max(len(r[0]) for r in rows)
    print("\n".join(f"{name:<{width}}  {value}" for name, value in rows))
    print(f"(cores on this machine: {os.cpu_count()}; corpora in {root})")


if __name__ == "__main__":
    main()
