"""A region assembled from the song's own chunks, with the actions asked for: the song-aware edit's plan.

Most music repeats, and a producer would copy a bar from elsewhere in the song before anything else: on
real music a pasted passage is nearer the original than the tokenizer's own round trip. So an edit first
plans the region from the *same song*: it is cut into slots of one action chunk (~1 s); each slot may
take any stretch of the song whose actions (and, when asked, players) are the ones requested for it, and
a Viterbi search picks the chain of stretches that best fits (unit selection, as in concatenative
synthesis; Hunt & Black 1996, https://doi.org/10.1109/ICASSP.1996.541110):

- the first slot's material must follow what precedes the region, the last must lead into what follows
  it (each compared with the song's own surroundings of the stretch, the similarity-graph inpainting of
  Perraudin et al. 2018, https://arxiv.org/abs/1607.06667, which `eval edit`'s copy baseline also uses),
  over the whole context and again over the quarter second at the seam, where a join is heard;
- a slot continuing the previous slot's stretch costs nothing; a jump elsewhere costs SWITCH plus how
  unlike the jump's two sides are to the song's natural continuations (a join cost);
- material that would land off the song's beat grid (engine.beats) costs up to BEAT_WEIGHT: a slot is
  1.024 s, not a whole number of beats, so only the grid keeps a patchwork in time with the song.

With the region's own actions the best chain is usually one passage (a repeat of the region elsewhere);
with other actions it is made of the song's chunks that carry them. The region itself, and anything within
a crossfade of it, is never material. `Plan.ratio` says how well the chain fits (1 = as well as a typical
stretch of the song), which the request's `closeness` compares against (engine.song_edit).

Letters: M mel bands, F feature frames, P candidates, K frames asked for, I instruments, S slots, B beam.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from engine.beats import phase_mismatch
from engine.song import FEATURE_HOP, N_FFT, SongIndex

STEP = 2  # candidates every STEP feature frames (32 ms); surroundings are compared at that stride
MAX_MISMATCH = 0.5  # a stretch may fill a slot when at most this share of its frames carries other labels
MISMATCH_WEIGHT = 1.0  # cost of a slot whose frames all carry other actions (typical-cost units)
# Who plays is asked for exactly: a stretch where the estimator hears anyone else in any frame is no
# material for it (at 50%, like the actions, an instrument asked away was gone in only 78% of held-out edits).
MAX_PLAYER_MISMATCH = 0.0
SWITCH = 1.5  # cost of jumping to another stretch, in units of a typical stretch's context cost
JOIN_FRAMES = 16  # feature frames (256 ms) each side of a join that must sound like a natural one
JOIN_BANDS = 16  # mel bands pooled for the join comparison (the timbre, not every partial)
BEAM = 64  # chains kept from slot to slot
SEED_NOISE = 0.15  # seed != 0: costs jittered by this (typical-cost units), so seeds give other takes
BLOCK = 512  # candidates compared at once (bounds the comparison's memory)
# A stretch's actions are judged by the LAM's readings of it from this many window offsets (the index's
# `readings`): the LAM reads a chunk differently as its window falls, and material lands in a region at any
# offset, so a stretch must carry the action in most readings. Against one reading, on held-out songs the
# requested action was read back from the edit 0.371 / 0.378 / 0.285 of the time (real songs centre /
# random regions / the soundtrack) against 0.359 / 0.375 / 0.260 (docs/experiments.md).
READINGS = 4
# Material should land on the song's beat grid: in a slot whose request changes the region's action, a
# stretch whose beat phase differs from the slot's costs this much at half a beat off (engine.beats;
# nothing for a song without a grid). On 28 training songs' random regions, 1 took other actions' on-beat
# onset strength from 0.45 to 0.65 of the original's (0.5: 0.61, 2: 0.69). Where the request keeps the
# region's action the surroundings alone decide: counted there too, the grid cost held-out inferred edits
# 8% more log-mel L1 (docs/experiments.md).
BEAT_WEIGHT = 1.0
KEEP_BEAT_WEIGHT = 0.0  # the same in slots whose request keeps the region's action
# The seam itself: the last EDGE_FRAMES feature frames (256 ms) before the region and the first after it,
# compared with those before and after each stretch, weigh EDGE_WEIGHT beside the whole context's cost (in
# every slot): the context says the music around is alike, the edge that the join is. On 28 training songs'
# random regions, 1 took other actions' seams from 1.19x to 1.14x the song's own, their on-beat onset
# strength from 0.63 to 0.72 of the original's and the inferred edit's log-mel L1 from 0.710 to 0.655, at
# action fidelity 0.56 -> 0.54 (2: the same within 0.01; 8 frames: a little worse). Over 64 held-out real
# clips: the inferred edit's flatness 1.20x -> 1.12x the original's, other actions' seams 1.23x -> 1.19x,
# fidelity 0.02 lower (docs/experiments.md).
EDGE_FRAMES = 16
EDGE_WEIGHT = 1.0
RUN = 2048  # candidate starts scored at once by side_costs (their frames stay in the CPU's cache)


@dataclass(frozen=True)
class Piece:
    offset: int  # model-rate samples from the region's start where this piece begins
    source: int  # song sample (model rate) whose material lands at `offset`


@dataclass(frozen=True)
class Plan:
    pieces: tuple[Piece, ...]  # in order; each runs until the next one's offset (the last to the end)
    # How well it sounds in place: the mean of its entry and exit context costs and of its jumps' join
    # costs, each over a typical stretch's (1 = as well as a typical stretch of the song, lower is better).
    # The search's own steering (SWITCH, the mismatch penalty) is left out: it is what the plan had to
    # do to carry the actions, not how the result fits.
    ratio: float
    mismatch: float  # share of the asked-for frames whose action at the source differs from the request
    join_ramp: float = 0.0  # seconds each edge is eased over when rendered (engine.song_render.eased_edges)


def _before(sample: np.ndarray | int) -> np.ndarray:
    """Last feature frame that ends at or before `sample` (a frame hears f * hop +- N_FFT / 2)."""
    return np.floor_divide(np.asarray(sample) - N_FFT // 2, FEATURE_HOP)


def _after(sample: np.ndarray | int) -> np.ndarray:
    """First feature frame that begins at or after `sample`."""
    return -np.floor_divide(-(np.asarray(sample) + N_FFT // 2), FEATURE_HOP)


def side_costs(features: np.ndarray, template_first: int, firsts: np.ndarray, width: int) -> np.ndarray:
    """(P,) mean |dB| between the `width` frames (every STEP) from `template_first` and those from each of
    `firsts` (NaN where a candidate's frames leave the song).

    Every start of each STEP phase is scored at once, one template frame at a time over cache-sized runs
    of starts (no copies of windows: 0.5x the time of gathering each candidate's window)."""
    frames, bands = features.shape[1], features.shape[0]
    span = STEP * (width - 1)
    out = np.full(len(firsts), np.nan, np.float32)
    if width < 1 or template_first < 0 or template_first + span >= frames:
        return out
    template = features[:, template_first : template_first + span + 1 : STEP]  # (M, W)
    ok = (firsts >= 0) & (firsts + span < frames)
    for phase in range(STEP):
        members = np.flatnonzero(ok & (firsts % STEP == phase))
        strided = np.ascontiguousarray(features[:, phase::STEP])  # (M, F / STEP)
        starts = strided.shape[1] - width + 1  # every start whose window stays in the song
        if not len(members) or starts < 1:
            continue
        total = np.zeros(starts, np.float32)  # (Q,) summed |dB| of the window at each start
        for lo in range(0, starts, RUN):
            hi = min(starts, lo + RUN)
            buf = np.empty((bands, hi - lo), np.float32)
            for w in range(width):
                np.subtract(strided[:, lo + w : hi + w], template[:, w : w + 1], out=buf)
                total[lo:hi] += np.abs(buf, out=buf).sum(axis=0)
        out[members] = total[(firsts[members] - phase) // STEP] / (bands * width)
    return out


def _sides(
    pool: ThreadPoolExecutor,
    features: np.ndarray,
    region: tuple[int, int],
    positions: np.ndarray,
    last_len: int,
    width: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(P,) each, normalised: how unlike the `width` frames (every STEP) before the region are to those before
    each candidate start (entry), and those after the region to those after a last slot's stretch from each
    (exit); the two sides side by side on `pool`."""
    lead = STEP * (width - 1)
    sides = [
        pool.submit(side_costs, features, int(_before(region[0])) - lead, _before(positions) - lead, width),
        pool.submit(side_costs, features, int(_after(region[1])), _after(positions + last_len), width),
    ]
    entry, exit_ = (_normalised(side.result()) for side in sides)
    return entry, exit_


def _without_region(features: np.ndarray, start: int, end: int) -> np.ndarray:
    """The features with every frame that hears [start, end) set to the song's mean: nothing the region
    holds may decide which material replaces it."""
    frames = np.arange(features.shape[1]) * FEATURE_HOP
    hears = (frames + N_FFT // 2 > start) & (frames - N_FFT // 2 < end)
    out = features.copy()
    out[:, hears] = features.mean(axis=1, keepdims=True)
    return out


def _normalised(cost: np.ndarray) -> np.ndarray:
    """Costs over their median (1 = a typical candidate); NaN (no evidence) counts as typical."""
    finite = np.isfinite(cost)
    if not finite.any():
        return np.ones_like(cost)
    out = cost / max(float(np.median(cost[finite])), 1e-6)
    out[~finite] = 1.0
    return out


def _pooled(features: np.ndarray) -> np.ndarray:
    """(JOIN_BANDS, F) the features pooled into the bands a join compares."""
    m, frames = features.shape
    return features[: m - m % JOIN_BANDS].reshape(JOIN_BANDS, -1, frames).mean(axis=1)


def _join_descriptors(pooled: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(P, 2 * JOIN_BANDS * JOIN_FRAMES) what a join at each sample point hears before and after it;
    pooled: (JOIN_BANDS, F) from `_pooled`."""
    frames = pooled.shape[1]
    offsets = np.arange(JOIN_FRAMES)
    before = np.clip(_before(points)[:, None] - offsets[::-1], 0, frames - 1)  # (P, JF)
    after = np.clip(_after(points)[:, None] + offsets, 0, frames - 1)  # (P, JF)
    parts = [pooled[:, before].transpose(1, 0, 2), pooled[:, after].transpose(1, 0, 2)]  # (P, JB, JF) each
    return np.concatenate([p.reshape(len(points), -1) for p in parts], axis=1).astype(np.float32)


def _join_costs(ends: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """(E, P) RMS dB between the descriptors of where a stretch ends and where the next one starts."""
    sq = (ends**2).sum(axis=1)[:, None] + (starts**2).sum(axis=1)[None] - 2.0 * ends @ starts.T
    return np.sqrt(np.maximum(sq, 0.0) / ends.shape[1])


def _mismatch(
    labels: np.ndarray, wanted: np.ndarray, starts: np.ndarray, offsets: np.ndarray, hop: int
) -> np.ndarray:
    """(P,) share of frames whose label at the candidate differs from the one wanted: with (T, R) readings of
    one label per frame, the share of the readings that differ; with (T, I) labels, of frames where any does.

    labels: (T, R) or (T, I) per latent frame of the song; wanted: (K,) or (K, I) for frames centred at
    `offsets` (K,) samples after each candidate's start."""
    frames = np.clip((starts[:, None] + offsets[None]) // hop, 0, len(labels) - 1)  # (P, K)
    if labels.ndim == 2 and wanted.ndim == 1:  # (T, R) readings of one label: the share that differs
        return (labels[frames] != wanted[None, :, None]).mean(axis=(1, 2))
    differ = labels[frames] != wanted[None]  # (P, K) or (P, K, I)
    if differ.ndim == 3:
        differ = differ.any(axis=2)
    return differ.mean(axis=1)


def plan_takes(
    index: SongIndex,
    region: tuple[int, int],
    context: int,
    actions: np.ndarray,
    players: np.ndarray | None = None,
    margin: int = 0,
    seed: int = 0,
    changed: np.ndarray | None = None,
    takes: int = 1,
) -> list[Plan]:
    """The `takes` best chains of the song's stretches for a region, best first, or [] when no stretch can
    fill some slot.

    Args:
        region: [start, end) in model-rate samples of the song.
        context: model-rate samples of surroundings compared at the region's two edges.
        actions: (K,) the action asked for in each latent frame of the region, spread evenly over it.
        players: (K, I) 0/1 who should play in each frame (None: anyone; the actions decide). Without
            an instrument estimator in the index nothing can tell who plays, so the answer is None.
        margin: model-rate samples every stretch keeps clear of the region (its crossfades).
        seed: 0 takes the best chain; any other seed jitters the costs for another take.
        changed: (K,) bool, the frames whose asked action differs from the one the region carries now
            (as the LAM reads the region: `Pipeline.infer_actions`). Only those must carry it at the
            source; where the request keeps the region's action, the surroundings alone decide, as a
            producer copying a bar would (asking every frame of a request that changes any, at most 25%
            off per slot, read back 0.415 of the actions on training songs against 0.386, but 0.345
            against 0.355 on held-out songs, with more loops of one second). None: every frame must
            carry its action.
        takes: how many chains to return (the last slot's best extensions of the beam's chains, in order
            of cost; fewer where the song has fewer).
    """
    if players is not None and index.heard is None:
        return None
    start, end = region
    length, total = end - start, index.model_samples
    grid = STEP * FEATURE_HOP
    # a slot is one action chunk, on the candidates' grid (a continuation must land on a candidate)
    unit = -(-index.hop * index.chunk_frames // grid) * grid
    slots = -(-length // unit)
    positions = np.arange(start % grid, total, grid)  # (P,) candidate starts, on the region's grid
    rng = np.random.default_rng(seed) if seed else None
    feats = _without_region(index.features, start, end)
    pooled = _pooled(feats)  # (JB, F) what joins compare
    centres = ((np.arange(len(actions)) + 0.5) * length / len(actions)).astype(np.int64)  # (K,)
    asked = np.ones(len(actions), bool) if changed is None else np.asarray(changed, bool)  # (K,)
    labels = index.readings[:, :READINGS]  # (T, R)

    def slot_candidates(slot: int) -> tuple[np.ndarray, np.ndarray]:
        """(candidates that may fill the slot, their mismatch cost)."""
        lo, hi = slot * unit, min(length, (slot + 1) * unit)
        inside = (positions - margin >= 0) & (positions + (hi - lo) + margin <= total)
        clear = (positions + (hi - lo) + margin <= start) | (positions - margin >= end)
        ok = inside & clear
        bad = np.zeros(len(positions))
        mine = (centres >= lo) & (centres < hi)
        if (mine & asked).any():
            offsets = centres[mine & asked] - lo
            bad = _mismatch(labels, actions[mine & asked], positions, offsets, index.hop)
        ok &= bad <= MAX_MISMATCH
        if players is not None and mine.any():
            offsets, heard = centres[mine] - lo, index.heard > 0.5
            ok &= _mismatch(heard, players[mine] > 0.5, positions, offsets, index.hop) <= MAX_PLAYER_MISMATCH
        found = np.flatnonzero(ok)
        beat_weight = BEAT_WEIGHT if (mine & asked).any() else KEEP_BEAT_WEIGHT
        off_beat = phase_mismatch(index.beats, positions[found], start + lo) if beat_weight else 0.0
        return found, MISMATCH_WEIGHT * bad[found] + beat_weight * off_beat

    def jitter(n: int) -> np.ndarray | float:
        return rng.gumbel(0.0, SEED_NOISE, n) if rng is not None else 0.0

    width = max(1, context // grid)
    last_len = length - (slots - 1) * unit
    with ThreadPoolExecutor(2) as pool:  # numpy leaves the GIL for the bulk of each: the two sides at once
        fit_entry, fit_exit = _sides(pool, feats, region, positions, last_len, width)
        entry, exit_ = fit_entry, fit_exit
        if EDGE_WEIGHT:
            near = _sides(pool, feats, region, positions, last_len, max(1, EDGE_FRAMES // STEP))
            entry, exit_ = entry + EDGE_WEIGHT * near[0], exit_ + EDGE_WEIGHT * near[1]
    candidates = [slot_candidates(j) for j in range(slots)]
    if any(len(c) == 0 for c, _ in candidates):
        return []
    # Viterbi over slots with a beam: chains[b] = candidate index per slot so far, cost[b]
    cand, penalty = candidates[0]
    cost = entry[cand] + penalty + jitter(len(cand)) + (exit_[cand] if slots == 1 else 0.0)
    keep = np.argsort(cost, kind="stable")[: takes if slots == 1 else BEAM]
    chains, cost = cand[keep][:, None], cost[keep]  # (B, 1), (B,)
    join_scale = None
    for j in range(1, slots):
        cand, penalty = candidates[j]
        ends = positions[chains[:, -1]] + unit  # (B,) where each chain's stretch would continue
        left, starts = _join_descriptors(pooled, ends), positions[cand]
        blocks = range(0, len(cand), BLOCK)  # an hour-long song's descriptors at once would take ~0.7 GB
        joins = np.concatenate(
            [_join_costs(left, _join_descriptors(pooled, starts[i : i + BLOCK])) for i in blocks], axis=1
        )  # (B, P)
        if join_scale is None:
            join_scale = max(float(np.median(joins)), 1e-6)
        step = SWITCH + joins / join_scale + penalty[None]  # (B, P)
        gap = np.abs(positions[cand][None] - ends[:, None])  # (B, P)
        step[gap == 0] = penalty[None].repeat(len(ends), axis=0)[gap == 0]  # continuing the same stretch
        step[(gap > 0) & (gap < unit)] = np.inf  # a jump of less than a chunk stutters: never
        total_cost = cost[:, None] + step + jitter(len(cand))  # (B, P)
        if j == slots - 1:  # the takes: the cheapest (chain, last stretch) pairs, each stretch's best first
            total_cost = total_cost + exit_[cand][None]
            order = np.argsort(total_cost.T.reshape(-1), kind="stable")[:takes]  # candidate-major ties
            last, best = np.divmod(order, len(chains))
            chains = np.concatenate([chains[best], cand[last][:, None]], axis=1)
            break
        best = np.argmin(total_cost, axis=0)  # (P,) best chain to extend with each candidate
        cost_here = total_cost[best, np.arange(len(cand))]
        keep = np.argsort(cost_here, kind="stable")[:BEAM]
        chains = np.concatenate([chains[best[keep]], cand[keep][:, None]], axis=1)
        cost = cost_here[keep]
    return [
        _assembled(
            index,
            positions[row],
            row,
            fit_entry,
            fit_exit,
            pooled,
            join_scale or 1.0,
            unit,
            length,
            actions,
            asked,
        )
        for row in chains
    ]


def _assembled(
    index: SongIndex,
    chain: np.ndarray,
    row: np.ndarray,
    entry: np.ndarray,
    exit_: np.ndarray,
    pooled: np.ndarray,
    join_scale: float,
    unit: int,
    length: int,
    actions: np.ndarray,
    asked: np.ndarray,
) -> Plan:
    """The Plan of one chain: (S,) the source of each slot (`row`: their candidate indices)."""
    slots = len(chain)
    pieces = [Piece(0, int(chain[0]))]
    fit = [entry[row[0]], exit_[row[-1]]]  # how well it sounds in place: 1 = typical
    for j in range(1, slots):
        if chain[j] != chain[j - 1] + unit:
            pieces.append(Piece(j * unit, int(chain[j])))
            ends, starts = (
                _join_descriptors(pooled, chain[j - 1 : j] + unit),
                _join_descriptors(pooled, chain[j : j + 1]),
            )
            fit.append(float(_join_costs(ends, starts)[0, 0]) / join_scale)
    frames = source_frames(tuple(pieces), length, len(actions), index.hop, len(index.frame_actions))
    differ = index.frame_actions[frames] != actions
    mismatch = float(np.mean(differ[asked])) if asked.any() else 0.0
    return Plan(tuple(pieces), float(np.mean(fit)), mismatch)


def source_frames(pieces: tuple[Piece, ...], length: int, frames: int, hop: int, total: int) -> np.ndarray:
    """(K,) the song's latent frame whose material lands at each of `frames` region frames (centred, spread
    evenly over `length` model samples, as a request's actions are) under these pieces."""
    centres = ((np.arange(frames) + 0.5) * length / frames).astype(np.int64)  # (K,)
    offsets = np.array([p.offset for p in pieces])
    which = np.searchsorted(offsets, centres, side="right") - 1  # (K,) the piece each centre falls in
    sources = np.array([p.source - p.offset for p in pieces])[which] + centres
    return np.clip(sources // hop, 0, total - 1)
