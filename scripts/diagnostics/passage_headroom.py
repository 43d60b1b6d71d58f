"""How much nearer the region the song's best passage is than the one its surroundings choose.

For the clips `musegenie eval edit` takes from a manifest, compares every start of the song clear of the
region (single passages of the region's length, on the plan's grid) by the mean |dB| of the log-mel
features the plan uses (`engine.song.matching_features`) between the passage and the original region, and
prints per clip and on average: the passage the surroundings rank first (entry plus exit context costs,
as `engine.song_plan` and the copy baseline choose), the best passage of the song (an oracle that looks at
the region, which no edit may), and where the surroundings rank that best one. The room any selection
rule without the region could win.

    .venv/bin/python scripts/diagnostics/passage_headroom.py --data data/real_music/real_music_heldout.jsonl \\
        --clips 8
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import heldout  # noqa: E402

from engine import song_plan as sp  # noqa: E402
from engine.pipeline import Pipeline  # noqa: E402
from engine.song import SongIndex  # noqa: E402
from training.evaluation.edit import Clip  # noqa: E402


@dataclass
class Passages:
    """Every single passage of a song clear of a region, on the plan's grid, with what ranks it."""

    index: SongIndex
    start: int  # the region, model-rate samples
    end: int
    starts: np.ndarray  # (P,) each passage's first sample
    distance: np.ndarray  # (P,) mean |dB| to the original region by the plan's features
    masked: np.ndarray  # (M, F) the features with the region set to the song's mean, as the plan sees them

    def sides(self, width: int) -> tuple[np.ndarray, np.ndarray]:
        """(entry, exit) context costs over `width` frames at the plan's stride, over their medians."""
        step, length = sp.STEP, self.end - self.start
        entry = sp.side_costs(
            self.masked,
            int(sp._before(self.start)) - step * (width - 1),
            sp._before(self.starts) - step * (width - 1),
            width,
        )
        exit_ = sp.side_costs(self.masked, int(sp._after(self.end)), sp._after(self.starts + length), width)
        return sp._normalised(entry), sp._normalised(exit_)


def passages(pipeline: Pipeline, clip: Clip) -> Passages:
    sr = pipeline.bundle.sample_rate
    index, _ = pipeline.songs.index(clip.audio[None], sr)
    features, start, end = index.features, clip.start, clip.end
    length, grid = end - start, sp.STEP * sp.FEATURE_HOP
    starts = np.arange(start % grid, index.model_samples - length, grid)  # (P,)
    starts = starts[(starts + length <= start) | (starts >= end)]
    first, frames = int(sp._after(start)), int(sp._before(end)) - int(sp._after(start))
    firsts = sp._after(starts)
    starts, firsts = starts[firsts + frames < features.shape[1]], firsts[firsts + frames < features.shape[1]]
    region = features[:, first : first + frames]  # (M, W)
    distance = np.array([np.abs(features[:, f : f + frames] - region).mean() for f in firsts])  # (P,)
    return Passages(index, start, end, starts, distance, sp._without_region(features, start, end))


def context_width(pipeline: Pipeline) -> int:
    """The plan's context window in frames at its stride."""
    b = pipeline.bundle
    return int(round(b.defaults.context_seconds * b.sample_rate)) // (sp.STEP * sp.FEATURE_HOP)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    heldout.add_options(parser, clips=8)
    args = parser.parse_args()
    pipeline = heldout.engine(args.bundle)
    sr = pipeline.bundle.sample_rate
    clips = heldout.clips_of(pipeline, args)
    chosen, best, in_ten = [], [], []
    for clip in clips:
        found = passages(pipeline, clip)
        entry, exit_ = found.sides(context_width(pipeline))
        distance, starts = found.distance, found.starts
        order = np.argsort(entry + exit_, kind="stable")  # (P,)
        rank = int(np.flatnonzero(order == distance.argmin())[0])
        chosen.append(distance[order[0]])
        best.append(distance.min())
        in_ten.append(rank < 10)
        print(
            f"  {clip.name}: by surroundings {distance[order[0]]:.2f} dB ({starts[order[0]] / sr:.2f} s), "
            f"best {distance.min():.2f} dB ({starts[distance.argmin()] / sr:.2f} s, ranked {rank + 1} of "
            f"{len(starts)}), region {clip.start / sr:.2f} s",
            flush=True,
        )
    print(
        f"mean |dB| over {len(clips)} clips: by surroundings {np.mean(chosen):.2f}, best of the song "
        f"{np.mean(best):.2f}; the best among the surroundings' ten first in {sum(in_ten)} clips"
    )


if __name__ == "__main__":
    main()
