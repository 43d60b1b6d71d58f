"""Can the evidence an edit has pick a nearer passage than the surroundings alone? A learned ranker.

For random regions of the songs of --train (every region seed from --region-seed on, --reps of them),
takes the --top passages of the song whose surroundings fit best (entry plus exit context costs, as
`engine.song_plan` and the copy baseline rank them) and describes each by what an edit that keeps the
region's actions may use: its entry and exit costs over 4 s and over the last / first 0.5 s, its rank and gap
to the first, how often the LAM's four readings of it agree with the region's reading, how far who plays
(as the estimator hears it) is from the region's, its level against the surroundings' and where it lies in
the song. The target is its mean |dB| to the original region by the plan's features (the region is seen
only here, to score). Fits a ridge regression, gradient boosting and extra trees on the passages' distance
over their region's median, and prints the mean distance of the passage each picks against the
surroundings' first and the best of the --top: cross-validated by song on --train, then trained on all of
--train and scored on each --held-out manifest (centre regions and --reps random draws).

    .venv/bin/python scripts/diagnostics/passage_ranker.py --train data/real_music/real_music.jsonl \\
        --held-out data/real_music/real_music_heldout.jsonl --reps 8
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from sklearn.ensemble import ExtraTreesRegressor, GradientBoostingRegressor
from sklearn.linear_model import Ridge
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import heldout  # noqa: E402

from engine import song_plan as sp  # noqa: E402
from engine.pipeline import Pipeline  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from passage_headroom import context_width, passages  # noqa: E402

SHORT = 16  # frames (0.5 s at the plan's stride) of the short entry and exit costs


def regions(pipeline: Pipeline, manifest: Path, position: str, seeds: list[int], clips: int, top: int):
    """(X (R*top, 15), distance (R*top,), region id (R*top,), song name per region)."""
    width = context_width(pipeline)
    rows, targets, ids, songs = [], [], [], []
    for seed in seeds:
        for clip in heldout.clips(pipeline, manifest, clips, position, seed):
            found = passages(pipeline, clip)
            index, start, length = found.index, clip.start, clip.end - clip.start
            entry, exit_ = found.sides(width)
            entry2, exit2 = found.sides(SHORT)
            fit = entry + exit_
            best = np.argsort(fit, kind="stable")[:top]  # (K,)
            starts = found.starts[best]
            centres = ((np.arange(31) + 0.5) * length / 31).astype(
                np.int64
            )  # (31,) as a 4 s request's frames
            last = len(index.readings) - 1
            at = np.clip((starts[:, None] + centres[None]) // index.hop, 0, last)  # (K, 31)
            own = np.clip((start + centres) // index.hop, 0, last)  # (31,)
            agree = (index.readings[at] == index.readings[own, 0][None, :, None]).mean(axis=(1, 2))
            heard = np.zeros(len(best))
            if index.heard is not None:
                heard = np.abs(index.heard[at] - index.heard[own][None]).mean(axis=(1, 2))
            level = np.array([_level(found.masked, s, length) for s in starts])
            around = np.mean(
                [_level(found.masked, start - length, length), _level(found.masked, clip.end, length)]
            )
            lag = (starts - start) / length
            rel = level - around
            rows.append(
                np.stack(
                    [entry[best], exit_[best], entry2[best], exit2[best], fit[best] - fit[best[0]],
                     np.arange(len(best)), agree, agree - agree.mean(), heard, heard - heard.mean(), rel,
                     rel - rel.mean(), lag, np.abs(lag), np.abs(lag) % 1.0],
                    axis=1,
                )
            )  # fmt: skip
            targets.append(found.distance[best])
            ids.append(np.full(len(best), len(songs)))
            songs.append(clip.name)
        print(f"  {manifest}: {position} regions, seed {seed}: {len(songs)} regions so far", flush=True)
    return np.concatenate(rows), np.concatenate(targets), np.concatenate(ids), np.array(songs)


def _level(features: np.ndarray, start: int, length: int) -> float:
    """Mean dB of the features over [start, start + length) model samples (clipped to the song)."""
    lo, hi = max(0, int(sp._after(start))), max(1, int(sp._before(start + length)))
    return float(features[:, lo:hi].mean()) if hi > lo else float(features.mean())


def relative(distance: np.ndarray, ids: np.ndarray) -> np.ndarray:
    out = np.empty_like(distance)
    for k in np.unique(ids):
        out[ids == k] = distance[ids == k] / np.median(distance[ids == k])
    return out


def picked(distance: np.ndarray, ids: np.ndarray, score: np.ndarray) -> str:
    chosen, first, best = [], [], []
    for k in np.unique(ids):
        m = np.flatnonzero(ids == k)
        chosen.append(distance[m][np.argmin(score[m])])
        first.append(distance[m][0])
        best.append(distance[m].min())
    chosen, first = np.array(chosen), np.array(first)
    return (
        f"picked {chosen.mean():.3f} dB against {first.mean():.3f} by surroundings ({chosen.mean() / first.mean():.3f}x; "
        f"nearer in {np.mean(chosen < first - 1e-6):.0%} of {len(first)} regions, further in "
        f"{np.mean(chosen > first + 1e-6):.0%}), best of the {np.mean([np.sum(ids == k) for k in np.unique(ids)]):.0f} "
        f"{np.mean(best):.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bundle", default="models/default")
    parser.add_argument("--train", type=Path, required=True, help="manifest of the songs to learn from")
    parser.add_argument("--held-out", type=Path, action="append", default=[], help="manifest to score on")
    parser.add_argument("--clips", type=int, default=40, help="songs per manifest")
    parser.add_argument("--reps", type=int, default=8, help="random region draws per song")
    parser.add_argument("--region-seed", type=int, default=700, help="the first draw's seed")
    parser.add_argument("--top", type=int, default=24, help="passages per region, the best by surroundings")
    args = parser.parse_args()
    pipeline = heldout.engine(args.bundle)
    pipeline.songs.cache.size, pipeline.songs.cache.max_bytes = 1000, 1 << 34  # each song indexed once
    seeds = list(range(args.region_seed, args.region_seed + args.reps))
    x, distance, ids, songs = regions(pipeline, args.train, "random", seeds, args.clips, args.top)
    target, groups = relative(distance, ids), songs[ids]
    models = {
        "ridge": lambda: make_pipeline(StandardScaler(), Ridge(1.0)),
        "boosting": lambda: GradientBoostingRegressor(
            n_estimators=200, max_depth=3, learning_rate=0.05, subsample=0.8, random_state=0
        ),
        "extra trees": lambda: ExtraTreesRegressor(
            300, min_samples_leaf=10, max_features=0.5, n_jobs=1, random_state=0
        ),
    }
    held = [
        regions(pipeline, m, position, seeds if position == "random" else [0], args.clips, args.top)
        for m in args.held_out
        for position in ("centre", "random")
    ]
    for name, make in models.items():
        score = np.zeros(len(target))
        for train, test in GroupKFold(5).split(x, target, groups):
            score[test] = make().fit(x[train], target[train]).predict(x[test])
        print(f"{name}, cross-validated by song on {args.train}: {picked(distance, ids, score)}")
        model = make().fit(x, target)
        for (hx, hd, hi, _), (m, position) in zip(
            held, [(m, p) for m in args.held_out for p in ("centre", "random")], strict=True
        ):
            print(f"  {m}, {position}: {picked(hd, hi, model.predict(hx))}")


if __name__ == "__main__":
    main()
