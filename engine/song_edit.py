"""The song-aware edit in the engine: index the whole song once, plan the region from its own chunks
(`engine.song_plan`), and render the plan from the song's own audio (every channel, the input's rate).

`SongEditor(pipeline)` is what `engine.pipeline.Pipeline.render` asks first when a request's closeness is
above 0; it answers with the rendered region and where its material came from, or with why the region has
to be generated instead.

Letters: C channels, N samples, T latent frames, D latent width, I instruments, W LAM windows.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple, Protocol

import numpy as np

from engine import audio as audio_io
from engine.beats import song_beats
from engine.bundle import Bundle
from engine.request import EditSettings, Heard, SongPlan, Source
from engine.song import FEATURE_HOP, SongCache, SongIndex, matching_features, song_key, song_mel
from engine.song_plan import Plan, plan_takes, source_frames
from engine.song_render import render_plan
from engine.song_upload import SongMissing, SongUploads, Upload
from engine.window import Part, Prepared, action_probabilities, spread_actions

# The LAM reads the song in windows of this many chunks (a region's length, as `infer_actions` reads a
# region); the encoder takes long songs in blocks of ENCODE_CHUNKS chunks with ENCODE_MARGIN each side.
INDEX_CHUNKS = 4
ENCODE_CHUNKS = 16  # 12 blocks for a 3-minute song: both cores busy to the end (0.84x of 64-chunk blocks)
# Half a chunk (4 latent frames) of overlap each side: the frames differ from a single run's by 4e-5 at most
# (1e-7 with a whole chunk, 0.01 with 2 frames) and the LAM reads the same action in all 12,352 frames of
# the held-out songs, for 0.96x the encode time of a whole chunk's overlap.
ENCODE_MARGIN = 0.5
READ_OFFSETS = (0, 1, 2, 3)  # chunks: where the LAM's windows over the song start (one per chunk of a window)
# A request that changes the region's actions is planned CHECK_TAKES ways (the plan's cheapest takes), and
# the edit is the take the LAM reads back as asked, in place, most often: a stretch chosen because its own
# frames carry an action is often read otherwise once it sits among other material. The takes are ranked
# by the LAM's reading of the song's latents assembled as each take places them (a few ms for all; among
# takes it reads alike, the one it gives the asked action the more probability first), and the first
# CHECK_READS of that ranking are rendered from the song's model-rate audio and read as `infer_actions`
# reads any region (~40 ms each; a round with a take read entirely as asked ends the search). On CPU a
# round is as many reads as there are cores, one core each (`Runtime.one_core`): a read gains nothing from
# a second thread, two side by side take 0.77-0.89x the time each (benchmarks/bench_check.py). On 12
# random regions of training songs, every action, the asked action was read back from 0.43 of the chunks
# with the cheapest take, 0.62 with 4 reads, 0.66 with 8 and 0.72 with 32
# (scripts/diagnostics/read_back.py); held-out, see docs/experiments.md (round ten).
CHECK_TAKES = 32
CHECK_READS = 8
# A request that says who plays is checked the same way (the plan's takes in its own order, read by the
# instrument estimator as `eval edit` reads an edit): the index hears the song second by second from its
# first sample, and a stretch heard without an instrument there may still be heard with it once it sits
# in the region. Over 64 held-out real clips an instrument asked away was gone in 58 of 63 edits with the
# cheapest take and in 62 of 63 checked, the set heard exactly as asked in 66% -> 72% of 191 requests, at
# the same log-mel L1 (docs/experiments.md; scripts/diagnostics/instrument_check.py). Reading who plays
# needs no LAM (~15 ms a take against ~40 ms), so a request that changes no action reads up to
# CHECK_PLAYER_READS takes: on one of those clips the sixth of 32 is the first heard as asked.
CHECK_PLAYERS = True
CHECK_PLAYER_READS = 16
# A request that changes the region's action eases each edge of its material (song_render.eased_edges:
# the material's band levels next to the edge set to the outside's, the correction fading out over
# JOIN_RAMP_S): such material is chosen for its action, not for following the region's surroundings, and
# entered with a jump in level or tone. Held-out, other actions' seams went from 1.28-1.31x the song's own
# to 1.19-1.22x on the three real sets furthest from it, at 0.01-0.03 less action fidelity (docs/
# experiments.md, round eleven). A request that keeps the region's actions follows the surroundings
# already: easing it made its edit further from the original and easier to tell from the song.
JOIN_RAMP_S = 0.3


Tick = Callable[[float], None]  # how much of a long step is done, 0..1


def _rendered(plan: Plan, start: int, end: int, fade: int, rate: int) -> SongPlan:
    """The plan as `render_plan` takes it, over [start, end) with `fade` (samples at `rate`)."""
    pieces = tuple((piece.offset, piece.source) for piece in plan.pieces)
    return SongPlan(start, end, fade, rate, pieces, plan.join_ramp)


def asked_chunks(frame_actions: np.ndarray, changed: np.ndarray, per: int) -> np.ndarray:
    """(chunks,) per action chunk of a region (whole chunks from its first frame, as `infer_actions` reads
    it), the action a request asks there (its frames' most common), or -1 where it changes no frame."""
    parts = [slice(c, min(len(frame_actions), c + per)) for c in range(0, len(frame_actions), per)]
    return np.array(
        [np.bincount(frame_actions[part]).argmax() if changed[part].any() else -1 for part in parts]
    )


class Host(Protocol):
    """What the song editor uses of `engine.pipeline.Pipeline` (which owns it)."""

    bundle: Bundle
    runtime: Any

    def hear(
        self, model_audio: np.ndarray, frames: int, mel: np.ndarray | None = None
    ) -> np.ndarray | None: ...

    def heard_in(self, model_audio: np.ndarray) -> np.ndarray | None: ...

    def heard_as_asked(
        self,
        audio: np.ndarray,
        sample_rate: int,
        region: tuple[float, float],
        asked: np.ndarray,
        players: np.ndarray | None,
        part: Part | None = None,
    ) -> Heard: ...

    def context_instruments(self, heard: np.ndarray | None, frames: int) -> np.ndarray: ...

    def infer_actions(
        self,
        audio: np.ndarray,
        sample_rate: int,
        region: tuple[float, float],
        checked: bool = False,
        part: Part | None = None,
    ) -> list[dict]: ...


class Planned(NamedTuple):
    """`SongEditor.plan`'s answer: the plan (None: generate, and `reason` says why) and, when the plan was
    checked, how its take is heard against the request."""

    plan: Plan | None
    reason: str = ""
    heard: Heard | None = None


class SongEditor:
    def __init__(self, pipeline: Host) -> None:
        self.pipeline = pipeline
        self.bundle = pipeline.bundle
        self.cache = SongCache()
        self.uploads = SongUploads()  # songs sent at the model rate by clients that keep their files

    # The index -------------------------------------------------------------------------------------------
    def index(
        self, audio: np.ndarray, sample_rate: int, key: str | None = None, progress: Tick | None = None
    ) -> tuple[SongIndex, bool]:
        """(the index of a whole (C, N) song, whether it was cached): built once per content hash."""
        key = key or song_key(audio, sample_rate)
        return self.cache.get(key, lambda: self._build(key, audio, sample_rate, progress))

    def index_uploaded(self, key: str, progress: Tick | None = None) -> tuple[SongIndex, bool]:
        """The index of a song a client sent (`engine.song_upload`), built from it on first use (raises
        SongMissing when the engine has neither)."""

        def build() -> SongIndex:
            upload = self.uploads.take(key)
            try:
                return self._from_upload(upload, progress)
            except BaseException:  # a cancelled or failed build leaves the song for the next request
                self.uploads.restore(upload)
                raise

        return self.cache.get(key, build)

    def has(self, key: str) -> bool:
        """Whether an edit naming this song can be planned without sending it (its index is cached or
        being built, or the song is waiting for its first edit)."""
        return key in self.cache or key in self.uploads or self.cache.building(key)

    def padded_length(self, model_samples: int) -> int:
        """Model-rate samples the index reads: whole LAM windows, at least one."""
        window = INDEX_CHUNKS * self.bundle.hop * self.bundle.chunk_frames
        return max(window, -(-model_samples // window) * window)

    def _song(self, p: Prepared, progress: Tick | None) -> SongIndex:
        """The index of the song `p` is from: its whole audio, or (a stretch) the song sent for it."""
        if p.part is not None and not p.part.song:
            raise SongMissing(
                "an edit of a stretch of a file with closeness above 0 needs its song (PutSong)"
            )
        if p.part is not None:
            return self.index_uploaded(p.part.song, progress)[0]
        if "song_key" not in p.memo:  # the content hash, computed once per prepared request
            p.memo["song_key"] = song_key(p.audio, p.sample_rate)
        return self.index(p.audio, p.sample_rate, p.memo["song_key"], progress)[0]

    def _encode(self, model_audio: np.ndarray, progress: Tick | None = None) -> np.ndarray:
        """Latents (1, T, D) of mono model-rate audio (P,) padded to whole chunks, in blocks (bounded memory
        for hour-long files, run side by side on CPU: `Runtime.side_by_side`); the blocks overlap by
        ENCODE_MARGIN chunks, within the shipped encoder's reach of a frame (away from the file's own edges
        its frames equal a single run's to 4e-5)."""
        b = self.bundle
        chunk = b.hop * b.chunk_frames
        # the margin in whole latent frames: the encoder takes whole frames (a bundle's chunk may be odd)
        block, margin = ENCODE_CHUNKS * chunk, b.hop * max(1, math.ceil(ENCODE_MARGIN * b.chunk_frames))
        n = model_audio.shape[0]
        if n <= block + 2 * margin:
            return self.pipeline.runtime["tokenizer_encoder"].run(audio=model_audio[None, None])["latents"]
        encoder, workers = self.pipeline.runtime.side_by_side("tokenizer_encoder")

        def encode(lo: int) -> np.ndarray:
            a, z_end = max(0, lo - margin), min(n, lo + block + margin)
            z = encoder.run(audio=model_audio[None, None, a:z_end])["latents"]  # (1, t, D)
            skip = (lo - a) // b.hop
            return z[:, skip : skip + (min(lo + block, n) - lo) // b.hop]

        starts = range(0, n, block)
        with ThreadPoolExecutor(workers, thread_name_prefix="song-encode") as pool:
            blocks = []
            for z in pool.map(encode, starts):
                blocks.append(z)
                if progress is not None:  # a long song's index takes a while: say it goes on
                    progress(len(blocks) / len(starts))
            return np.concatenate(blocks, axis=1)  # (1, T, D)

    def _build(
        self, key: str, audio: np.ndarray, sample_rate: int, progress: Tick | None = None
    ) -> SongIndex:
        mono = audio_io.resample(audio_io.to_mono(audio), sample_rate, self.bundle.sample_rate)[0]  # (M,)
        padded = np.zeros(self.padded_length(mono.shape[0]), np.float32)  # (P,)
        padded[: mono.shape[0]] = mono
        return self._from_upload(Upload(key, padded, int(sample_rate), int(audio.shape[1])), progress)

    def _from_upload(self, song: Upload, progress: Tick | None = None) -> SongIndex:
        """The index of a song's padded mono model-rate audio (the stages' shares of the time: progress)."""
        b, pipe, padded = self.bundle, self.pipeline, song.audio
        tick = progress or (lambda fraction: None)
        mel = song_mel(padded, b.sample_rate)  # (M, F) shared with the instrument estimator
        tick(0.1)
        latents = self._encode(padded, lambda done: tick(0.1 + 0.75 * done))  # (1, T, D)
        frames = latents.shape[1]
        heard = pipe.hear(padded, frames, mel)  # (T, I) or None
        tick(0.9)
        readings = self._readings(latents[0], heard)  # (T, R)
        tick(1.0)
        return SongIndex(
            key=song.key,
            sample_rate=song.sample_rate,
            num_samples=song.num_samples,
            model_rate=b.sample_rate,
            features=matching_features(mel),
            hop=b.hop,
            chunk_frames=b.chunk_frames,
            readings=readings,
            heard=heard,
            beats=song_beats(mel, FEATURE_HOP, b.sample_rate),
            latents=latents[0],
            audio=padded,
        )

    def _readings(self, latents: np.ndarray, heard: np.ndarray | None) -> np.ndarray:
        """(T, R) the LAM's action in each latent frame (T, D), read in windows of INDEX_CHUNKS chunks that
        start READ_OFFSETS chunks into the song: material lands in a region at any offset, and the LAM's
        reading of a chunk depends on the window around it. Frames a shifted reading leaves out keep the
        first one's."""
        b, pipe = self.bundle, self.pipeline
        frames, per = latents.shape[0], INDEX_CHUNKS * b.chunk_frames
        lam = pipe.runtime["lam_encoder"]
        players = pipe.context_instruments(heard, frames)[0] if "instruments" in lam.input_types else None
        out = np.empty((frames, len(READ_OFFSETS)), np.int8)
        for r, shift in enumerate(offset * b.chunk_frames for offset in READ_OFFSETS):
            if r:
                out[:, r] = out[:, 0]  # the first reading covers every frame (whole windows from frame 0)
            windows = (frames - shift) // per
            if windows < 1:
                continue
            span = slice(shift, shift + windows * per)
            inputs = {"latents": latents[span].reshape(windows, per, -1)}  # (W, per, D)
            if players is not None:
                inputs["instruments"] = players[span].reshape(windows, per, -1)
            out[span, r] = np.repeat(lam.run(**inputs)["actions"].reshape(-1), b.chunk_frames)
        return out

    # The edit --------------------------------------------------------------------------------------------
    def plan(
        self,
        p: Prepared,
        frame_actions: np.ndarray,
        region_instruments: np.ndarray | None,
        settings: EditSettings,
        seed: int,
        progress: Tick | None = None,
    ) -> Planned:
        """The plan for this rendering, or None and why the region has to be generated; `progress` hears
        how far the song's index is when it has to be built."""
        index = self._song(p, progress)
        w, b = p.window, self.bundle
        ratio = b.sample_rate / p.sample_rate
        region = (int(round(w.start * ratio)), int(round(w.end * ratio)))
        players = None
        if region_instruments is not None:
            players = np.repeat(region_instruments[None], len(frame_actions), axis=0)  # (K, I)
        margin = int(math.ceil(w.fade * ratio)) + 1
        seconds = min(
            settings.context_seconds, p.num_samples / p.sample_rate
        )  # more than the song is the song
        context = int(round(seconds * b.sample_rate))
        changed = frame_actions != self._reading(p, len(frame_actions))  # (K,)
        wanted = region_instruments > 0.5 if CHECK_PLAYERS and region_instruments is not None else None
        check = index.audio is not None and (changed.any() or wanted is not None)
        takes = CHECK_TAKES if check else 1
        plans = plan_takes(index, region, context, frame_actions, players, margin, seed, changed, takes)
        if changed.any():
            plans = [dataclasses.replace(q, join_ramp=JOIN_RAMP_S) for q in plans]
        if not plans:
            asked = "actions and players" if players is not None else "actions"
            return Planned(None, f"the song has no passage with these {asked}")
        plan, heard = (
            self._checked(p, index, region, plans, frame_actions, changed, wanted)
            if check
            else (plans[0], None)
        )
        if settings.closeness < 1.0 and plan.ratio > settings.closeness:
            return Planned(
                None,
                f"the song's best material fits {plan.ratio:.2f} of a typical passage, above closeness "
                f"{settings.closeness:g}",
            )
        return Planned(plan, "", heard)

    def asked(self, p: Prepared, frame_actions: np.ndarray) -> np.ndarray:
        """(chunks,) the action a request asks in each chunk of the region, -1 where it keeps the reading
        the user was shown (`asked_chunks`)."""
        changed = frame_actions != self._reading(p, len(frame_actions))
        return asked_chunks(frame_actions, changed, self.bundle.chunk_frames)

    def _checked(
        self,
        p: Prepared,
        index: SongIndex,
        region: tuple[int, int],
        plans: list[Plan],
        frame_actions: np.ndarray,
        changed: np.ndarray,
        players: np.ndarray | None = None,
    ) -> tuple[Plan, Heard]:
        """The take of `plans` (cheapest first) that is heard as asked most often, and how it is heard: the
        LAM reads the asked action in the chunks the request changes, and the instrument estimator hears who
        was asked to play (`players`, (I,) bool, None when the request does not say). The CHECK_READS best
        takes by `estimates` (the share read as asked, then the asked action's probability; when no action
        changes: the CHECK_PLAYER_READS first in the plan's order) are rendered from the song at the model
        rate and read as `infer_actions` and `Pipeline.heard_in` read a region (`read_back`), in rounds of
        as many takes as there are cores, side by side; a round with a take heard entirely as asked ends
        the search. Ties go to the better estimate, then the cheaper take, so the edit does not depend on
        how many read at once. Only the index is used, so an edit is the same whether the engine holds the
        file or a client that keeps it renders the plan."""
        asked = asked_chunks(frame_actions, changed, self.bundle.chunk_frames)
        if (asked >= 0).any():
            share, likely = self.estimates(index, region, plans, frame_actions, asked)
            order, reads = np.lexsort((-likely, -share)), CHECK_READS
        else:
            order, reads = np.arange(len(plans)), CHECK_PLAYER_READS
        fade = int(round(p.window.fade * self.bundle.sample_rate / p.sample_rate))
        runtime = self.pipeline.runtime
        workers = runtime.side_by_side_workers()

        def read(i: int) -> Heard:
            with runtime.one_core():
                return self.read_back(index, region, fade, plans[i], asked, players)

        best, best_heard = int(order[0]), None
        with ThreadPoolExecutor(workers, thread_name_prefix="song-check") as pool:
            for lo in range(0, min(reads, len(order)), workers):  # a round of takes side by side
                takes = [int(i) for i in order[lo : min(reads, lo + workers)]]
                for i, heard in zip(takes, pool.map(read, takes), strict=True):
                    if best_heard is None or heard.agreement > best_heard.agreement:
                        best, best_heard = i, heard
                if best_heard is not None and best_heard.agreement == 1.0:
                    break
        return plans[best], best_heard

    def estimates(
        self,
        index: SongIndex,
        region: tuple[int, int],
        plans: list[Plan],
        frame_actions: np.ndarray,
        asked: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """((takes,) the share of the asked chunks the LAM reads as asked in each take, (takes,) the mean
        probability it gives the asked action there), from the song's latents where the take's material
        comes from, assembled as it places them (whole chunks from the region's first frame, as
        `infer_actions` reads a region; the material's continuation fills the last). An estimate, a few ms
        for all: the song's latents were encoded among their own surroundings.

        asked: (chunks,) the action asked in each chunk, -1 where the request keeps the region's."""
        b, lam = self.bundle, self.pipeline.runtime["lam_encoder"]
        k, per, total = len(frame_actions), b.chunk_frames, len(index.latents)
        tail = np.arange(1, len(asked) * per - k + 1)
        rows = []
        for plan in plans:
            frames = source_frames(plan.pieces, region[1] - region[0], k, index.hop, total)  # (K,)
            rows.append(np.clip(np.concatenate([frames, frames[-1] + tail]), 0, total - 1))
        rows = np.stack(rows)  # (takes, chunks * per) song frames
        inputs = {"latents": index.latents[rows]}  # (takes, chunks * per, D)
        if "instruments" in lam.input_types:
            heard = self.pipeline.context_instruments(index.heard, total)[0]  # (T, I)
            inputs["instruments"] = heard[rows]
        out = lam.run(**inputs)
        read = out["actions"].reshape(len(plans), len(asked))  # (takes, chunks)
        logits = out["action_logits"].reshape(len(plans), len(asked), -1)  # (takes, chunks, A)
        probs = action_probabilities(logits)
        mine = np.flatnonzero(asked >= 0)
        likely = probs[:, mine, asked[mine]].mean(axis=1)
        return (read[:, mine] == asked[mine]).mean(axis=1), likely

    def read_back(
        self,
        index: SongIndex,
        region: tuple[int, int],
        fade: int,
        plan: Plan,
        asked: np.ndarray,
        players: np.ndarray | None = None,
    ) -> Heard:
        """How the plan, rendered from the song's mono model-rate audio, is heard against the request
        (`Pipeline.heard_as_asked`, exactly as the returned edit is heard): the LAM's reading of the asked
        chunks (`asked`, as for `estimates`; ~40 ms for 4 s) and, when `players` ((I,) bool) is given, who
        `Pipeline.heard_in` hears playing (~15 ms with the render).

        region: [start, end) model-rate samples; fade: the crossfade in model-rate samples."""
        rate, song = self.bundle.sample_rate, index.audio
        n = index.model_samples
        patch, _ = render_plan(
            lambda lo, hi: song[None, lo:hi], n, rate, _rendered(plan, *region, fade, rate)
        )
        seconds = (region[0] / rate, region[1] / rate)  # the changed samples hold the region
        return self.pipeline.heard_as_asked(patch.audio, rate, seconds, asked, players, Part(patch.start, n))

    def _reading(self, p: Prepared, frames: int) -> np.ndarray:
        """(F,) the action the LAM reads in each frame of the region, as `infer_actions` reports it to the
        user (who picks the actions to change from that reading); computed once per prepared region, so
        explore's renderings share it."""
        if "reading" not in p.memo:
            w = p.window
            region = (w.start / p.sample_rate, w.end / p.sample_rate)
            chunks = self.pipeline.infer_actions(p.audio, p.sample_rate, region, checked=True, part=p.part)
            p.memo["reading"] = [c["action"] for c in chunks]
        return spread_actions(p.memo["reading"], frames)  # as a request spreads them

    def song_plan(self, p: Prepared, plan: Plan) -> SongPlan:
        """The plan as a client that keeps the file renders it (`engine.song_render.render_plan`)."""
        w = p.window
        return _rendered(plan, w.start, w.end, w.fade, self.bundle.sample_rate)

    def render(self, p: Prepared, plan: Plan) -> tuple[np.ndarray, Source]:
        """The whole input (C, N) with the plan's material crossfaded over the region, and its source."""
        if p.part is not None:
            raise ValueError("a stretch of a file holds no material: its client renders the plan")
        read = lambda lo, hi: p.audio[:, lo:hi]  # noqa: E731
        patch, source = render_plan(read, p.audio.shape[1], p.sample_rate, self.song_plan(p, plan))
        return patch.applied(p.audio), source
