"""Python client for the musegenie engine (scripts, the CLI and the OSC bridge use it).

    with EditorClient("127.0.0.1:50051") as engine:
        engine.wait_ready()
        result = engine.edit(audio, 44100, EditRequest((4.0, 6.0), actions=["a3"], seed=1))
        edited = result.audio

Audio is (C, N) float32 at any rate; actions and instruments are ids or names (`engine.request`).
`edit_file`, `explore_file` and `infer_actions_file` edit a file of any length in bounded memory: only the
region's window and (once per song) the song at the model's rate travel (engine.clip).
`prepare_file` has the engine index a song before its first song-aware edit, so that edit is as quick as
later ones (IndexSong; `engine.client_songs`).
Failures raise `EditorError` whose `code`
is the gRPC status name ("INVALID_ARGUMENT", "OUT_OF_RANGE", "RESOURCE_EXHAUSTED", "UNAUTHENTICATED",
"UNAVAILABLE", "DEADLINE_EXCEEDED", ...).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

import grpc
import numpy as np
from grpc_health.v1 import health_pb2, health_pb2_grpc

from engine import clip, wire
from engine.bundle import Action, resolve_id
from engine.client_songs import SongTransport
from engine.errors import EditorError
from engine.request import EditRequest, EditResult, Variant
from engine.song_render import Patch
from protos.musegenie.v1 import engine_pb2 as pb
from protos.musegenie.v1 import engine_pb2_grpc as pb_grpc

DEFAULT_TARGET = "127.0.0.1:50051"
MAX_ACTION_ID = 2**31  # action ids travel as int32
# Trailing metadata on a RESOURCE_EXHAUSTED that only means "no room right now" (queue or per-client limit
# full; nothing was done): milliseconds the engine suggests waiting. Too-large messages never carry it.
T = TypeVar("T")
RETRY_AFTER_KEY = "musegenie-retry-after-ms"
MAX_BACKOFF = 2.0  # seconds between retries of a capacity refusal, at most
# Bytes an Edit reply or Explore variant carries beside its audio (the same size as the request's): frame
# actions, source, instruments, framing; generous, so audio that passes `check_size` always fits.
REPLY_OVERHEAD = 64 << 10


class EditorClient(SongTransport):
    """One channel to an engine; thread-safe (gRPC channels are)."""

    def __init__(
        self,
        target: str = DEFAULT_TARGET,
        token: str | None = None,
        tls_ca: str | os.PathLike | bool | None = None,
        max_message_mb: int = 256,
        timeout: float | None = None,
        idle_timeout: float | None = None,
        busy_patience: float = 0.0,
    ) -> None:
        """
        Args:
            target: HOST:PORT of the engine.
            token: bearer token the server was started with (sent as `authorization` metadata).
            tls_ca: PEM file of the CA that signed the server certificate, or True for the system roots;
                None talks plaintext.
            max_message_mb: largest message either way (must fit the edited audio).
            timeout: default deadline in seconds for every call (None = no deadline).
            idle_timeout: an Edit or Explore fails DEADLINE_EXCEEDED after this many seconds without a
                message (progress, "queued", a variant, the result): a stopped or hung engine is noticed
                while a long edit that keeps progressing is not cut short. It is also the default
                deadline of GetInfo and InferActions. None = wait as long as `timeout` allows.
            busy_patience: seconds to keep retrying Edit, InferActions and Explore calls the engine refuses
                for lack of room (its queue or per-client limit), backing off up to MAX_BACKOFF; 0 = never.
        """
        self.target = target
        self.max_message_bytes = int(max_message_mb * wire.MiB)
        self.timeout = timeout
        self.idle_timeout = idle_timeout
        self.busy_patience = busy_patience
        size = self.max_message_bytes
        options = [("grpc.max_send_message_length", size), ("grpc.max_receive_message_length", size)]
        if tls_ca:
            roots = None if tls_ca is True else Path(tls_ca).read_bytes()
            self.channel = grpc.secure_channel(target, grpc.ssl_channel_credentials(roots), options=options)
        else:
            self.channel = grpc.insecure_channel(target, options=options)
        self._metadata = (("authorization", f"Bearer {token}"),) if token else ()
        self._stub = pb_grpc.EditorStub(self.channel)
        self._health = health_pb2_grpc.HealthStub(self.channel)
        self._info: pb.EngineInfo | None = None
        self._songs: dict[tuple, str] = {}  # a file's identity -> its song key (hashing it reads it all)
        self._song_rpcs = True  # False once an engine (an older one, a cluster gateway) lacks them

    def close(self) -> None:
        self.channel.close()

    def __enter__(self) -> EditorClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _kw(self, timeout: float | None, unary: bool = False) -> dict:
        if timeout is None:
            timeout = self.idle_timeout if unary and self.timeout is None else self.timeout
        return {"metadata": self._metadata, "timeout": timeout}

    def _retry_delay(self, err: grpc.RpcError, attempt: int, give_up_at: float) -> float | None:
        """Seconds to wait before trying a refused call again, or None to give up with the error."""
        if err.code() != grpc.StatusCode.RESOURCE_EXHAUSTED or not hasattr(err, "trailing_metadata"):
            return None
        hint = dict(err.trailing_metadata() or ()).get(RETRY_AFTER_KEY, "")
        if not hint.isdigit():
            return None
        delay = min(MAX_BACKOFF, max(int(hint) / 1000, 0.05 * 2**attempt)) * random.uniform(0.8, 1.2)
        return delay if time.monotonic() + delay < give_up_at else None

    def _retrying(self, call: Callable[[], T]) -> T:
        """`call()` again while the engine refuses it for lack of room, for up to `busy_patience` seconds."""
        give_up_at, attempt = time.monotonic() + self.busy_patience, 0
        while True:
            try:
                return call()
            except grpc.RpcError as err:
                delay = self._retry_delay(err, attempt, give_up_at)
                if delay is None:
                    raise EditorError.from_rpc(err) from err
            time.sleep(delay)
            attempt += 1

    def _watched(self, call) -> Iterator:
        """The messages of a server stream; with `idle_timeout`, the call is cancelled after that long
        without one and DEADLINE_EXCEEDED is raised."""
        if self.idle_timeout is None:
            yield from call
            return
        idle = self.idle_timeout
        last, finished, expired = [time.monotonic()], threading.Event(), threading.Event()

        def watch() -> None:
            while not finished.wait(min(1.0, idle / 4)):
                if time.monotonic() - last[0] > idle:
                    expired.set()
                    call.cancel()
                    return

        threading.Thread(target=watch, name="musegenie-idle", daemon=True).start()
        try:
            for message in call:
                last[0] = time.monotonic()
                yield message
                last[0] = time.monotonic()  # the caller's handling of a message is not the engine's silence
        except grpc.RpcError as err:
            if expired.is_set():
                raise EditorError(
                    "DEADLINE_EXCEEDED",
                    f"no word from the engine at {self.target} for {idle:g} s (stopped or hung?); "
                    "raise the idle timeout if its steps are that slow",
                ) from err
            raise
        finally:
            finished.set()

    # Health and info ------------------------------------------------------------------------------------
    def health(self, service: str = "", timeout: float = 5.0) -> str:
        """The health status name: "SERVING", "NOT_SERVING", ... (raises EditorError if unreachable)."""
        try:
            reply = self._health.Check(health_pb2.HealthCheckRequest(service=service), timeout=timeout)
        except grpc.RpcError as err:
            raise EditorError.from_rpc(err) from err
        return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Block until the engine reports SERVING (bundle loaded and warm); raise EditorError otherwise."""
        deadline = time.monotonic() + timeout
        last = "UNREACHABLE"
        while time.monotonic() < deadline:
            try:
                last = self.health(timeout=max(0.1, min(2.0, deadline - time.monotonic())))
                if last == "SERVING":
                    return
            except EditorError as err:
                last = err.code
            time.sleep(0.1)
        raise EditorError(
            "UNAVAILABLE", f"engine at {self.target} not ready after {timeout:g}s (last: {last})"
        )

    def info(self, timeout: float | None = None, refresh: bool = False) -> pb.EngineInfo:
        """Bundle, actions, providers, defaults and limits (cached after the first call)."""
        if self._info is None or refresh:
            try:
                self._info = self._stub.GetInfo(pb.GetInfoRequest(), **self._kw(timeout, unary=True))
            except grpc.RpcError as err:
                raise EditorError.from_rpc(err) from err
        return self._info

    def actions(self) -> list[Action]:
        return [wire.action_from_proto(a) for a in self.info().actions]

    def action_id(self, action: int | str) -> int:
        """An action id from an id, a digit string or a name (raises EditorError INVALID_ARGUMENT)."""
        names = [a.name for a in self.info().actions]
        try:  # any id an int32 wire field carries: the server, not a cached list, checks the range
            return resolve_id(action, names, "action", id_limit=MAX_ACTION_ID)
        except KeyError as err:
            raise EditorError("INVALID_ARGUMENT", err.args[0]) from err

    def instrument_name(self, instrument: int | str) -> str:
        """An instrument name from an id, a digit string or a name (raises EditorError INVALID_ARGUMENT)."""
        names = list(self.info().instruments)
        if not names:
            raise EditorError(
                "INVALID_ARGUMENT",
                f"the engine's bundle {self.info().bundle_name!r} was trained without instrument conditioning: "
                "leave instruments unset",
            )
        try:
            return names[resolve_id(instrument, names, "instrument")]
        except KeyError as err:
            raise EditorError("INVALID_ARGUMENT", err.args[0]) from err

    def check_size(
        self,
        channels: int,
        frames: int,
        sample_rate: int,
        source: str = "the audio",
        advice: str = "Edit a shorter stretch around the region (e.g. the region and 30 s each side)",
    ) -> None:
        """Raise EditorError RESOURCE_EXHAUSTED when audio of this shape cannot travel to the engine and back
        in one message (the smaller of this client's and the engine's limits), before it is read."""
        limit = self.max_message_bytes
        with contextlib.suppress(EditorError):  # an engine that cannot answer: the call itself says why
            limit = min(limit, self.info().limits.max_message_bytes or limit)
        need = channels * frames * wire.PCM_DTYPE.itemsize + REPLY_OVERHEAD
        if need > limit:
            most = (limit - REPLY_OVERHEAD) / (channels * wire.PCM_DTYPE.itemsize) / sample_rate
            raise EditorError(
                "RESOURCE_EXHAUSTED",
                f"{source} is {frames / sample_rate / 60:.1f} min of {channels}-channel audio at {sample_rate} "
                f"Hz: {need / wire.MiB:.0f} MiB each way, over the {limit / wire.MiB:g} MiB message limit "
                f"(at most {most / 60:.1f} min at this rate and channel count). {advice}, or raise "
                "--max-message-mb on the engine and the client",
            )

    def _resolved(self, request: EditRequest) -> EditRequest:
        """The request with action ids and instrument names, as the wire carries them."""
        instruments = request.instruments
        if instruments is not None:
            instruments = tuple(self.instrument_name(i) for i in instruments)
        return replace(
            request, actions=tuple(self.action_id(a) for a in request.actions), instruments=instruments
        )

    # Work ------------------------------------------------------------------------------------------------
    def edit(
        self,
        audio: np.ndarray,
        sample_rate: int,
        request: EditRequest,
        on_progress: Callable[[float, str], None] | None = None,
        timeout: float | None = None,
    ) -> EditResult:
        """Re-imagine `request.region` of (C, N) audio; the result holds the whole edited signal."""
        source = self._source(lambda: clip.ArraySource(audio, sample_rate))
        patch, result = self._edit(source, request, on_progress, timeout)
        return replace(result, audio=patch.applied(source.audio))

    def edit_file(
        self,
        path: str | os.PathLike,
        request: EditRequest,
        output: str | os.PathLike,
        on_progress: Callable[[float, str], None] | None = None,
        timeout: float | None = None,
    ) -> EditResult:
        """Edit a file of any length into `output` (a float WAV at its rate), reading only what the edit
        needs; the result's audio is None."""
        source = self._source(lambda: clip.FileSource(path))
        patch, result = self._edit(source, request, on_progress, timeout)
        clip.write_patched(source, output, patch)
        return replace(result, audio=None)

    def _edit(self, source, request, on_progress, timeout) -> tuple[Patch, EditResult]:
        request = self._resolved(request)
        for attempt in range(2):  # the engine may drop a song between its upload and the edit: send it again
            part, message = self._message(source, request, pb.EditRequest)
            try:
                result = self._edit_call(message, source.sample_rate, on_progress, timeout)
            except EditorError as err:
                if err.code != "FAILED_PRECONDITION" or part is None or not part.song or attempt:
                    raise
                continue
            return self._patch(source, part, result)
        raise AssertionError("unreachable")

    def _edit_call(self, message, sample_rate: int, on_progress, timeout) -> EditResult:
        def attempt() -> EditResult:
            for event in self._watched(self._stub.Edit(message, **self._kw(timeout))):
                if event.HasField("progress") and on_progress is not None:
                    on_progress(event.progress.fraction, event.progress.stage)
                elif event.HasField("result"):
                    r = event.result
                    edited = wire.audio_from_proto(r.audio, "engine reply")[0] if r.audio.pcm else None
                    return EditResult(
                        edited,
                        sample_rate,
                        np.asarray(r.frame_actions, np.int64),
                        tuple(r.instruments),
                        wire.source_from_proto(r.source),
                        r.seconds,
                        wire.plan_from_proto(r),
                    )
            raise EditorError("INTERNAL", "the engine closed the edit stream without a result")

        return self._retrying(attempt)

    def infer_actions(
        self, audio: np.ndarray, sample_rate: int, start: float, end: float, timeout: float | None = None
    ) -> list[dict]:
        """Per chunk of the region: {"start", "end", "action", "probabilities", "instruments"}."""
        source = self._source(lambda: clip.ArraySource(audio, sample_rate))
        return self._infer(source, start, end, timeout)

    def infer_actions_file(
        self, path: str | os.PathLike, start: float, end: float, timeout: float | None = None
    ) -> list[dict]:
        """`infer_actions` of a file of any length: only the region is read and sent."""
        return self._infer(self._source(lambda: clip.FileSource(path)), start, end, timeout)

    def _infer(self, source, start: float, end: float, timeout: float | None) -> list[dict]:
        part, audio = None, None
        if self._stretches():
            part, audio = self._stretch(source, EditRequest((start, end)), context=False)
        request = pb.InferActionsRequest(
            audio=wire.audio_to_proto(self._whole(source) if audio is None else audio, source.sample_rate),
            region=pb.Region(start=start, end=end),
            stretch=wire.part_to_proto(part),
        )
        reply = self._retrying(lambda: self._stub.InferActions(request, **self._kw(timeout, unary=True)))
        return [
            {
                "start": c.start,
                "end": c.end,
                "action": c.action,
                "probabilities": list(c.probabilities),
                "instruments": list(c.instruments),
            }
            for c in reply.chunks
        ]

    def explore(
        self, audio: np.ndarray, sample_rate: int, request: EditRequest, timeout: float | None = None
    ) -> Iterator[Variant]:
        """Yield Variant(action, edited (C, N) audio, source) per action of the request (all when it names
        none), as the engine finishes each."""
        source = self._source(lambda: clip.ArraySource(audio, sample_rate))
        for action, patch, where in self._explore(source, request, timeout):
            yield Variant(action, patch.applied(source.audio), where)

    def explore_file(
        self,
        path: str | os.PathLike,
        request: EditRequest,
        output: Callable[[Action], str | os.PathLike],
        timeout: float | None = None,
    ) -> Iterator[tuple[Action, Path, object]]:
        """`explore` of a file of any length: yield (action, the file written at `output(action)`, source)."""
        source = self._source(lambda: clip.FileSource(path))
        for action, patch, where in self._explore(source, request, timeout):
            yield action, clip.write_patched(source, output(action), patch), where

    def _explore(self, source, request: EditRequest, timeout: float | None) -> Iterator[tuple]:
        part, message = self._message(source, self._resolved(request), pb.ExploreRequest)

        def opened() -> tuple[Iterator, list]:
            """The stream and its first variant (a capacity refusal comes before any, so a retry
            repeats nothing)."""
            stream = self._watched(self._stub.Explore(message, **self._kw(timeout)))
            return stream, list(itertools.islice(stream, 1))

        stream, first = self._retrying(opened)
        try:
            for variant in itertools.chain(first, stream):
                edited = (
                    wire.audio_from_proto(variant.audio, "engine reply")[0] if variant.audio.pcm else None
                )
                action = wire.action_from_proto(variant.action)
                result = EditResult(
                    edited, source.sample_rate, np.zeros(0, np.int64),
                    source=wire.source_from_proto(variant.source), plan=wire.plan_from_proto(variant),
                )  # fmt: skip
                patch, result = self._patch(source, part, result)
                yield action, patch, result.source
        except grpc.RpcError as err:
            raise EditorError.from_rpc(err) from err
