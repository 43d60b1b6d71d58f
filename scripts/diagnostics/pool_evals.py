"""Issue 41's figures over the clips of several `musegenie eval edit` runs at once (one run holds 8-24 clips,
and one clip can move a set's figure past a threshold).

Reads each run's edit.json and prints, over all their clips: the median of the inferred edit's log-mel L1 over
the copy's (and how often it is nearer), and per method the geometric means of the flatness ratio and of the
seams' flux, the latter also over the original's own at the same edges (as `eval edit` averages ratios).
Also pooled: action fidelity (the mean over single-action edits of the share of chunks read back as asked,
as `eval edit` averages it within a run) and the instrument requests (an instrument asked for heard, one
asked away gone, the set heard exactly, made of the song's material). Realism is a classifier fitted per
run, so it is not pooled: read it from each run.

    .venv/bin/python scripts/diagnostics/pool_evals.py work/exp/r6c_real work/exp/r6c_blupi ...
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from training.evaluation.edit_scores import geometric_mean  # noqa: E402

METHODS = ("edit_inferred", "edit_other_actions", "copy")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("runs", nargs="+", type=Path, help="folders written by `musegenie eval edit --out`")
    args = parser.parse_args()
    ratios, natural, fidelity = [], [], []
    flatness, seams = {m: [] for m in METHODS}, {m: [] for m in METHODS}
    requests: dict[str, list[dict]] = {"keep": [], "add": [], "remove": []}
    for run in args.runs:
        for clip in json.loads((run / "edit.json").read_text())["per_clip"]:
            fidelity += list(clip["action_fidelity"].values())
            for kind, rows in requests.items():
                if (clip.get("instruments") or {}).get(kind):
                    rows.append(clip["instruments"][kind])
            scores = clip["scores"]
            ratios.append(scores["edit_inferred"]["logmel_l1"] / scores["copy"]["logmel_l1"])
            natural.append(clip["original_seam_flux_ratio"])
            for method in METHODS:
                flatness[method].append(scores[method]["flatness_ratio"])
                seams[method].append(scores[method]["seam_flux_ratio"])
    print(
        f"{len(ratios)} clips of {len(args.runs)} runs: inferred edit / copy, median {np.median(ratios):.3f} "
        f"(nearer in {np.mean(np.array(ratios) < 1):.0%}); the song's own seams {geometric_mean(natural):.3f}"
    )
    for method in METHODS:
        seam = geometric_mean(seams[method])
        print(
            f"  {method:20s} flatness {geometric_mean(flatness[method]):.3f}x  seams {seam:.3f} "
            f"({seam / geometric_mean(natural):.2f}x the song's own)"
        )
    print(f"  action fidelity {np.mean(fidelity):.3f} ({len(fidelity)} single-action edits)")
    every = [e for rows in requests.values() for e in rows]
    if every:
        made = [e["from_song"] for e in every if "from_song" in e]
        print(
            f"  instruments: heard when added {np.mean([e['success'] for e in requests['add']]):.3f} "
            f"({len(requests['add'])}), gone when removed {np.mean([e['success'] for e in requests['remove']]):.3f} "
            f"({len(requests['remove'])}), exact {np.mean([e['exact'] for e in every]):.3f} ({len(every)})"
            + (f", made of the song {np.mean(made):.3f} ({len(made)})" if made else "")
        )


if __name__ == "__main__":
    main()
