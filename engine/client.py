"""Python client for the musegenie engine (scripts, the CLI and the OSC bridge use it).

    with EditorClient("127.0.0.1:50051") as engine:
        engine.wait_ready()
        edited = engine.edit(audio, 44100, start=4.0, end=6.0, actions=["a3"], seed=1)

Audio is (C, N) float32 at any rate; actions are ids or names. Failures raise `EditorError` whose `code`
is the gRPC status name ("INVALID_ARGUMENT", "OUT_OF_RANGE", "RESOURCE_EXHAUSTED", "UNAUTHENTICATED",
"UNAVAILABLE", "DEADLINE_EXCEEDED", ...).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import grpc
import numpy as np
from grpc_health.v1 import health_pb2, health_pb2_grpc

from engine import wire
from engine.bundle import Action
from protos.musegenie.v1 import engine_pb2 as pb
from protos.musegenie.v1 import engine_pb2_grpc as pb_grpc

DEFAULT_TARGET = "127.0.0.1:50051"
MAX_ACTION_ID = 2**31  # action ids travel as int32


class EditorError(Exception):
    """A call the engine refused or could not finish; `code` is the gRPC status name."""

    def __init__(self, code: str, details: str) -> None:
        super().__init__(f"{code}: {details}")
        self.code = code
        self.details = details

    @classmethod
    def from_rpc(cls, err: grpc.RpcError) -> EditorError:
        return cls(err.code().name, err.details() or "")


class EditorClient:
    """One channel to an engine; thread-safe (gRPC channels are)."""

    def __init__(
        self,
        target: str = DEFAULT_TARGET,
        token: str | None = None,
        tls_ca: str | os.PathLike | bool | None = None,
        max_message_mb: int = 256,
        timeout: float | None = None,
    ) -> None:
        """
        Args:
            target: HOST:PORT of the engine.
            token: bearer token the server was started with (sent as `authorization` metadata).
            tls_ca: PEM file of the CA that signed the server certificate, or True for the system roots;
                None talks plaintext.
            max_message_mb: largest message either way (must fit the edited audio).
            timeout: default deadline in seconds for every call (None = no deadline).
        """
        self.target = target
        self.timeout = timeout
        size = int(max_message_mb * wire.MiB)
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

    def close(self) -> None:
        self.channel.close()

    def __enter__(self) -> EditorClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _kw(self, timeout: float | None) -> dict:
        return {"metadata": self._metadata, "timeout": self.timeout if timeout is None else timeout}

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
                self._info = self._stub.GetInfo(pb.GetInfoRequest(), **self._kw(timeout))
            except grpc.RpcError as err:
                raise EditorError.from_rpc(err) from err
        return self._info

    def actions(self) -> list[Action]:
        return [Action(a.id, a.name, a.description) for a in self.info().actions]

    def action_id(self, action: int | str) -> int:
        """An action id from an id, a digit string or a name (raises EditorError INVALID_ARGUMENT)."""
        if isinstance(action, (int, np.integer)) or (isinstance(action, str) and action.isdigit()):
            if not 0 <= int(action) < MAX_ACTION_ID:  # the wire field is an int32: no id can be larger
                count = len(self.info().actions)
                raise EditorError("INVALID_ARGUMENT", f"unknown action {action} (ids are 0..{count - 1})")
            return int(action)  # the server checks the range
        for a in self.info().actions:
            if a.name == action:
                return a.id
        names = ", ".join(a.name for a in self.info().actions)
        raise EditorError("INVALID_ARGUMENT", f"unknown action {action!r} (known: {names})")

    # Work ------------------------------------------------------------------------------------------------
    def edit_with_actions(
        self,
        audio: np.ndarray,
        sample_rate: int,
        start: float,
        end: float,
        actions: Sequence[int | str],
        steps: int | None = None,
        guidance: float | None = None,
        seed: int = 0,
        on_progress: Callable[[float, str], None] | None = None,
        context_seconds: float | None = None,
        decoder_steps: int | None = None,
        timeout: float | None = None,
    ) -> tuple[np.ndarray, list[int]]:
        """`edit`, also returning the action id the engine used for each latent frame of the region."""
        request = pb.EditRequest(
            audio=wire.audio_to_proto(audio, sample_rate),
            region=pb.Region(start=start, end=end),
            actions=[self.action_id(a) for a in actions],
            params=wire.params_to_proto(steps, guidance, seed, context_seconds, decoder_steps),
        )
        try:
            for event in self._stub.Edit(request, **self._kw(timeout)):
                if event.HasField("progress") and on_progress is not None:
                    on_progress(event.progress.fraction, event.progress.stage)
                elif event.HasField("result"):
                    edited, _ = wire.audio_from_proto(event.result.audio, "engine reply")
                    return edited, list(event.result.frame_actions)
        except grpc.RpcError as err:
            raise EditorError.from_rpc(err) from err
        raise EditorError("INTERNAL", "the engine closed the edit stream without a result")

    def edit(
        self,
        audio: np.ndarray,
        sample_rate: int,
        start: float,
        end: float,
        actions: Sequence[int | str],
        steps: int | None = None,
        guidance: float | None = None,
        seed: int = 0,
        on_progress: Callable[[float, str], None] | None = None,
        context_seconds: float | None = None,
        decoder_steps: int | None = None,
        timeout: float | None = None,
    ) -> np.ndarray:
        """Re-imagine [start, end) seconds of (C, N) audio; returns the whole edited (C, N) float32 signal."""
        return self.edit_with_actions(
            audio, sample_rate, start, end, actions, steps, guidance, seed, on_progress,
            context_seconds, decoder_steps, timeout,
        )[0]  # fmt: skip

    def infer_actions(
        self, audio: np.ndarray, sample_rate: int, start: float, end: float, timeout: float | None = None
    ) -> list[dict]:
        """Per chunk of the region: {"start", "end", "action", "probabilities"} (seconds, id, list)."""
        request = pb.InferActionsRequest(
            audio=wire.audio_to_proto(audio, sample_rate), region=pb.Region(start=start, end=end)
        )
        try:
            reply = self._stub.InferActions(request, **self._kw(timeout))
        except grpc.RpcError as err:
            raise EditorError.from_rpc(err) from err
        return [
            {"start": c.start, "end": c.end, "action": c.action, "probabilities": list(c.probabilities)}
            for c in reply.chunks
        ]

    def explore(
        self,
        audio: np.ndarray,
        sample_rate: int,
        start: float,
        end: float,
        actions: Sequence[int | str] | None = None,
        steps: int | None = None,
        guidance: float | None = None,
        seed: int = 0,
        context_seconds: float | None = None,
        decoder_steps: int | None = None,
        timeout: float | None = None,
    ) -> Iterator[tuple[Action, np.ndarray]]:
        """Yield (action, edited (C, N) audio) for each action (all by default) as the engine finishes it."""
        request = pb.ExploreRequest(
            audio=wire.audio_to_proto(audio, sample_rate),
            region=pb.Region(start=start, end=end),
            actions=[self.action_id(a) for a in actions or ()],
            params=wire.params_to_proto(steps, guidance, seed, context_seconds, decoder_steps),
        )
        try:
            for variant in self._stub.Explore(request, **self._kw(timeout)):
                edited, _ = wire.audio_from_proto(variant.audio, "engine reply")
                yield Action(variant.action.id, variant.action.name, variant.action.description), edited
        except grpc.RpcError as err:
            raise EditorError.from_rpc(err) from err
