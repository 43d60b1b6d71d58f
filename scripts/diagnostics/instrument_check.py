"""How often an instrument request is heard as asked, with and without the song editor's check.

For the clips `musegenie eval edit` takes from a manifest, runs eval edit's three instrument requests per
clip (training.evaluation.edit_instruments: keep who plays, add one, remove one; the region's inferred
actions, closeness 1) once with `engine.song_edit.CHECK_PLAYERS` off (the plan's cheapest take) and once
on (the take the estimator hears as asked, of CHECK_READS read), and prints for each: the added instrument
heard, the removed one gone, the set heard exactly as asked, the share made from the song, and the
requests' log-mel L1 to the original region. The edit without an instrument request is the same in both.

    .venv/bin/python scripts/diagnostics/instrument_check.py --data data/real_music/real_music_heldout.jsonl \\
        --clips 8
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import heldout  # noqa: E402

from engine import song_edit  # noqa: E402
from engine.request import EditRequest  # noqa: E402
from training.evaluation.edit_instruments import fidelity_for_clip  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    heldout.add_options(parser, clips=12, repeat=True)
    parser.add_argument(
        "--seed", type=int, default=0, help="eval edit's --seed (which instruments are asked)"
    )
    parser.add_argument("--per-clip", action="store_true", help="print every request")
    args = parser.parse_args()
    pipeline = heldout.engine(args.bundle)
    b, sr = pipeline.bundle, pipeline.bundle.sample_rate
    context_s = b.defaults.context_seconds
    clips = [clip for data in args.data for clip in heldout.clips_of(pipeline, args, data)]
    rows: dict[bool, list[dict]] = {False: [], True: []}
    for clip in clips:
        x, region = clip.audio[None], (clip.start / sr, clip.end / sr)
        inferred = [c["action"] for c in pipeline.infer_actions(x, sr, region)]
        base = EditRequest(region, tuple(inferred), context_seconds=context_s, closeness=1.0, seed=args.seed)
        for check in (False, True):
            song_edit.CHECK_PLAYERS = check
            record = fidelity_for_clip(pipeline, x, sr, base, np.random.default_rng(args.seed))
            if record is None:
                sys.exit("the bundle cannot be asked who plays")
            for kind in ("keep", "add", "remove"):
                if kind in record:
                    rows[check].append({"clip": clip.name, "kind": kind, **record[kind]})
                    if args.per_clip:
                        e = record[kind]
                        print(
                            f"{'check' if check else 'plain'} {clip.name} {kind}: asked {e['asked']} heard "
                            f"{e['heard']} ({e['source']}) L1 {e['quality']['logmel_l1']:.3f}"
                        )
    for check in (False, True):
        r = rows[check]
        add = [e["success"] for e in r if e["kind"] == "add"]
        rm = [e["success"] for e in r if e["kind"] == "remove"]
        song = [e["from_song"] for e in r]
        l1 = [e["quality"]["logmel_l1"] for e in r]
        print(
            f"{'checked' if check else 'cheapest take'}: added heard {np.mean(add):.3f} ({len(add)}), removed gone "
            f"{np.mean(rm):.3f} ({len(rm)}), exact {np.mean([e['exact'] for e in r]):.3f} ({len(r)}), from the "
            f"song {np.mean(song):.3f}, log-mel L1 {np.mean(l1):.3f}"
        )


if __name__ == "__main__":
    main()
