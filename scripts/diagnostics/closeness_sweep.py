"""Which closeness should a bundle default to? Measured on audio the models were not tuned on.

For each clip (the clips `musegenie eval edit` takes from each --data set), renders the region's
inferred-action edit and one other-action edit both ways, from the song (closeness 1) and generated
(closeness 0), and records how well the song's plan fits (`Plan.ratio`: the number closeness is compared
with) and each rendering's log-mel L1 to the original. Then, for each candidate closeness c, the edit a
user would get (the song's material where ratio <= c, else generated) is scored: median L1 over the copy
baseline's, mean L1, and the share made of the song. Prints one table per set and one over all; pick the
default on training or tuning sets, then confirm it on held-out audio with `musegenie eval edit`.

    .venv/bin/python scripts/diagnostics/closeness_sweep.py --data data/real_music/real_music.jsonl \
        --data work/exp/tune_add/corpus.jsonl --clips 12
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import heldout  # noqa: E402

from engine.pipeline import Pipeline  # noqa: E402
from engine.request import EditRequest  # noqa: E402
from engine.window import spread_actions  # noqa: E402
from training.evaluation import edit_scores as scores  # noqa: E402
from training.evaluation.edit_baselines import copy_baseline  # noqa: E402

CANDIDATES = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.25, np.inf)


def rows_for(pipeline: Pipeline, data: Path, clips: int) -> list[dict]:
    b, sr = pipeline.bundle, pipeline.bundle.sample_rate
    context_s = b.defaults.context_seconds
    found = heldout.clips(pipeline, data, clips)
    rows = []
    for clip in found:
        x, region = clip.audio[None], (clip.start / sr, clip.end / sr)
        prepared = pipeline.prepare(x, sr, region, context_s)
        original = clip.audio[clip.start : clip.end]
        fade = prepared.window.fade
        copy, _ = copy_baseline(clip.audio, sr, clip.start, clip.end, int(round(context_s * sr)), fade)
        inferred = [c["action"] for c in pipeline.infer_actions(x, sr, region)]
        other = [(inferred[0] + b.num_actions // 2) % b.num_actions]
        row = {"copy": scores.logmel_l1(original, copy[clip.start : clip.end], sr)}
        for name, ids in (("inferred", inferred), ("other", other)):
            frames = spread_actions(ids, prepared.window.frame_end - prepared.window.frame_start)
            song = pipeline.settings(EditRequest(region, context_seconds=context_s, closeness=1.0))
            plan = pipeline.songs.plan(prepared, frames, None, song, 0).plan
            for closeness in (0.0, 1.0):
                settings = pipeline.settings(
                    EditRequest(region, context_seconds=context_s, closeness=closeness)
                )
                out = pipeline.render(prepared, ids, None, settings, 0).audio[0]
                row[f"{name}_{closeness:g}"] = scores.logmel_l1(original, out[clip.start : clip.end], sr)
            row[f"{name}_ratio"] = np.inf if plan is None else plan.ratio
        rows.append(row)
        print(f"  {clip.name}: " + ", ".join(f"{k} {v:.3f}" for k, v in row.items()), flush=True)
    return rows


def table(title: str, rows: list[dict]) -> None:
    print(
        f"\n{title} ({len(rows)} clips)\n{'closeness':>10} {'inferred/copy':>14} {'L1 inf':>7} {'L1 other':>9} {'song':>6}"
    )
    copy = np.array([r["copy"] for r in rows])
    for c in CANDIDATES:
        picked = {}
        share = []
        for name in ("inferred", "other"):
            use = np.array([r[f"{name}_ratio"] <= c and np.isfinite(r[f"{name}_ratio"]) for r in rows])
            picked[name] = np.where(use, [r[f"{name}_1"] for r in rows], [r[f"{name}_0"] for r in rows])
            share.extend(use)
        print(
            f"{c:>10g} {np.median(picked['inferred'] / copy):14.3f} {picked['inferred'].mean():7.3f} "
            f"{picked['other'].mean():9.3f} {np.mean(share):6.0%}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    heldout.add_options(parser, clips=12, repeat=True, regions=False)
    args = parser.parse_args()
    pipeline = heldout.engine(args.bundle)
    everything = []
    for data in args.data:
        print(f"{data}:")
        rows = rows_for(pipeline, data, args.clips)
        table(str(data), rows)
        everything += rows
    table("all sets", everything)


if __name__ == "__main__":
    main()
