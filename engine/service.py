"""The `musegenie.v1.Editor` servicer: a thin adapter proto <-> numpy <-> `engine.pipeline.Pipeline`.

Every failure becomes a status code and the server keeps serving:
INVALID_ARGUMENT (bad audio, garbage bytes, zero length, NaN, unknown action, bad parameters),
OUT_OF_RANGE (region outside the audio, end <= start, region longer than the server allows),
RESOURCE_EXHAUSTED (queue full; oversize messages are refused by gRPC itself with the same code),
UNAVAILABLE (no bundle loaded yet), NOT_FOUND (IndexSong of a song never sent, or evicted), CANCELLED /
DEADLINE_EXCEEDED (the client gave up: the work stops at the next sampling step). UNAUTHENTICATED comes from
the token interceptor in `engine.server`.

Admission: parameters are checked first; at most `max_concurrent` requests compute at once; up to
`max_queue` more wait for a slot, first come first served (checking every 100 ms whether their client is
still there); any further request is refused at once. A waiting Edit is sent a progress event with stage
"queued" (an IndexSong a queued event) every QUEUED_EVERY seconds, so a client can keep a deadline on
silence without giving up on a busy engine; once computing, only real progress is sent. A reply the client
leaves unread for `reply_timeout` seconds cancels its call (the work is done; the thread and memory come
back).
"""

from __future__ import annotations

import collections
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version

import grpc

from engine import audio as audio_io
from engine import wire
from engine.audio import AudioError
from engine.client import REPLY_OVERHEAD, RETRY_AFTER_KEY
from engine.pipeline import Pipeline
from engine.request import MAX_STEPS
from engine.song_upload import KEY, MAX_SONG_SECONDS, SongMissing, SongRefused, receive
from engine.window import EditError, RegionError
from protos.musegenie.v1 import engine_pb2 as pb
from protos.musegenie.v1 import engine_pb2_grpc as pb_grpc

log = logging.getLogger(__name__)

PROGRESS_EVERY = 0.01  # send a progress event when the fraction moved this much (or the stage changed)
QUEUED_EVERY = 1.0  # seconds between "queued" events to an Edit waiting for a slot
RETRY_AFTER_MS = 250  # the wait suggested with a refusal for lack of room (engine.client.RETRY_AFTER_KEY)


class Busy(Exception):
    """Every slot is computing and the queue is full."""


class Cancelled(Exception):
    """The client cancelled, its deadline passed, or the server is shutting down."""


class NotFound(LookupError):
    """IndexSong names a song the engine holds neither sent nor indexed."""


@dataclass(frozen=True)
class Limits:
    max_concurrent: int = 1  # requests computing at once
    max_queue: int = 8  # requests waiting for a slot before RESOURCE_EXHAUSTED
    max_region_seconds: float = 120.0  # longest region one request may edit
    max_message_bytes: int = 256 << 20  # largest message either way (enforced by the gRPC server)
    max_song_seconds: float = MAX_SONG_SECONDS  # longest song PutSong takes (engine.song_upload)


class Admission:
    """A concurrency limit with a bounded first-come-first-served waiting room.

    A freed slot goes to the longest-waiting request (a waiter polling a semaphore would let a newcomer
    overtake it, so one unlucky request could wait many edits long).
    """

    def __init__(self, max_concurrent: int, max_queue: int) -> None:
        if max_concurrent < 1 or max_queue < 0:
            raise ValueError(
                f"need max_concurrent >= 1 and max_queue >= 0, got {max_concurrent}, {max_queue}"
            )
        self._free = max_concurrent
        self._waiters: collections.deque[threading.Event] = collections.deque()
        self._lock = threading.Lock()
        self._max_queue = max_queue

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    def acquire(self, is_active: Callable[[], bool]) -> None:
        """Take a slot, waiting in line if there is room; raise Busy or Cancelled."""
        with self._lock:
            if self._free and not self._waiters:
                self._free -= 1
                return
            if len(self._waiters) >= self._max_queue:
                raise Busy(
                    f"server busy: {self._max_queue} requests already waiting; retry after a reply or "
                    "ask the operator for a longer --max-queue"
                )
            turn = threading.Event()
            self._waiters.append(turn)
        while not turn.wait(0.1):  # checking every 100 ms whether the client is still there
            if is_active():
                continue
            with self._lock:
                if not turn.is_set():
                    self._waiters.remove(turn)
                    raise Cancelled("client gave up while queued")
            self.release()  # the slot arrived as the client left: hand it on
            raise Cancelled("client gave up while queued")

    def release(self) -> None:
        with self._lock:
            if self._waiters:
                self._waiters.popleft().set()  # the slot passes straight to the first in line
            else:
                self._free += 1


class ReplyWatch:
    """Cancels calls whose client has not taken a reply within `timeout` seconds.

    gRPC blocks the handler thread while a streamed reply waits for the client to read it; a client that
    never reads would hold that thread, the call's place and the reply's memory forever.
    """

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._pending: dict[grpc.ServicerContext, float] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def sending(self, context: grpc.ServicerContext) -> None:
        with self._lock:
            self._pending[context] = time.monotonic() + self.timeout
            if self._thread is None:
                self._thread = threading.Thread(target=self._watch, name="musegenie-replies", daemon=True)
                self._thread.start()

    def sent(self, context: grpc.ServicerContext) -> None:
        with self._lock:
            self._pending.pop(context, None)

    def _watch(self) -> None:
        while True:
            time.sleep(min(1.0, self.timeout / 4))
            now = time.monotonic()
            with self._lock:
                overdue = [c for c, deadline in self._pending.items() if deadline < now]
                for context in overdue:
                    del self._pending[context]
            for context in overdue:
                log.info("cancelling a call whose client left its reply unread for %gs", self.timeout)
                context.cancel()


def status_for(err: BaseException) -> tuple[grpc.StatusCode, str]:
    """The gRPC status and message for an exception raised while handling a request."""
    if isinstance(err, RegionError):
        return grpc.StatusCode.OUT_OF_RANGE, str(err)
    if isinstance(err, (AudioError, EditError)):
        return grpc.StatusCode.INVALID_ARGUMENT, str(err)
    if isinstance(err, (Busy, SongRefused)):
        return grpc.StatusCode.RESOURCE_EXHAUSTED, str(err)
    if isinstance(err, NotFound):
        return grpc.StatusCode.NOT_FOUND, str(err)
    if isinstance(err, SongMissing):
        return grpc.StatusCode.FAILED_PRECONDITION, str(err)
    if isinstance(err, Cancelled):
        return grpc.StatusCode.CANCELLED, str(err)
    return grpc.StatusCode.INTERNAL, f"internal error: {type(err).__name__}: {err}"


def engine_version() -> str:
    try:
        return version("musegenie")
    except PackageNotFoundError:
        return "unknown"


class EditorService(pb_grpc.EditorServicer):
    """Serves one Pipeline; `pipeline` may arrive later (`set_pipeline`), until then: UNAVAILABLE."""

    def __init__(
        self, limits: Limits, pipeline: Pipeline | None = None, reply_timeout: float = 120.0
    ) -> None:
        self.limits = limits
        self.pipeline = pipeline
        self.admission = Admission(limits.max_concurrent, limits.max_queue)
        self.replies = ReplyWatch(reply_timeout)

    def set_pipeline(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline

    # Helpers ------------------------------------------------------------------------------------------
    def _pipeline(self, context: grpc.ServicerContext) -> Pipeline:
        if self.pipeline is None:
            context.abort(grpc.StatusCode.UNAVAILABLE, "no model bundle loaded yet (warming up)")
        return self.pipeline

    def _inputs(self, request, context: grpc.ServicerContext) -> tuple:
        """Decoded audio, sample rate, region and stretch (engine.window.Part, or None: the whole file) of a
        request; aborts with the matching status."""
        try:
            audio, sr = wire.audio_from_proto(request.audio)
            audio_io.check_level(audio, "request audio")
            part = wire.part_from_proto(request, audio.shape[1])
        except AudioError as err:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(err))
        if not request.HasField("region"):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "request has no region")
        region = (request.region.start, request.region.end)
        if region[1] - region[0] > self.limits.max_region_seconds:
            context.abort(
                grpc.StatusCode.OUT_OF_RANGE,
                f"region of {region[1] - region[0]:.1f} s is longer than this server's limit of "
                f"{self.limits.max_region_seconds:g} s",
            )
        return audio, sr, region, part

    def _check_reply_fits(self, request, context: grpc.ServicerContext) -> None:
        """Refuse before the work a request whose reply (its audio again, plus overhead) could not be sent."""
        reply = len(request.audio.pcm) + REPLY_OVERHEAD
        if reply > self.limits.max_message_bytes:
            context.abort(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"the reply would be {reply / wire.MiB:.1f} MiB (the audio sent back whole, plus up to "
                f"{REPLY_OVERHEAD >> 10} KiB), over this server's message limit of "
                f"{self.limits.max_message_bytes / wire.MiB:g} MiB: send a shorter stretch around the region "
                "(or ask the operator for a larger --max-message-mb)",
            )

    def _check(self, context: grpc.ServicerContext, check: Callable[[], object]) -> None:
        """Refuse unusable parameters before the request takes a place in the queue."""
        try:
            check()
        except EditError as err:
            context.abort(*status_for(err))

    def _stream(
        self,
        context: grpc.ServicerContext,
        work: Callable[[Callable], Iterator],
        queued: Callable[[], object] | None = None,
        progressed: Callable[[float, str], object] | None = None,
    ) -> Iterator:
        """Run `work(progress)` in a worker thread under an admission slot, yielding what it emits.

        `work` yields response messages; `progress(fraction, stage)` (passed to it) checks that the
        client is still there (raising Cancelled otherwise, which stops sampling at the next step) and
        turns into progress messages (`progressed(fraction, stage)`, by default an Edit's). Errors end the
        stream with their status. While the request waits for a slot, `queued()` (when given) is yielded
        every QUEUED_EVERY seconds.
        """
        events: queue.Queue = queue.Queue()
        started = threading.Event()
        last = [-1.0, ""]
        if progressed is None:
            progressed = lambda f, s: pb.EditEvent(progress=pb.EditProgress(fraction=f, stage=s))  # noqa: E731

        def progress(fraction: float, stage: str) -> None:
            if not context.is_active():
                raise Cancelled("client cancelled or deadline exceeded")
            if stage != last[1] or fraction - last[0] >= PROGRESS_EVERY or fraction >= 1.0:
                last[:] = [fraction, stage]
                events.put(("message", progressed(fraction, stage)))

        def run() -> None:
            try:
                self.admission.acquire(context.is_active)
            except (Busy, Cancelled) as err:
                events.put(("error", err))
                return
            started.set()
            try:
                for message in work(progress):
                    events.put(("message", message))
                events.put(("end", None))
            except BaseException as err:  # noqa: BLE001 - every failure must reach the client as a status
                events.put(("error", err))
            finally:
                self.admission.release()

        threading.Thread(target=run, name="musegenie-edit", daemon=True).start()
        while True:
            try:
                kind, payload = events.get(timeout=None if queued is None else QUEUED_EVERY)
            except queue.Empty:  # still waiting for a slot, or computing between progress events
                if started.is_set():
                    continue  # silence while computing is the client's to judge: no filler
                kind, payload = "message", queued()
            if kind == "message":
                self.replies.sending(context)
                try:
                    yield payload  # returns once gRPC has handed the message to the client
                finally:
                    self.replies.sent(context)
            elif kind == "end":
                return
            else:
                code, message = status_for(payload)
                if isinstance(payload, Busy):  # no room yet, nothing done: the client may try again
                    context.set_trailing_metadata(((RETRY_AFTER_KEY, str(RETRY_AFTER_MS)),))
                if code == grpc.StatusCode.INTERNAL:
                    log.error("request failed", exc_info=payload)
                elif code != grpc.StatusCode.CANCELLED:
                    log.info("request refused: %s: %s", code.name, message)
                context.abort(code, message)

    # RPCs ---------------------------------------------------------------------------------------------
    def GetInfo(self, request: pb.GetInfoRequest, context: grpc.ServicerContext) -> pb.EngineInfo:
        pipeline = self._pipeline(context)
        b = pipeline.bundle
        d = b.defaults
        return pb.EngineInfo(
            bundle_name=b.name,
            bundle_created=b.created,
            model_sample_rate=b.sample_rate,
            frame_rate=b.frame_rate,
            chunk_frames=b.chunk_frames,
            num_actions=b.num_actions,
            actions=[wire.action_to_proto(a) for a in b.actions],
            providers=pipeline.runtime.providers,
            defaults=pb.Defaults(
                steps=d.steps,
                decoder_steps=d.decoder_steps,
                guidance=d.guidance,
                sampler=d.sampler,
                decoder_sampler=d.decoder_sampler,
                decoder_shift=d.decoder_shift,
                context_seconds=d.context_seconds,
                crossfade_ms=d.crossfade_ms,
                instrument_guidance=d.instrument_guidance,
                closeness=d.closeness,
            ),
            limits=pb.Limits(
                max_message_bytes=self.limits.max_message_bytes,
                max_concurrent=self.limits.max_concurrent,
                max_queue=self.limits.max_queue,
                max_region_seconds=self.limits.max_region_seconds,
                max_steps=MAX_STEPS,
                max_song_seconds=self.limits.max_song_seconds,
            ),
            engine_version=engine_version(),
            instruments=b.instruments,
            replicas=1,
        )

    def Edit(self, request: pb.EditRequest, context: grpc.ServicerContext) -> Iterator[pb.EditEvent]:
        pipeline = self._pipeline(context)
        audio, sr, _, part = self._inputs(request, context)
        self._check_reply_fits(request, context)
        edit = wire.request_from_proto(request)
        self._check(context, lambda: pipeline.check(edit))

        def work(progress: Callable) -> Iterator[pb.EditEvent]:
            result = pipeline.edit(audio, sr, edit, progress, part)
            reply = pb.EditResult(
                audio=None if result.audio is None else wire.audio_to_proto(result.audio, sr),
                frame_actions=result.frame_actions.tolist(),
                seconds=result.seconds,
                instruments=result.instruments,
                source=wire.source_to_proto(result.source),
                plan=wire.plan_to_proto(result.plan),
            )
            yield pb.EditEvent(result=reply)

        queued = lambda: pb.EditEvent(progress=pb.EditProgress(fraction=0.0, stage="queued"))  # noqa: E731
        yield from self._stream(context, work, queued)

    def InferActions(
        self, request: pb.InferActionsRequest, context: grpc.ServicerContext
    ) -> pb.InferActionsResponse:
        pipeline = self._pipeline(context)
        audio, sr, region, part = self._inputs(request, context)

        def work(progress: Callable) -> Iterator[pb.InferActionsResponse]:
            chunks = pipeline.infer_actions(audio, sr, region, part=part)
            yield pb.InferActionsResponse(chunks=[pb.InferredChunk(**c) for c in chunks])

        replies = [m for m in self._stream(context, work) if isinstance(m, pb.InferActionsResponse)]
        return replies[-1]

    def Explore(
        self, request: pb.ExploreRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.ExploreVariant]:
        pipeline = self._pipeline(context)
        audio, sr, _, part = self._inputs(request, context)
        self._check_reply_fits(request, context)
        explore = wire.request_from_proto(request)
        self._check(context, lambda: pipeline.check(explore, explore=True))

        def work(progress: Callable) -> Iterator[pb.ExploreVariant]:
            variants = pipeline.explore_renderings(audio, sr, explore, progress, part)
            total = len(explore.actions) or pipeline.bundle.num_actions
            for index, (action, rendering) in enumerate(variants):
                out = rendering.audio
                yield pb.ExploreVariant(
                    action=wire.action_to_proto(action),
                    audio=None if out is None else wire.audio_to_proto(out, sr),
                    index=index,
                    total=total,
                    source=wire.source_to_proto(rendering.source),
                    plan=wire.plan_to_proto(rendering.plan),
                )

        for message in self._stream(context, work):
            if isinstance(message, pb.ExploreVariant):
                yield message

    def GetSong(self, request: pb.SongQuery, context: grpc.ServicerContext) -> pb.SongStatus:
        return pb.SongStatus(key=request.key, known=self._pipeline(context).songs.has(request.key))

    def PutSong(
        self, request_iterator: Iterator[pb.SongPart], context: grpc.ServicerContext
    ) -> pb.SongStatus:
        """Take a song at the model rate for song-aware edits of stretches of it (engine.song_upload)."""
        songs = self._pipeline(context).songs
        try:
            song = receive(
                request_iterator,
                songs.bundle.sample_rate,
                songs.padded_length,
                songs.uploads,
                self.limits.max_song_seconds,
            )
        except (AudioError, SongRefused) as err:
            context.abort(*status_for(err))
        return pb.SongStatus(key=song.key, known=True)

    def IndexSong(self, request: pb.SongQuery, context: grpc.ServicerContext) -> Iterator[pb.IndexEvent]:
        """Index a sent song now, in the edits' queue, so that its first song-aware edit does not wait."""
        songs = self._pipeline(context).songs
        key = request.key
        if not KEY.fullmatch(key):
            context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"song key must be 32 lowercase hex digits (engine.song.song_key), got {key!r}",
            )
        missing = (
            f"song {key} is not on this engine (never sent, or evicted to make room): send it with PutSong, "
            "then call IndexSong again"
        )
        if not songs.has(key):
            context.abort(grpc.StatusCode.NOT_FOUND, missing)

        def work(progress: Callable) -> Iterator[pb.IndexEvent]:
            began = time.monotonic()
            try:
                _, cached = songs.index_uploaded(key, lambda fraction: progress(fraction, "index"))
            except SongMissing as err:  # evicted while this call waited for its slot
                raise NotFound(missing) from err
            done = pb.IndexDone(
                song=pb.SongStatus(key=key, known=True), built=not cached, seconds=time.monotonic() - began
            )
            yield pb.IndexEvent(done=done)

        yield from self._stream(
            context,
            work,
            queued=lambda: pb.IndexEvent(queued=pb.IndexQueued()),
            progressed=lambda fraction, _stage: pb.IndexEvent(progress=fraction),
        )
