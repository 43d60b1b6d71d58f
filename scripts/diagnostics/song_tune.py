"""How the song-aware plan's constants move an edit, without generating anything (seconds per clip).

For the clips `musegenie eval edit` takes from a manifest, renders the edit at closeness 1 (always the
song's material, engine.song_plan) with the region's inferred actions and with every other action, and
prints: the median over clips of the inferred edit's log-mel L1 over the copy baseline's, the mean L1 of
inferred and other-action edits, how often the LAM reads each asked action back (action fidelity), the
share of edits assembled from more than one stretch, and of requests no stretch could fill, and the seams'
flux within 100 ms of the region edges (eval edit's seam_flux_ratio over a fixed span, so crossfades of any
length compare alike) beside the song's own at the same edges, and how much of the region's onset strength
falls on the song's beats (eval edit's beat_ratio) and the inferred edit's flatness ratio. Constants are
set with --set NAME=VALUE (engine.song_plan's module constants). Tune on a training manifest; confirm on
held-out audio with `musegenie eval edit`.

    .venv/bin/python scripts/diagnostics/song_tune.py --data data/real_music/real_music.jsonl --clips 12 \
        --set MISMATCH_WEIGHT=1.0 --set MAX_MISMATCH=0.5
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import heldout  # noqa: E402

from engine import song_edit, song_plan, song_render  # noqa: E402
from engine.bundle import load_bundle  # noqa: E402
from engine.request import EditRequest  # noqa: E402
from training.evaluation import edit_scores as scores  # noqa: E402
from training.evaluation.edit_baselines import copy_baseline  # noqa: E402

SEAM_SPAN_S = 0.1  # seams compared over the 100 ms each side of an edge, whatever the crossfade


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    heldout.add_options(parser, clips=12)
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        help="NAME=VALUE of an engine.song_plan, engine.song_render or engine.song_edit constant",
    )
    parser.add_argument(
        "--per-clip", action="store_true", help="also print each clip's inferred edit against its copy"
    )
    parser.add_argument(
        "--crossfade-ms", type=float, default=None, help="the seams' crossfade (default: the bundle's)"
    )
    args = parser.parse_args()
    for item in args.set:
        name, value = item.split("=", 1)
        module = next((m for m in (song_plan, song_render) if hasattr(m, name)), song_edit)
        setattr(module, name, type(getattr(module, name))(float(value)))
    bundle = load_bundle(args.bundle)
    if args.crossfade_ms is not None:
        defaults = dataclasses.replace(bundle.defaults, crossfade_ms=args.crossfade_ms)
        object.__setattr__(bundle, "defaults", defaults)  # a frozen Bundle, changed for this run only
    pipeline = heldout.engine(bundle)
    b, sr = pipeline.bundle, pipeline.bundle.sample_rate
    context_s = b.defaults.context_seconds
    clips = heldout.clips_of(pipeline, args)
    ratios, inferred_l1, other_l1, fidelity, patchwork, empty = [], [], [], [], [], []
    seams, other_seams, natural_seams = [], [], []
    beats_inferred, beats_other, beats_copy, flat_inferred, flat_copy = [], [], [], [], []
    span = int(round(SEAM_SPAN_S * sr))  # one span for every crossfade, so a longer fade is not diluted
    for clip in clips:
        x, region = clip.audio[None], (clip.start / sr, clip.end / sr)
        prepared = pipeline.prepare(x, sr, region, context_s)
        settings = pipeline.settings(EditRequest(region, context_seconds=context_s, closeness=1.0))
        inferred = [c["action"] for c in pipeline.infer_actions(x, sr, region)]
        fade = prepared.window.fade
        copy, copy_from = copy_baseline(
            clip.audio, sr, clip.start, clip.end, int(round(context_s * sr)), fade
        )
        original = clip.audio[clip.start : clip.end]
        natural_seams.append(scores.seam_flux_ratio(clip.audio, clip.audio, sr, clip.start, clip.end, span))
        copy_l1 = scores.logmel_l1(original, copy[clip.start : clip.end], sr)
        grid = scores.beat_grid(clip.audio, sr)
        beats_copy.append(scores.beat_ratio(clip.audio, copy, sr, clip.start, clip.end, grid))
        flat_copy.append(scores.flatness_ratio(original, copy[clip.start : clip.end]))
        for ids in [inferred] + [[a] for a in range(b.num_actions)]:
            r = pipeline.render(prepared, ids, None, settings, 0)
            if r.source.kind != "song":
                empty.append(1.0)
                continue
            empty.append(0.0)
            patchwork.append(float(len(r.source.pieces) > 1))
            l1 = scores.logmel_l1(original, r.audio[0, clip.start : clip.end], sr)
            seam = scores.seam_flux_ratio(clip.audio, r.audio[0], sr, clip.start, clip.end, span)
            beat = scores.beat_ratio(clip.audio, r.audio[0], sr, clip.start, clip.end, grid)
            if ids is inferred:
                inferred_l1.append(l1)
                ratios.append(l1 / copy_l1)
                if args.per_clip:
                    froms = ", ".join(
                        f"{a:.2f}-{e:.2f}" for a, e in r.source.pieces or [(r.source.start, r.source.end)]
                    )
                    print(
                        f"  {clip.name}: edit {l1:.3f} from [{froms}] s, copy {copy_l1:.3f} from "
                        f"{copy_from / sr:.2f} s (region {clip.start / sr:.2f} s)",
                        flush=True,
                    )
                seams.append(seam)
                beats_inferred.append(beat)
                flat_inferred.append(scores.flatness_ratio(original, r.audio[0, clip.start : clip.end]))
            else:
                other_l1.append(l1)
                other_seams.append(seam)
                beats_other.append(beat)
                read = [c["action"] for c in pipeline.infer_actions(r.audio, sr, region)]
                fidelity.append(float(np.mean([a == ids[0] for a in read])))
    label = " ".join(
        args.set + ([] if args.crossfade_ms is None else [f"crossfade {args.crossfade_ms:g} ms"])
    )
    print(
        f"{label or 'defaults'}: median edit/copy {np.median(ratios):.3f} (closer in "
        f"{np.mean(np.array(ratios) < 1):.0%}), L1 inferred {np.mean(inferred_l1):.3f} others "
        f"{np.mean(other_l1):.3f} ({np.mean(other_l1) / np.mean(inferred_l1):.2f}x), fidelity "
        f"{np.mean(fidelity):.3f}, patchwork {np.mean(patchwork):.0%}, unfilled {np.mean(empty):.0%}, "
        f"seams inferred {np.mean(seams):.3f} others {np.mean(other_seams):.3f} (the song's own "
        f"{np.mean(natural_seams):.3f}), on the beat (geometric mean over the original's) inferred "
        f"{scores.geometric_mean(beats_inferred):.3f} others {scores.geometric_mean(beats_other):.3f} copy {scores.geometric_mean(beats_copy):.3f}, flatness "
        f"inferred {scores.geometric_mean(flat_inferred):.3f} copy {scores.geometric_mean(flat_copy):.3f}, {len(clips)} clips"
    )


if __name__ == "__main__":
    main()
