"""The gRPC edit server: Editor service + grpc.health.v1 + reflection on one port.

`serve(bundle_dir, ServerConfig(...), RuntimeConfig(...))` blocks until SIGTERM/SIGINT, then stops taking
requests and gives in-flight edits `grace_seconds` to finish. `start_server(...)` returns a running
`EditorServer` for tests, benchmarks and the OSC bridge (`server.target`, `server.stop()`).

The port opens at once with health NOT_SERVING and Editor calls answering UNAVAILABLE; once the bundle is
loaded and warm, health turns SERVING. Binds 127.0.0.1 unless told otherwise; `token` requires
`authorization: Bearer TOKEN` metadata on every call except health checks; `tls_cert`/`tls_key` serve TLS.
"""

from __future__ import annotations

import collections
import hmac
import ipaddress
import logging
import signal
import threading
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path

import grpc
from google.protobuf.message import DecodeError
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from engine.bundle import load_bundle
from engine.client import RETRY_AFTER_KEY
from engine.pipeline import Pipeline
from engine.runtime import Runtime, RuntimeConfig
from engine.service import RETRY_AFTER_MS, EditorService, Limits
from engine.wire import MiB
from protos.musegenie.v1 import engine_pb2 as pb
from protos.musegenie.v1 import engine_pb2_grpc as pb_grpc

log = logging.getLogger(__name__)

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["Editor"].full_name  # "musegenie.v1.Editor"
HEALTH_PREFIX = "/grpc.health.v1.Health/"
DEFAULT_PORT = 50051
SPARE_CALLS = 8  # Editor calls in flight beyond the admitted ones: refusals, replies on their way out
RESERVED_THREADS = 8  # threads no Editor call may take: health, reflection, refusals
# The calls that compute (and carry audio): bounded in flight. GetInfo and health are cheap and always answer.
LIMITED_METHODS = {f"/{SERVICE_NAME}/{name}" for name in ("Edit", "InferActions", "Explore", "IndexSong")}


@dataclass
class ServerConfig:
    host: str = "127.0.0.1"  # address to bind; 0.0.0.0 opens it to the network (add --token and TLS)
    port: int = DEFAULT_PORT  # TCP port (0 picks a free one)
    max_message_mb: int = 256  # largest message either way; audio is inline (1 min 44.1k stereo = 21 MB)
    max_concurrent: int = 1  # edits computed at once (each already uses every onnxruntime thread)
    max_queue: int = 8  # edits waiting for a slot; more are refused with RESOURCE_EXHAUSTED
    max_region_seconds: float = 120.0  # longest region one request may edit
    max_song_minutes: float = 120.0  # longest song a client sends for song-aware edits (~350 MB per hour)
    grace_seconds: float = 30.0  # on SIGTERM, in-flight edits get this long to finish
    token: str | None = None  # bearer token every client must send (authorization metadata); unset = open
    tls_cert: str | None = None  # PEM certificate chain: serve TLS instead of plaintext
    tls_key: str | None = None  # PEM private key for the certificate
    max_per_peer: int = 4  # Editor calls in flight from one client host (0 = no limit); more are refused
    reply_timeout_seconds: float = 120.0  # a reply unread for this long is cancelled (raise on slow links)
    insecure: bool = False  # allow a non-loopback --host without --token (anyone on the network may edit)


class TokenInterceptor(grpc.ServerInterceptor):
    """Refuse calls without `authorization: Bearer TOKEN` (health checks stay open for probes)."""

    def __init__(self, token: str) -> None:
        self._expected = f"Bearer {token}".encode()

    def intercept_service(self, continuation, handler_call_details):
        if handler_call_details.method.startswith(HEALTH_PREFIX):
            return continuation(handler_call_details)
        sent = dict(handler_call_details.invocation_metadata).get("authorization", "")
        if hmac.compare_digest(sent.encode() if isinstance(sent, str) else sent, self._expected):
            return continuation(handler_call_details)
        handler = continuation(handler_call_details)
        if handler is None:
            return None

        def deny(request_or_iterator, context):
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong bearer token")

        if handler.request_streaming and handler.response_streaming:
            return grpc.stream_stream_rpc_method_handler(deny)
        if handler.request_streaming:
            return grpc.stream_unary_rpc_method_handler(deny)
        if handler.response_streaming:
            return grpc.unary_stream_rpc_method_handler(deny)
        return grpc.unary_unary_rpc_method_handler(deny)


class Undecodable:
    """Stands in for a request whose bytes are not the declared protobuf message."""

    def __init__(self, error: Exception) -> None:
        self.error = error


def _lenient(deserialize: Callable[[bytes], object] | None) -> Callable[[bytes], object] | None:
    """A deserializer that returns Undecodable instead of failing (grpcio would answer INTERNAL)."""
    if deserialize is None:
        return None

    def decode(data: bytes) -> object:
        try:
            return deserialize(data)
        except (DecodeError, ValueError) as err:
            return Undecodable(err)

    return decode


def peer_host(peer: str) -> str:
    """ "ipv4:127.0.0.1:5555" -> "ipv4:127.0.0.1", "ipv6:[::1]:5555" -> "ipv6:[::1]" (the port changes
    with every connection, so fairness is per host)."""
    return peer.rsplit(":", 1)[0] if peer.startswith(("ipv4:", "ipv6:")) else peer


class CallGuard(grpc.ServerInterceptor):
    """Every unary-request method answers undecodable bytes with INVALID_ARGUMENT; the computing calls
    (LIMITED_METHODS) are bounded in flight, in all (`max_calls`) and per client host (`max_per_peer`,
    0 = unbounded), and refused beyond with RESOURCE_EXHAUSTED. GetInfo, health and reflection never are."""

    def __init__(self, max_calls: int, max_per_peer: int) -> None:
        self.max_calls = max_calls
        self.max_per_peer = max_per_peer
        self._lock = threading.Lock()
        self._by_peer: collections.Counter[str] = collections.Counter()

    def in_flight(self) -> int:
        with self._lock:
            return sum(self._by_peer.values())

    def _enter(self, peer: str) -> str | None:
        """Count a call in; the reason it may not run, or None."""
        with self._lock:
            if sum(self._by_peer.values()) >= self.max_calls:
                return f"server busy: {self.max_calls} calls already in flight; retry later"
            if self.max_per_peer and self._by_peer[peer] >= self.max_per_peer:
                return (
                    f"{self.max_per_peer} calls from {peer} already in flight (this server's per-client "
                    "limit): wait for one to finish"
                )
            self._by_peer[peer] += 1
            return None

    def _leave(self, peer: str) -> None:
        with self._lock:
            self._by_peer[peer] -= 1
            if self._by_peer[peer] <= 0:
                del self._by_peer[peer]

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        if handler is None or handler.request_streaming:
            return handler
        limited = handler_call_details.method in LIMITED_METHODS
        kind = "unary_stream" if handler.response_streaming else "unary_unary"
        behavior = getattr(handler, kind)
        name = handler_call_details.method

        def guarded(request, context):
            if isinstance(request, Undecodable):
                context.abort(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"{name}: the request bytes are not a valid protobuf message ({request.error})",
                )
            if limited:
                peer = peer_host(context.peer())
                refusal = self._enter(peer)
                if refusal is not None:
                    context.set_trailing_metadata(((RETRY_AFTER_KEY, str(RETRY_AFTER_MS)),))
                    context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, refusal)
                left = threading.Event()

                def leave() -> None:
                    if not left.is_set():
                        left.set()
                        self._leave(peer)

                if not context.add_callback(leave):  # already over
                    leave()
            return behavior(request, context)

        return handler._replace(
            **{kind: guarded, "request_deserializer": _lenient(handler.request_deserializer)}
        )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_exposure(config: ServerConfig) -> None:
    """Refuse to open the engine to the network without a token unless told to; warn about plaintext."""
    if is_loopback(config.host):
        return
    if not config.token and not config.insecure:
        raise ValueError(
            f"--host {config.host} opens the engine to the network: set --token (or $MUSEGENIE_TOKEN), "
            "ideally with --tls-cert/--tls-key, or pass --insecure to serve anyone who can reach it"
        )
    if not config.token:
        log.warning("serving %s without a token: anyone who can reach this port can edit", config.host)
    elif not config.tls_cert:
        log.warning("serving %s without TLS: the token and the audio cross the network in clear", config.host)


def server_options(max_message_mb: int) -> list[tuple[str, int]]:
    size = int(max_message_mb * MiB)
    return [
        ("grpc.max_send_message_length", size),
        ("grpc.max_receive_message_length", size),
        # gRPC sets SO_REUSEPORT by default: a second server on the same port would start and take a
        # share of the connections. One port, one server: the second bind fails instead.
        ("grpc.so_reuseport", 0),
    ]


class EditorServer:
    """A started gRPC server; `load()` (or a pipeline passed in) makes it SERVING."""

    def __init__(
        self,
        config: ServerConfig,
        pipeline: Pipeline | None = None,
        service: pb_grpc.EditorServicer | None = None,
    ) -> None:
        """`service` replaces the servicer of a pipeline in this process (engine.cluster's forwards to
        Ray Serve replicas); token, limits, health and reflection stay this server's."""
        self.config = config
        limits = Limits(
            max_concurrent=config.max_concurrent,
            max_queue=config.max_queue,
            max_region_seconds=config.max_region_seconds,
            max_message_bytes=int(config.max_message_mb * MiB),
            max_song_seconds=config.max_song_minutes * 60,
        )
        check_exposure(config)
        self.service = service or EditorService(limits, reply_timeout=config.reply_timeout_seconds)
        self.health = health.HealthServicer()
        # Editor calls in flight: every admitted one, the queue's refusals and replies being delivered.
        # The threads beyond them are kept for health checks, GetInfo and quick refusals, so a server
        # full of slow or unread edits still answers its probes. gRPC refuses anything past
        # maximum_concurrent_rpcs instead of queueing without bound.
        max_calls = config.max_concurrent + config.max_queue + SPARE_CALLS
        workers = max_calls + RESERVED_THREADS
        self.guard = CallGuard(max_calls, config.max_per_peer)
        interceptors = [self.guard]
        if config.token:
            interceptors.insert(0, TokenInterceptor(config.token))
        self.server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="musegenie-rpc"),
            interceptors=interceptors,
            options=server_options(config.max_message_mb),
            maximum_concurrent_rpcs=4 * workers,
        )
        pb_grpc.add_EditorServicer_to_server(self.service, self.server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        reflection.enable_server_reflection(
            (SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), self.server
        )
        self._set_health(health_pb2.HealthCheckResponse.NOT_SERVING)
        self.port = self._bind()
        self.stopped = threading.Event()
        if pipeline is not None:
            self.set_pipeline(pipeline)

    def _bind(self) -> int:
        c = self.config
        host = f"[{c.host}]" if ":" in c.host and not c.host.startswith("[") else c.host
        address = f"{host}:{c.port}"
        if bool(c.tls_cert) != bool(c.tls_key):
            raise ValueError("TLS needs both a certificate and a key")
        try:
            if c.tls_cert:
                credentials = grpc.ssl_server_credentials(
                    [(Path(c.tls_key).read_bytes(), Path(c.tls_cert).read_bytes())]
                )
                port = self.server.add_secure_port(address, credentials)
            else:
                port = self.server.add_insecure_port(address)
        except RuntimeError:  # grpcio's words for a failed bind ("Failed to bind to address")
            port = 0
        if port == 0:
            raise OSError(
                f"cannot listen on {address}: the port is taken (another `musegenie serve`?) or the "
                "address is not one of this machine's; stop the other server or pick another --port"
            )
        return port

    @property
    def target(self) -> str:
        host = "127.0.0.1" if self.config.host in ("0.0.0.0", "") else self.config.host
        host = (
            "[::1]" if host == "::" else (f"[{host}]" if ":" in host and not host.startswith("[") else host)
        )
        return f"{host}:{self.port}"

    def _set_health(self, status: int) -> None:
        for name in ("", SERVICE_NAME):
            self.health.set(name, status)

    def start(self) -> EditorServer:
        self.server.start()
        scheme = "TLS" if self.config.tls_cert else "plaintext"
        log.info(
            "listening on %s (%s%s)", self.target, scheme, ", token required" if self.config.token else ""
        )
        return self

    def set_pipeline(self, pipeline: Pipeline) -> None:
        self.service.set_pipeline(pipeline)
        self.set_serving(f"bundle {pipeline.bundle.name} with {pipeline.bundle.num_actions} actions")

    def set_serving(self, what: str) -> None:
        """Health turns SERVING: the servicer can answer."""
        self._set_health(health_pb2.HealthCheckResponse.SERVING)
        log.info("serving %s", what)

    def load(
        self, bundle_dir: str | Path, runtime_config: RuntimeConfig | None = None, verify: bool = True
    ) -> Pipeline:
        """Load, verify and warm up a bundle, then report SERVING."""
        pipeline = Pipeline(Runtime(load_bundle(bundle_dir, verify=verify), runtime_config))
        self.set_pipeline(pipeline)
        return pipeline

    def stop(self, grace: float | None = None) -> None:
        """Refuse new calls, let in-flight ones finish within `grace` seconds, then cancel the rest."""
        grace = self.config.grace_seconds if grace is None else grace
        self.health.enter_graceful_shutdown()
        self.server.stop(grace).wait()
        self.stopped.set()
        log.info("server stopped")

    def wait(self) -> None:
        self.server.wait_for_termination()


def start_server(
    bundle_dir: str | Path | None = None,
    config: ServerConfig | None = None,
    runtime_config: RuntimeConfig | None = None,
    pipeline: Pipeline | None = None,
) -> EditorServer:
    """Start a server on a bundle folder (loaded before returning) or on an already-built pipeline."""
    server = EditorServer(config or ServerConfig(), pipeline).start()
    if pipeline is None and bundle_dir is not None:
        try:
            server.load(bundle_dir, runtime_config)
        except BaseException:
            server.stop(0)
            raise
    return server


def serve(bundle_dir: str | Path, config: ServerConfig, runtime_config: RuntimeConfig | None = None) -> None:
    """Run until SIGTERM or SIGINT, then shut down gracefully."""
    server = EditorServer(config).start()

    def on_signal(signum: int, frame) -> None:
        log.info(
            "%s: finishing in-flight edits (up to %gs)", signal.Signals(signum).name, config.grace_seconds
        )
        threading.Thread(target=server.stop, name="musegenie-shutdown", daemon=True).start()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        try:
            server.load(bundle_dir, runtime_config)
        except BaseException:
            server.stop(0)
            raise
        while not server.stopped.wait(0.5):  # short waits keep the main thread responsive to signals
            pass
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
