"""Names for actions from what their edits measurably do (the naming half of `actions describe`).

Input: for each described region, the descriptors (engine.descriptors) of every action's edit of it. For
each action and descriptor, the *shift* of its edit is how far it lies from the median of the other
actions' edits of the same region; a claim (descriptor, direction) *holds* on a region when the shift has
the claimed sign (engine.descriptors.holds). An action's candidate names are single claims and pairs of its
most reliable claims; each candidate scores the share of regions on which all its claims hold (its
name fidelity; a claim holds when the shift reaches the descriptor's step in the claimed direction), a
little less for a pair (a short name reads faster) and a little more for a large shift
(relative to how far the actions' edits spread on that descriptor). The names are then chosen together
so that no two actions share one and the total score is highest (an assignment problem).

The description gives the figures behind the name and the next most reliable moves; an action whose best
name holds on fewer than `WEAK` of the edits is said to be a weak tendency.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from engine.descriptors import Claim, Descriptor, claim_words, holds, shift, step

WEAK = 0.6  # below this name fidelity an action's name is a tendency, and its description says so
PAIR_COST = 0.04  # a two-word name must hold this much more often than a one-word one to be preferred
SIZE_BONUS = 0.02  # times size / (1 + size), size = |shift| / spread: large moves win ties of fidelity
PAIR_FROM = 6  # pairs are formed from an action's this many most reliable single claims
ALSO = 2  # further moves named in the description


@dataclass
class Move:
    key: str
    direction: int  # sign of the median shift
    median: float  # median shift over the regions, in the descriptor's unit
    size: float  # |median| over the typical spread of the actions' edits on that descriptor
    hits: float  # share of regions where the shift has `direction`'s sign
    measured: int  # regions where the shift is defined


@dataclass
class Named:
    id: int
    name: str
    claims: list[Claim]
    fidelity: float  # share of regions where every claim held
    description: str
    moves: list[Move]  # every descriptor's move, most reliable first


def spread(regions: Sequence[Mapping[int, Mapping[str, float]]], key: str) -> float:
    """Median over regions of the standard deviation of the actions' edits on `key` (the yardstick)."""
    values = []
    for region in regions:
        column = [v.get(key, math.nan) for v in region.values()]
        column = [x for x in column if math.isfinite(x)]
        if len(column) > 1:
            values.append(float(np.std(column)))
    return float(np.median(values)) if values else math.nan


def moves_of(
    regions: Sequence[Mapping[int, Mapping[str, float]]], action: int, keys: Sequence[str]
) -> list[Move]:
    """Every descriptor's move for `action`, most reliable first."""
    out = []
    for key in keys:
        shifts = np.array([shift(r, action, key) for r in regions])  # (R,)
        shifts = shifts[np.isfinite(shifts)]
        if not len(shifts):
            continue
        median = float(np.median(shifts))
        direction = 1 if median >= 0 else -1
        yardstick = spread(regions, key)
        size = abs(median) / yardstick if yardstick > 0 else 0.0
        hits = float(np.sum(shifts * direction >= step(key))) / len(regions)
        out.append(Move(key, direction, median, size, hits, len(shifts)))
    out.sort(key=lambda m: (-m.hits, -m.size))
    return out


def fidelity(
    regions: Sequence[Mapping[int, Mapping[str, float]]], action: int, claims: Sequence[Claim]
) -> float:
    """Share of regions on which every claim of `action` holds."""
    return float(np.mean([holds(r, action, claims) for r in regions])) if regions else math.nan


def _candidates(
    regions: Sequence[Mapping[int, Mapping[str, float]]], action: int, moves: list[Move]
) -> list[tuple[float, list[Claim]]]:
    """(score, claims) of each candidate name of one action."""
    singles = [([(m.key, m.direction)], m.size) for m in moves]
    best = moves[:PAIR_FROM]
    pairs = [
        ([(a.key, a.direction), (b.key, b.direction)], min(a.size, b.size))
        for a, b in itertools.combinations(best, 2)
    ]
    out = []
    for claims, size in singles + pairs:
        score = (
            fidelity(regions, action, claims) + SIZE_BONUS * size / (1 + size) - PAIR_COST * (len(claims) - 1)
        )
        out.append((score, claims))
    return out


def _description(
    named_claims: list[Claim], value: float, moves: list[Move], edits: int, d: Mapping[str, Descriptor]
) -> str:
    by_key = {m.key: m for m in moves}

    def figure(key: str) -> str:
        m, desc = by_key[key], d[key]
        return f"{m.median:+.{desc.digits}f} {desc.unit}"

    claimed = " and ".join(f"{claim_words([c], d)} ({figure(c[0])})" for c in named_claims)
    text = f"{claimed} against the other actions' edits of the same region, in {100 * value:.0f}% of {edits} edits"
    keys = {k for k, _ in named_claims}
    also = [m for m in moves if m.key not in keys and m.hits > 0.5][:ALSO]
    if also:
        text += "; also " + ", ".join(
            f"{claim_words([(m.key, m.direction)], d)} ({figure(m.key)}, {100 * m.hits:.0f}%)" for m in also
        )
    if value < WEAK:
        text += f"; a weak tendency (its name holds in under {100 * WEAK:.0f}% of edits)"
    return text


def name_actions(
    regions: Sequence[Mapping[int, Mapping[str, float]]],
    actions: Sequence[int],
    descriptors: Mapping[str, Descriptor],
) -> list[Named]:
    """Distinct names for `actions` from `regions` (each: action id -> descriptors of its edit)."""
    keys = [k for k in descriptors if any(k in v for r in regions for v in r.values())]
    moves = {a: moves_of(regions, a, keys) for a in actions}
    candidates = {a: _candidates(regions, a, moves[a]) for a in actions}
    names = sorted({claim_words(c, descriptors) for a in actions for _, c in candidates[a]})
    column = {n: j for j, n in enumerate(names)}
    score = np.full((len(actions), len(names)), -1e6)  # (A, names)
    claims_of: dict[tuple[int, str], list[Claim]] = {}
    for i, a in enumerate(actions):
        for value, claims in candidates[a]:
            j = column[claim_words(claims, descriptors)]
            if value > score[i, j]:
                score[i, j], claims_of[(a, names[j])] = value, claims
    rows, cols = linear_sum_assignment(-score)
    out = []
    for i, j in sorted(zip(rows, cols, strict=True)):
        a = actions[i]
        claims = claims_of[(a, names[j])]
        value = fidelity(regions, a, claims)
        text = _description(claims, value, moves[a], len(regions), descriptors)
        out.append(Named(a, names[j], claims, value, text, moves[a]))
    return out
