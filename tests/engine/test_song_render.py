"""A song-aware plan rendered from the song's own audio (engine.song_render): the edges of an edit that
changes the action eased into the song's level, band by band, and nothing else touched."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from engine.request import SongPlan
from engine.song_render import render_plan
from engine.wire import plan_from_proto, plan_to_proto
from protos.musegenie.v1 import engine_pb2 as pb

SR = 16000


def test_an_eased_edge_meets_the_outside_level_and_leaves_the_rest_alone():
    """A plan with a join ramp renders as without one except within the ramp of each edge, where the
    material's band levels move to the outside's; nothing outside the region and its crossfades changes,
    and the ramp travels with the plan to a client that renders it."""
    rng = np.random.default_rng(5)
    song = rng.standard_normal((2, 10 * SR)).astype(np.float32)  # loud noise, the region's surroundings
    song[:, 6 * SR : 9 * SR] *= np.float32(0.25)  # a quieter stretch: the material, 12 dB down
    start, end, fade = 2 * SR, 4 * SR, round(0.03 * SR)
    read = lambda lo, hi: song[:, lo:hi]  # noqa: E731
    plain = SongPlan(start, end, fade, SR, ((0, 6 * SR),))
    eased = replace(plain, join_ramp=0.3)
    (a, flat), (b, smooth) = (render_plan(read, song.shape[1], SR, plan) for plan in (plain, eased))
    assert a.start == b.start == start - fade and a.audio.shape == b.audio.shape == (
        2,
        end - start + 2 * fade,
    )
    assert flat == smooth  # the same material, from the same place

    def level(patch, lo, hi):  # rms over [lo, hi) input samples
        return float(np.sqrt((patch.audio[:, lo - patch.start : hi - patch.start] ** 2).mean()))

    outside, span = float(np.sqrt((song[:, start - fade - SR // 10 : start - fade] ** 2).mean())), SR // 10
    for lo in (start, end - span):  # the 100 ms inside each edge: from 12 dB down to within 3 dB
        assert level(a, lo, lo + span) < 0.3 * outside and level(b, lo, lo + span) > 0.7 * outside
    ramp = round(0.3 * SR) + 512  # the correction and the analysis window that reaches it
    middle = slice(start + ramp - b.start, end - ramp - b.start)
    assert np.array_equal(a.audio[:, middle], b.audio[:, middle])
    assert plan_from_proto(pb.EditResult(plan=plan_to_proto(eased))) == eased
    assert plan_from_proto(pb.EditResult(plan=plan_to_proto(plain))) == plain
