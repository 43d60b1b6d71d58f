"""How often the asked action is read back from an edit that changes it, as the engine checks more takes.

For the clips `musegenie eval edit` takes from a manifest, asks every action of each region at closeness 1
and, where the song's material fills the request, renders and reads (as `infer_actions` reads any region)
the engine's CHECK_TAKES cheapest takes in the order the engine ranks them
(`engine.song_edit.SongEditor.estimates`: the share of asked chunks the estimate reads as asked, ties by
the probability it gives the asked action), by that share alone (stable: the cheaper take first among
ties) and in the plan's own order (cheapest first). It prints, for M
takes read exactly, the share of the asked chunks read back from the best of the first M (action fidelity,
as `eval edit` counts it when one action is asked), and the log-mel L1 of the takes picked; M = 1 in the
plan's order is the edit without any check. Also how often the estimate agrees with the exact reading.

    .venv/bin/python scripts/diagnostics/read_back.py --data data/real_music/real_music.jsonl --clips 12 \
        --position random --region-seed 3
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
from training.evaluation import edit_scores as scores  # noqa: E402

READS = (1, 2, 4, 8, 16, 32)
ORDERS = ("estimate", "share", "cost")
# How the engine picks among the takes it reads (the estimate's order, in rounds of ROUND side by side): a
# round with a take read entirely as asked ends the search (or every take is read: "all"), and ties of the
# exact reading go to the earlier read or to the cheaper take.
ROUND = 2
POLICIES = (("first read", True), ("cheaper", True), ("cheaper, all", False))


def pick(order: list[int], exact: dict[int, float], m: int, policy: str, stop: bool) -> int:
    """The take the engine keeps when it reads the first `m` of `order` in rounds of ROUND."""
    read: list[int] = []
    for lo in range(0, m, ROUND):
        read += order[lo : lo + ROUND]
        if stop and max(exact[i] for i in read) == 1.0:
            break
    best = max(exact[i] for i in read)
    tied = [i for i in read if exact[i] == best]
    return tied[0] if policy == "first read" else min(tied)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    heldout.add_options(parser, clips=12)
    parser.add_argument("--takes", type=int, default=32, help="takes the plan offers (CHECK_TAKES)")
    args = parser.parse_args()
    pipeline = heldout.engine(args.bundle)
    b, sr = pipeline.bundle, pipeline.bundle.sample_rate
    context_s = b.defaults.context_seconds
    clips = heldout.clips_of(pipeline, args)
    song_edit.CHECK_TAKES = args.takes
    songs, seen = pipeline.songs, {}

    def capture(p, index, region, plans, frame_actions, changed, players=None):  # the takes, kept for below
        asked = song_edit.asked_chunks(frame_actions, changed, b.chunk_frames)
        fade = int(round(p.window.fade * sr / p.sample_rate))
        seen.update(
            p=p,
            plans=plans,
            estimate=songs.estimates(index, region, plans, frame_actions, asked),  # (share, probability)
            read=lambda plan: songs.read_back(index, region, fade, plan, asked).agreement,
        )
        return plans[0], None

    songs._checked = capture
    fidelity = {(order, m): [] for order in ORDERS for m in READS}
    distance = {key: [] for key in fidelity}
    kept = {(policy, m): [] for policy, _ in POLICIES for m in (4, 8)}  # (fidelity, L1, seams) per request
    agree, chunks = 0, 0
    for clip in clips:
        x, region = clip.audio[None], (clip.start / sr, clip.end / sr)
        prepared = pipeline.prepare(x, sr, region, context_s)
        settings = pipeline.settings(EditRequest(region, context_seconds=context_s, closeness=1.0))
        original = clip.audio[clip.start : clip.end]
        for action in range(b.num_actions):
            seen.clear()
            if pipeline.render(prepared, [action], None, settings, 0).source.kind != "song" or not seen:
                continue  # generated, or nothing the request changes
            plans, (estimate, likely) = seen["plans"], seen["estimate"]
            ranked = {
                "estimate": list(np.lexsort((-likely, -estimate))),
                "share": list(np.argsort(-estimate, kind="stable")),
                "cost": list(range(len(plans))),
            }
            exact, l1, seams = {}, {}, {}
            for i in set().union(*(order[: max(READS)] for order in ranked.values())):
                exact[i] = seen["read"](plans[i])
                audio, _ = songs.render(seen["p"], plans[i])
                l1[i] = scores.logmel_l1(original, audio[0, clip.start : clip.end], sr)
                seams[i] = scores.seam_flux_ratio(
                    clip.audio, audio[0], sr, clip.start, clip.end, seen["p"].window.fade
                )
            for (policy, m), rows in kept.items():
                stop = dict(POLICIES)[policy]
                i = pick(ranked["estimate"], exact, min(m, len(plans)), policy, stop)
                rows.append((exact[i], l1[i], seams[i]))
            agree += sum(float(estimate[i] == exact[i]) for i in exact)
            chunks += len(exact)
            for (order, m), values in fidelity.items():
                best = max(ranked[order][:m], key=lambda i: (exact[i], -ranked[order].index(i)))
                values.append(exact[best])
                distance[(order, m)].append(l1[best])
    print(
        f"{len(fidelity[('cost', 1)])} requests filled from the song, {len(clips)} clips; the estimate equals "
        f"the exact reading for {agree / max(chunks, 1):.0%} of the takes read"
    )
    for m in READS:
        print(
            f"best of {m:2d} read, fidelity / log-mel L1: "
            + "; ".join(
                f"{order} {np.mean(fidelity[(order, m)]):.3f} / {np.mean(distance[(order, m)]):.3f}"
                for order in ORDERS
            )
        )
    print(f"the take kept from the estimate's order, {ROUND} read at a time: fidelity / log-mel L1 / seams")
    for (policy, m), rows in kept.items():
        got = np.array(rows)
        print(
            f"  {m} reads, ties to the {policy:12s}: {got[:, 0].mean():.3f} / {got[:, 1].mean():.3f} / "
            f"{scores.geometric_mean(got[:, 2]):.3f}"
        )


if __name__ == "__main__":
    main()
