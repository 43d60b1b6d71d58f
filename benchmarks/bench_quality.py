"""Benchmark of the data quality filter: on the synthetic corpus (half the pieces damaged), or with --real on
real songs each damaged mildly, one defect at a time.

Measures (and prints as a table):
- feature extraction speed, x real time on one core (BLAS/OpenMP pinned to one thread);
- classifier quality: train on the first 5 s of `--train-pieces` pieces, report the k-fold accuracy and the
  accuracy on the first 5 s of `--test-pieces` *different* pieces (another corpus seed), plus the share of
  damaged test pieces caught per kind of damage;
- end-to-end `filter_collection` throughput (reading, resampling, features, trees, manifest) on one
  worker and on `--workers`, and how often the song-level pass/fail agrees with the annotations.

    .venv/bin/python benchmarks/bench_quality.py --train-pieces 200 --test-pieces 100 --workers 2

With `--real DIR` (the output of scripts/real_music.sh: real_music.jsonl and real_music_heldout.jsonl) the
filter is trained on 30 s excerpts of the training songs, each clean and once with each mild defect of
training/data/quality/damage.py (a 4-6 kHz band limit, light crackle, hiss 36-44 dB down, hum 30-40 dB down),
and applied to the held-out songs, whole, the same way. Every song is scored whole as `musegenie data filter` scores
it (p(good) per 5 s segment, smoothed, passed when the mean is above the threshold); the song-level
accuracy weighs clean and damaged songs equally (half of each, as a collection with one damaged song in two).

    .venv/bin/python benchmarks/bench_quality.py --real data/real_music
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
from training.data.quality.damage import MILD, damage_mild  # noqa: E402
from training.data.quality.features import FeatureConfig, audio_features  # noqa: E402
from training.data.quality.filtering import (  # noqa: E402
    FilterConfig,
    filter_collection,
    read_manifest,
    smooth,
    song_passes,
)
from training.data.quality.labels import labels_from_annotations  # noqa: E402
from training.data.quality.sources import list_sources  # noqa: E402
from training.data.real_music import HELD_OUT_NAME, TRAIN_NAME  # noqa: E402
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


def _versions(path: Path, song: int, seed: int, excerpt: float | None) -> dict[str, list[np.ndarray]]:
    """Features of a song clean and with each mild defect: {"clean" | kind: [(S, D) per excerpt]}, the
    whole song as one excerpt when `excerpt` is None."""
    audio = load_clip(path, 0.0, None)  # (N,)
    sr = FeatureConfig().sample_rate
    step = len(audio) if excerpt is None else int(excerpt * sr)
    versions = {"clean": audio}
    for k, kind in enumerate(sorted(MILD)):
        versions[kind] = damage_mild(audio, sr, kind, np.random.default_rng([seed, song, k]))
    starts = range(0, max(len(audio) - step // 2, 1), step)  # a last piece under half an excerpt joins none
    return {name: [audio_features(x[i : i + step])[0] for i in starts] for name, x in versions.items()}


TRAIN_EXCERPT_SECONDS = 30.0  # training songs are cut into excerpts: more, and more varied, song contexts


def real_songs(folder: Path, seed: int, save: Path | None = None) -> None:
    """Train on the training songs' versions, score the held-out songs' versions whole, print the table;
    `save` keeps the trained filter (for `musegenie data filter`)."""
    started = time.perf_counter()
    split = {name: list_sources(folder / name) for name in (TRAIN_NAME, HELD_OUT_NAME)}
    excerpt = {TRAIN_NAME: TRAIN_EXCERPT_SECONDS, HELD_OUT_NAME: None}  # held-out songs are scored whole
    songs = {
        name: [_versions(s.path, i, seed, excerpt[name]) for i, s in enumerate(src)]
        for name, src in split.items()
    }
    features_s = time.perf_counter() - started
    x, y, groups, units = [], [], [], []
    for i, versions in enumerate(songs[TRAIN_NAME]):
        for v, excerpts in enumerate(versions.values()):
            for rows in excerpts:
                x.append(rows)
                y.append(np.full(len(rows), int(v == 0)))  # "clean" comes first
                groups.append(np.full(len(rows), i))  # the folds keep every version of a song together
                units.append(np.full(len(rows), i * len(versions) + v))  # one version is scored as a song
    quality_filter, report = train_filter(
        *(np.concatenate(a) for a in (x, y, groups)), units=np.concatenate(units)
    )
    if save is not None:
        print(f"filter saved to {save_filter(quality_filter, save)}")
    config = FilterConfig()
    passed: dict[str, list[bool]] = defaultdict(list)
    for versions in songs[HELD_OUT_NAME]:
        for version, (rows,) in versions.items():
            smoothed = smooth(quality_filter.predict_good(rows), config.sigma)
            passed[version].append(song_passes(smoothed, quality_filter.threshold))
    kept = float(np.mean(passed["clean"]))
    caught = {kind: 1.0 - float(np.mean(passed[kind])) for kind in sorted(MILD)}
    accuracy = 0.5 * kept + 0.5 * float(np.mean(list(caught.values())))
    minutes = {name: sum(s.metadata["duration"] for s in src) / 60 for name, src in split.items()}
    rows = [
        (
            "train songs",
            f"{len(split[TRAIN_NAME])} ({minutes[TRAIN_NAME]:.0f} min) in {TRAIN_EXCERPT_SECONDS:g} s excerpts, each clean + {len(MILD)} damaged",
        ),
        (
            "held-out songs",
            f"{len(split[HELD_OUT_NAME])} ({minutes[HELD_OUT_NAME]:.0f} min), each clean + {len(MILD)} damaged",
        ),
        ("features (all versions)", f"{features_s:.0f} s"),
        (f"{report.folds}-fold segment accuracy (by song)", f"{report.accuracy:.3f}"),
        ("song threshold (chosen out of fold)", f"{quality_filter.threshold:.2f}"),
        ("held-out clean songs kept", f"{kept:.2f} of {len(passed['clean'])}"),
    ]
    rows += [(f"held-out songs caught: {kind}", f"{caught[kind]:.2f}") for kind in sorted(MILD)]
    rows.append(("song-level accuracy (half clean, half damaged)", f"{accuracy:.3f} (target >= 0.90)"))
    rows.append(("top features", ", ".join(name for name, _ in report.top_features[:6])))
    width = max(len(r[0]) for r in rows)
    print("\n".join(f"{name:<{width}}  {value}" for name, value in rows))


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
    parser.add_argument(
        "--real",
        type=Path,
        default=None,
        help="real-music folder (scripts/real_music.sh): the real-song mode",
    )
    parser.add_argument(
        "--save-filter",
        type=Path,
        default=None,
        help="with --real: also save the filter trained on the training songs (for musegenie data filter)",
    )
    args = parser.parse_args()
    if args.real is not None:
        real_songs(args.real, args.seed, args.save_filter)
        return

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
    rows.append(
        ("song pass/fail vs annotations", f"{agree:.3f} (threshold {quality_filter.threshold:.2f}, sigma 1)")
    )
    rows.append(("top features", ", ".join(name for name, _ in report.top_features[:6])))
    width = max(len(r[0]) for r in rows)
    print("\n".join(f"{name:<{width}}  {value}" for name, value in rows))
    print(f"(cores on this machine: {os.cpu_count()}; corpora in {root})")


if __name__ == "__main__":
    main()
