"""Would an edit sound more like the song if the sampler started from the song's own material?

For each held-out clip (the clips `musegenie eval edit` takes), this finds the copy baseline's passage (the
segment elsewhere in the file whose surroundings best match the region's), encodes the window with it pasted
over the region, and starts the dynamics sampler from those latents noised to level s (SDEdit,
https://arxiv.org/abs/2108.01073) instead of from pure noise (s = 1, the shipped edit). Per s it prints the
log-mel L1 to the original (mean, and the median ratio to the copy's, clip by clip), the spectral flatness and
seam flux ratios (geometric means, as eval edit), the L1 of an edit with another action (inferred + A/2), the
action effect (L1 between that edit and the inferred one over L1 between two seeds) and how often the LAM reads
the other action back. Not a test: prints a table and writes the per-clip figures as JSON.

    .venv/bin/python scripts/diagnostics/copy_start.py --bundle models/default \
        --data work/exp/heldout_add20/corpus.jsonl --clips 24 --strengths 1,0.9,0.8,0.65,0.5 --out copy_start.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from engine.bundle import load_bundle  # noqa: E402
from engine.pipeline import Pipeline  # noqa: E402
from engine.request import EditRequest  # noqa: E402
from engine.runtime import Runtime, RuntimeConfig  # noqa: E402
from training.data.manifest import read_entries  # noqa: E402
from training.evaluation import edit_scores as scores  # noqa: E402
from training.evaluation.edit import EditEvalConfig, _mean_scores, _score, load_clips  # noqa: E402
from training.evaluation.edit_baselines import copy_baseline  # noqa: E402


def clip_row(pipeline: Pipeline, clip, strengths: list[float], context_s: float) -> dict:
    b = pipeline.bundle
    sr, A = b.sample_rate, b.num_actions
    x, region = clip.audio[None], (clip.start / sr, clip.end / sr)
    prepared = pipeline.prepare(x, sr, region, context_s)
    fade = prepared.window.fade
    inferred = [c["action"] for c in pipeline.infer_actions(x, sr, region)]
    other = [(a + A // 2) % A for a in inferred]
    copy, _ = copy_baseline(clip.audio, sr, clip.start, clip.end, int(round(context_s * sr)), fade)
    init = pipeline.prepare(copy[None], sr, region, context_s).latents  # (1, T, D) the copy, in context
    settings = pipeline.settings(EditRequest(region, context_seconds=context_s, closeness=0.0))  # generate
    row = {"name": clip.name, "copy": _score(clip, copy, sr, fade)}

    def region_of(y: np.ndarray) -> np.ndarray:
        return y[clip.start : clip.end]

    for s in strengths:

        def render(ids: list[int], seed: int, s: float = s) -> np.ndarray:
            return pipeline.render(prepared, ids, None, settings, seed, init=init, strength=s)[0][0]  # (N,)

        edit, second, moved = render(inferred, 0), render(inferred, 1), render(other, 0)
        read = [c["action"] for c in pipeline.infer_actions(moved[None], sr, region)]
        row[str(s)] = {
            **_score(clip, edit, sr, fade),
            "other_l1": _score(clip, moved, sr, fade)["logmel_l1"],
            "action_d": scores.logmel_l1(region_of(edit), region_of(moved), sr),
            "seed_d": scores.logmel_l1(region_of(edit), region_of(second), sr),
            "fidelity": float(np.mean([r == o for r, o in zip(read, other, strict=False)])) if read else 0.0,
        }
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", type=Path, default=Path("models/default"), help="exported bundle")
    parser.add_argument("--data", type=Path, required=True, help="held-out manifest (.jsonl) or audio folder")
    parser.add_argument("--clips", type=int, default=8, help="clips to score (eval edit's first N)")
    parser.add_argument("--strengths", default="1,0.9,0.8,0.65,0.5", help="comma-separated start levels s")
    parser.add_argument("--context-seconds", type=float, default=4.0, help="context kept each side")
    parser.add_argument("--out", type=Path, default=Path("copy_start.json"), help="per-clip figures (JSON)")
    args = parser.parse_args()
    strengths = [float(s) for s in args.strengths.split(",")]
    bundle = load_bundle(args.bundle)
    pipeline = Pipeline(Runtime(bundle, RuntimeConfig(warmup=False, intra_op_threads=1)))
    config = EditEvalConfig(clips=args.clips, region_seconds=4.0, context_seconds=args.context_seconds)
    clips, _ = load_clips(read_entries(args.data), config, bundle.sample_rate, args.context_seconds)
    rows = [clip_row(pipeline, clip, strengths, args.context_seconds) for clip in clips]
    args.out.write_text(json.dumps(rows, indent=1) + "\n")
    copy = np.array([r["copy"]["logmel_l1"] for r in rows])  # (clips,)
    copy_means = _mean_scores([r["copy"] for r in rows])  # eval edit's averages (ratios geometric)
    print(f"{len(rows)} clips; copy: L1 {copy.mean():.3f}, flatness {copy_means['flatness_ratio']:.2f}")
    print("s     L1     /copy  closer  flatness  seam   other-action L1  effect  fidelity")
    for s in strengths:
        l1 = np.array([r[str(s)]["logmel_l1"] for r in rows])  # (clips,)
        m = _mean_scores([r[str(s)] for r in rows])
        print(
            f"{s:<5g} {m['logmel_l1']:.3f}  {np.median(l1 / copy):.3f}  {np.mean(l1 < copy):5.0%}   "
            f"{m['flatness_ratio']:.2f}      {m['seam_flux_ratio']:.2f}   {m['other_l1']:.3f}            "
            f"{m['action_d'] / m['seed_d']:.2f}    {m['fidelity']:.2f}"
        )


if __name__ == "__main__":
    main()
