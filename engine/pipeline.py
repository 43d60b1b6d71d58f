"""The edit: encode -> mask -> action-conditioned dynamics sampling -> guided decode -> stitch.

`Pipeline(runtime).edit(audio, sample_rate, EditRequest(region, actions, ...))` re-imagines `region`
(seconds) of a (C, N) float32 signal of any rate and channel count:

1. take the region plus `context_seconds` each side (clipped at the file edges), downmix to mono and
   resample to the model rate; pad to a whole number of action chunks;
2. encode to latents (T, D); mask the frames the region touches;
3. sample the dynamics model from noise on the masked frames (classifier-free guidance: the conditional
   and the null-action batch run together), with the chosen actions on the masked frames and the actions
   the LAM hears in the context on the others; one id fills the region, several are spread evenly; an
   instrument-conditioned bundle also gets who plays in each frame: the context's players as the bundle's
   instrument estimator hears them, and in the region the requested set (default: the players heard there);
4. decode the region plus a margin with the diffusion decoder, re-imposing the known audio (noised to
   the current level) outside the region after every step, so the edit joins its surroundings;
5. resample back, equal-power crossfade over `crossfade_ms` just outside each region edge and write the
   result into every channel. Samples outside region +/- crossfade are returned bit-identical; the same
   seed gives the same output.

Letters in shape comments: B batch, C channels, N samples, T latent frames, D latent width, K chunks,
I instruments.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import NamedTuple

import numpy as np

from engine import audio as audio_io
from engine.bundle import Action
from engine.generate import Generator, Progress
from engine.instruments import HEARD_SHARE, InstrumentEstimator, seconds_to_frames
from engine.request import EditRequest, EditResult, EditSettings, Heard, SongPlan, Source, Variant
from engine.runtime import Runtime
from engine.song_edit import SongEditor
from engine.window import EditError, Part, Prepared, action_probabilities, plan_window, spread_actions

log = logging.getLogger(__name__)


class Rendering(NamedTuple):
    audio: np.ndarray | None  # (C, N) the input with the region replaced; None: `plan` (a file's stretch)
    frame_actions: np.ndarray  # (F,) the action asked for in each latent frame of the region
    source: Source  # where the region's material came from
    plan: SongPlan | None = None  # song material for the client of a stretch to render from its file


class Pipeline:
    """The edit pipeline on one loaded runtime. Thread-safe: onnxruntime sessions may be shared."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.bundle = runtime.bundle
        path = self.bundle.estimator_path
        self.estimator = InstrumentEstimator.load(path) if path is not None else None
        self.conditioned = "instruments" in self.runtime["dynamics"].input_types
        self.songs = SongEditor(self)
        self.generator = Generator(self)

    @property
    def actions(self) -> list[Action]:
        return self.bundle.actions

    # Validation --------------------------------------------------------------------------------------
    def action_ids(self, actions: Sequence[int | str]) -> list[int]:
        """Ids for actions given by id or name (raises EditError)."""
        ids = []
        for action in actions:
            try:
                ids.append(self.bundle.action_id(action))
            except KeyError as err:
                raise EditError(str(err.args[0])) from err
        return ids

    def instrument_ids(self, instruments: Sequence[int | str]) -> list[int]:
        """Indices into the bundle's instrument vocabulary for instruments given by id or name."""
        names = self.bundle.instruments
        if not self.conditioned or not names:
            raise EditError(
                f"bundle {self.bundle.name!r} was trained without instrument conditioning, so it cannot "
                "be asked who plays: leave instruments unset, or use a bundle that lists instruments"
            )
        ids = []
        for item in instruments:
            if isinstance(item, (int, np.integer)) or (isinstance(item, str) and item.isdigit()):
                if not 0 <= int(item) < len(names):
                    raise EditError(f"instrument id {item} out of range 0..{len(names) - 1}")
                ids.append(int(item))
            elif item in names:
                ids.append(names.index(item))
            else:
                raise EditError(f"unknown instrument {item!r} (this bundle knows: {', '.join(names)})")
        return sorted(set(ids))

    def explore_ids(self, actions: Sequence[int | str] | None) -> list[int]:
        """The ids `explore` renders: the given ones (each once is plenty) or every action (raises EditError)."""
        ids = self.action_ids(actions) if actions else [a.id for a in self.actions]
        if len(ids) > self.bundle.num_actions:
            raise EditError(
                f"explore renders one variant per action: at most {self.bundle.num_actions} action ids "
                f"(this bundle's action count), got {len(ids)}; drop repeats or send fewer"
            )
        return ids

    def check(self, request: EditRequest, explore: bool = False) -> EditSettings:
        """Raise EditError for a request `edit` (or `explore`) would refuse: actions, instruments and
        sampling settings, so a server can refuse it before it takes a place in the queue; returns its
        settings resolved against the bundle's defaults."""
        if explore:
            self.explore_ids(request.actions)
        elif not self.action_ids(request.actions):
            raise EditError("no action given")
        if request.instruments is not None:
            self.instrument_ids(request.instruments)
        return self.settings(request)

    def settings(self, request: EditRequest) -> EditSettings:
        """The request's settings with the bundle's defaults filled in (raises EditError)."""
        return EditSettings.resolve(self.bundle.defaults, request)

    # Stages ------------------------------------------------------------------------------------------
    def hear(self, model_audio: np.ndarray, frames: int, mel: np.ndarray | None = None) -> np.ndarray | None:
        """(T, I) who the estimator hears per latent frame, in the bundle's instrument order (the
        estimator's own order for a bundle without a vocabulary); None without an estimator."""
        heard = self._per_second(model_audio, mel)
        return None if heard is None else seconds_to_frames(heard, self.bundle.frame_rate, frames)  # (T, I)

    def heard_in(self, model_audio: np.ndarray) -> np.ndarray | None:
        """(I,) bool, who plays in a passage of mono model-rate audio: the instruments the estimator hears
        in at least HEARD_SHARE of its seconds (in `hear`'s order; None without an estimator). How the
        song editor checks an instrument request and how `eval edit` scores one."""
        heard = self._per_second(model_audio)
        if heard is None:
            return None
        return heard.mean(axis=0) >= HEARD_SHARE if len(heard) else np.zeros(heard.shape[1], bool)

    def players_in(
        self, audio: np.ndarray, sample_rate: int, region: tuple[float, float], part: Part | None = None
    ) -> np.ndarray | None:
        """`heard_in` of `region` (seconds) of (C, N) audio at any rate (with `part`, a stretch of a file)."""
        offset = 0 if part is None else part.offset
        lo, hi = (int(round(s * sample_rate)) - offset for s in region)
        mono = audio_io.to_mono(audio[:, lo:hi])  # (1, N')
        return self.heard_in(audio_io.resample(mono, sample_rate, self.bundle.sample_rate)[0])

    def heard_as_asked(
        self,
        audio: np.ndarray,
        sample_rate: int,
        region: tuple[float, float],
        asked: np.ndarray,
        players: np.ndarray | None,
        part: Part | None = None,
    ) -> Heard:
        """How `region` (seconds) of edited (C, N) audio is heard against its request, as `eval edit` hears
        an edit: the LAM's reading (`infer_actions`) of the chunks `asked` ((chunks,) the action asked in
        each, -1 where the request keeps the region's) and who plays (`heard_in`) against `players` ((I,)
        bool; None: the request does not say). With `part`, `audio` is a stretch of a file."""
        chunks = hits = 0
        if (asked >= 0).any():
            reading = self.infer_actions(audio, sample_rate, region, checked=True, part=part)
            got = np.array([c["action"] for c in reading])[: len(asked)]  # (chunks,)
            mine = asked[: len(got)] >= 0
            chunks, hits = int(mine.sum()), int((got[mine] == asked[: len(got)][mine]).sum())
        heard = None if players is None else self.players_in(audio, sample_rate, region, part)
        if heard is None:
            return Heard(chunks, hits)
        names = self.bundle.instruments or list(self.estimator.names)
        return Heard(
            chunks,
            hits,
            float(np.mean(heard == players)),
            tuple(n for n, h, p in zip(names, heard, players, strict=True) if p and not h),
            tuple(n for n, h, p in zip(names, heard, players, strict=True) if h and not p),
        )

    def _per_second(self, model_audio: np.ndarray, mel: np.ndarray | None = None) -> np.ndarray | None:
        """(S, I) 0/1 who the estimator hears in each second, in `hear`'s order; None without one."""
        if self.estimator is None:
            return None
        per_second = self.estimator.activity(model_audio, self.bundle.sample_rate, mel)  # (S, E)
        names = self.bundle.instruments or list(self.estimator.names)
        columns = [self.estimator.names.index(n) if n in self.estimator.names else -1 for n in names]
        heard = np.zeros((per_second.shape[0], len(names)), np.float32)  # (S, I)
        for i, c in enumerate(columns):
            if c >= 0:
                heard[:, i] = per_second[:, c]
        return heard

    def context_instruments(self, heard: np.ndarray | None, frames: int) -> np.ndarray:
        """(1, T, I) conditioning for the context: what is heard, zeros where nothing can hear it."""
        if heard is None or heard.shape[1] != self.bundle.num_instruments:
            return np.zeros((1, frames, self.bundle.num_instruments), np.float32)
        return heard[None].astype(np.float32)

    def _lam(self, latents: np.ndarray, heard: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """(logits (1, K, A), ids (1, K)) for latents (1, T, D) with T % k == 0."""
        inputs = {"latents": latents}
        if "instruments" in self.runtime["lam_encoder"].input_types:
            inputs["instruments"] = self.context_instruments(heard, latents.shape[1])
        out = self.runtime["lam_encoder"].run(**inputs)
        return out["action_logits"], out["actions"].astype(np.int64)

    def prepare(
        self,
        audio: np.ndarray,
        sample_rate: int,
        region: tuple[float, float],
        context_seconds: float,
        encode: bool = True,
        checked: bool = False,
        part: Part | None = None,
    ) -> Prepared:
        """Validate (unless `checked`: audio a Prepared already holds), cut the window, downmix/resample/pad,
        and (with `encode`) encode it and hear the context's actions. With `part`, `audio` is a stretch of a
        file that holds the window (engine.clip)."""
        if not checked:
            audio = audio_io.check(audio, sample_rate)
            audio_io.check_level(audio)
        b = self.bundle
        w = plan_window(
            audio.shape[1] if part is None else part.total,
            sample_rate,
            region,
            context_seconds,
            b.defaults.crossfade_ms,
            b.sample_rate,
            b.hop,
            b.chunk_frames,
        )
        offset = 0 if part is None else part.offset
        if w.window_start < offset or w.window_end > offset + audio.shape[1]:
            raise EditError(
                f"the audio sent holds samples {offset}..{offset + audio.shape[1]}; this edit needs "
                f"{w.window_start}..{w.window_end} (the region and its context): send those"
            )
        mono = audio_io.to_mono(audio[:, w.window_start - offset : w.window_end - offset])  # (1, W)
        mono = audio_io.resample(mono, sample_rate, b.sample_rate)[:, : w.model_length]  # (1, M)
        model_audio = np.zeros((1, 1, w.padded_length), np.float32)  # (1, 1, P)
        model_audio[0, :, : mono.shape[1]] = mono
        p = Prepared(audio, int(sample_rate), w, model_audio, part=part)
        return self.encoded(p) if encode else p

    def encoded(self, p: Prepared) -> Prepared:
        """`p` with the window's latents, the LAM's actions and who plays (computed once per Prepared)."""
        if p.latents is not None:
            return p
        if "encoded" not in p.memo:
            b = self.bundle
            latents = self.runtime["tokenizer_encoder"].run(audio=p.model_audio)["latents"]  # (1, T, D)
            heard = self.hear(p.model_audio[0, 0], latents.shape[1])  # (T, I) or None
            _, chunk_ids = self._lam(latents, heard)  # (1, K)
            actions = np.repeat(chunk_ids, b.chunk_frames, axis=1)[:, : latents.shape[1]]  # (1, T)
            p.memo["encoded"] = replace(p, latents=latents, context_actions=actions, heard=heard)
        return p.memo["encoded"]

    def render(
        self,
        p: Prepared,
        action_ids: Sequence[int],
        instrument_ids: Sequence[int] | None,
        settings: EditSettings,
        seed: int,
        progress: Progress | None = None,
        span: tuple[float, float] = (0.0, 1.0),
        init: np.ndarray | None = None,
        strength: float = 1.0,
    ) -> Rendering:
        """One rendering of a prepared window: from the song's own audio where a passage qualifies
        (`settings.closeness`, engine.song), else generated.

        `instrument_ids` None keeps the players heard. `init` (1, T, D), latents shaped like the window's,
        starts the sampler at noise level `strength` from them instead of from pure noise.
        """
        w = p.window
        frame_actions = spread_actions(list(action_ids), w.frame_end - w.frame_start)  # (F,)
        region_instruments = None
        if instrument_ids is not None:
            region_instruments = np.zeros(self.bundle.num_instruments, np.float32)  # (I,)
            region_instruments[list(instrument_ids)] = 1.0
        reason = ""
        if settings.closeness > 0 and init is None:
            if progress is not None:
                progress(span[0], "song")
            tick = None  # a song's first edit builds its index: a long one's takes a while, so say so
            if progress is not None:
                tick = lambda done: progress(span[0] + 0.9 * done * (span[1] - span[0]), "index")  # noqa: E731
            plan, reason, heard = self.songs.plan(p, frame_actions, region_instruments, settings, seed, tick)
            if plan is not None and p.part is not None:  # a stretch: its client renders the material
                source = Source("song", heard=heard)
                return Rendering(None, frame_actions, source, self.songs.song_plan(p, plan))
            if plan is not None:
                audio, source = self.songs.render(p, plan)
                if progress is not None:
                    progress(span[1], "song")
                return Rendering(audio, frame_actions, replace(source, heard=heard))
        out = self.generator.generate(
            p, frame_actions, region_instruments, settings, seed, progress, span, init, strength
        )
        return Rendering(
            out,
            frame_actions,
            Source("generated", reason=reason, heard=self._heard(p, out, frame_actions, region_instruments)),
        )

    def _heard(
        self, p: Prepared, out: np.ndarray, frame_actions: np.ndarray, region_instruments: np.ndarray | None
    ) -> Heard | None:
        """`heard_as_asked` of a generated region (an encode of it, ~45 ms for 4 s); None when the request
        changes no action and does not say who plays."""
        asked = self.songs.asked(p, frame_actions)
        players = None if region_instruments is None else region_instruments > 0.5
        if not (asked >= 0).any() and players is None:
            return None
        w = p.window
        region = (w.start / p.sample_rate, w.end / p.sample_rate)
        return self.heard_as_asked(out, p.sample_rate, region, asked, players, p.part)

    def roundtrip(self, p: Prepared, decoder_steps: int, seed: int) -> np.ndarray:
        """The region decoded from its own latents and stitched like an edit: (C, N). The tokenizer's
        round trip through the same decode, so it is the ceiling of any edit of this bundle."""
        return self.generator.roundtrip(p, decoder_steps, seed)

    def _region_players(self, p: Prepared, instrument_ids: Sequence[int] | None) -> tuple[str, ...]:
        """Names of who the region was conditioned on: the request's, else those heard there."""
        if not self.conditioned:
            return ()
        names = self.bundle.instruments
        if instrument_ids is not None:
            return tuple(names[i] for i in instrument_ids)
        p = p.memo.get("encoded", p)  # who plays is known once the window was encoded (a generated edit)
        if p.heard is None:
            return ()
        region = p.heard[p.window.frame_start : p.window.frame_end]  # (F, I)
        return tuple(n for i, n in enumerate(names) if region[:, i].any())

    # Public API --------------------------------------------------------------------------------------
    def edit(
        self,
        audio: np.ndarray,
        sample_rate: int,
        request: EditRequest,
        progress: Progress | None = None,
        part: Part | None = None,
    ) -> EditResult:
        """Re-imagine `request.region` of (C, N) audio with `request.actions`; the whole (C, N) result.
        With `part`, `audio` is a stretch of a file: the result is that stretch edited, or a plan."""
        started = time.perf_counter()
        ids = self.action_ids(request.actions)
        instrument_ids = None if request.instruments is None else self.instrument_ids(request.instruments)
        settings = self.settings(request)
        if progress is not None:
            progress(0.0, "encode")
        prepared = self.prepare(
            audio, sample_rate, request.region, settings.context_seconds, settings.closeness == 0, part=part
        )
        out, frame_actions, source, plan = self.render(
            prepared, ids, instrument_ids, settings, request.seed, progress
        )
        if progress is not None:
            progress(1.0, "done")
        players = self._region_players(prepared, instrument_ids)
        return EditResult(
            out, int(sample_rate), frame_actions, players, source, time.perf_counter() - started, plan
        )

    def infer_actions(
        self,
        audio: np.ndarray,
        sample_rate: int,
        region: tuple[float, float],
        checked: bool = False,
        part: Part | None = None,
    ) -> list[dict]:
        """The LAM's reading of `region`, chunk by chunk from its start (`checked`: audio a Prepared holds).

        Returns one dict per chunk: `start`, `end` (seconds in the input), `action` (most likely id),
        `probabilities` (softmax over the actions, a list of A floats) and `instruments` (names of who the
        bundle's instrument estimator hears in the chunk; empty without an estimator).
        """
        b = self.bundle
        prepared = self.prepare(audio, sample_rate, region, 0.0, checked=checked, part=part)
        logits, ids = self._lam(prepared.latents, prepared.heard)  # (1, K, A), (1, K)
        probs = action_probabilities(logits[0])  # (K, A)
        start_s, end_s = prepared.window.start / sample_rate, prepared.window.end / sample_rate
        chunk_s = b.chunk_samples / b.sample_rate
        names = b.instruments or (list(self.estimator.names) if self.estimator is not None else [])
        chunks = []
        for k in range(ids.shape[1]):
            lo = start_s + k * chunk_s
            if lo >= end_s:
                break
            players: list[str] = []
            if prepared.heard is not None:
                frames = prepared.heard[k * b.chunk_frames : (k + 1) * b.chunk_frames]  # (k, I)
                players = [n for i, n in enumerate(names) if frames[:, i].any()]
            chunks.append(
                {
                    "start": lo,
                    "end": min(end_s, lo + chunk_s),
                    "action": int(ids[0, k]),
                    "probabilities": probs[k].tolist(),
                    "instruments": players,
                }
            )
        return chunks

    def explore(
        self, audio: np.ndarray, sample_rate: int, request: EditRequest, progress: Progress | None = None
    ) -> Iterator[Variant]:
        """Yield Variant(Action, edited audio (C, N), source) once per action of the request (every action when it names
        none), with the same seed each, so the differences are the actions'."""
        for action, rendering in self.explore_renderings(audio, sample_rate, request, progress):
            yield Variant(action, rendering.audio, rendering.source)

    def explore_renderings(
        self,
        audio: np.ndarray,
        sample_rate: int,
        request: EditRequest,
        progress: Progress | None = None,
        part: Part | None = None,
    ) -> Iterator[tuple[Action, Rendering]]:
        """`explore`'s (action, rendering) pairs; with `part` as `edit`'s (a stretch edited, or a plan)."""
        ids = self.explore_ids(request.actions)
        instrument_ids = None if request.instruments is None else self.instrument_ids(request.instruments)
        settings = self.settings(request)
        prepared = self.prepare(
            audio, sample_rate, request.region, settings.context_seconds, settings.closeness == 0, part=part
        )
        by_id = {a.id: a for a in self.actions}
        for i, action_id in enumerate(ids):
            span = (i / len(ids), (i + 1) / len(ids))
            yield (
                by_id[action_id],
                self.render(prepared, [action_id], instrument_ids, settings, request.seed, progress, span),
            )
