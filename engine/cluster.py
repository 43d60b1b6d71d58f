"""The engine as a Ray Serve application: edit replicas across GPU boxes behind the same gRPC API.

    musegenie serve --ray                    # a local Ray cluster on this machine
    musegenie serve --ray 10.0.0.1:6379      # a running cluster (`ray start --head`, workers `--address`)

Two deployments (docs/deploy.md):

- `EditorReplica`, the engine: one bundle loaded per replica (`num_gpus` per replica, fractions allowed,
  or CPU threads), a fixed count or autoscaled on ongoing requests. Each replica is the single-process
  engine's `EditorService` (validation, errors, queue) on a pipeline whose per-step graphs are batched
  (`engine.batching`): the edits a replica computes at once share their dynamics and decoder calls.
- `Gateway`, the front door: the project's own gRPC server (`engine.server.EditorServer`: the
  `musegenie.v1.Editor` API, grpc.health.v1, reflection, the bearer token, per-client limits, TLS, the
  same message limits), whose servicer forwards each call to a replica through a Serve deployment handle
  (Serve picks the least busy replica, restarts dead ones and scales). `musegenie edit --engine`, the OSC
  bridge and the Live device talk to it unchanged. It runs on the node that started the application
  (the head node for an application deployed from a config file, e.g. by KubeRay).

Errors keep their codes: a replica's refusal travels back as its status; a replica lost mid-call (a box
gone, a process killed) ends that call UNAVAILABLE, which a client may retry at once: the next call goes
to a live replica while Serve replaces the lost one.

Song-aware edits keep working across replicas: a replica's song index (engine.song.SongCache) is keyed by
the content hash of the audio the request carries and built from that audio, so a replica that has not
seen the song builds it, and no replica can answer from another song's index.

Ray is the optional `cluster` extra; nothing else in the engine imports this module.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import tempfile
import threading
import time
import typing
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import asdict, fields, replace
from pathlib import Path

import grpc
import ray
from ray import serve
from ray.exceptions import RayError
from ray.serve.exceptions import DeploymentUnavailableError

from engine.batching import BatchConfig
from engine.cli_args import base_type
from engine.cluster_config import ClusterConfig
from engine.runtime import RuntimeConfig
from engine.server import EditorServer, ServerConfig
from protos.musegenie.v1 import engine_pb2 as pb
from protos.musegenie.v1 import engine_pb2_grpc as pb_grpc

log = logging.getLogger(__name__)

APP_NAME = "musegenie"
REPLICA = "EditorReplica"
# Editor methods: (request type, whether the reply streams).
METHODS = {
    "GetInfo": (pb.GetInfoRequest, False),
    "Edit": (pb.EditRequest, True),
    "InferActions": (pb.InferActionsRequest, False),
    "Explore": (pb.ExploreRequest, True),
}


def bundle_files(folder: str | Path) -> dict[str, bytes]:
    """Every file of a bundle folder by relative path (the cache/ of TensorRT engines is per machine)."""
    root = Path(folder)
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.relative_to(root).parts[0] != "cache"
    }


def unpack_bundle(files: dict[str, bytes]) -> Path:
    """Write shipped bundle files into a fresh local folder; returns it."""
    root = Path(tempfile.mkdtemp(prefix="musegenie-bundle-"))
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


class Refusal(Exception):
    """A status the servicer ended a call with inside a replica (what `context.abort` raises there)."""

    def __init__(self, code: grpc.StatusCode, details: str, trailing: tuple) -> None:
        super().__init__(f"{code.name}: {details}")
        self.code, self.details, self.trailing = code, details, trailing


class ReplicaContext:
    """The part of grpc.ServicerContext `EditorService` uses, inside a replica: the client's own context
    lives in the gateway, which cancels this one when the client goes."""

    def __init__(self) -> None:
        self._cancelled = threading.Event()
        self.trailing: tuple = ()

    def is_active(self) -> bool:
        return not self._cancelled.is_set()

    def cancel(self) -> None:
        self._cancelled.set()

    def set_trailing_metadata(self, metadata) -> None:
        self.trailing = tuple(metadata)

    def abort(self, code: grpc.StatusCode, details: str):
        raise Refusal(code, details, self.trailing)


class EditorReplica:
    """One engine: a bundle, a batched pipeline and the single-process servicer (validation, queue)."""

    def __init__(self, bundle: str | list, runtime: dict, batch: dict, server: dict) -> None:
        from engine.batching import install
        from engine.bundle import load_bundle
        from engine.pipeline import Pipeline
        from engine.runtime import Runtime
        from engine.service import EditorService, Limits

        shipped = isinstance(bundle, list)  # [ObjectRef] of bundle_files: in the list, Ray leaves it a ref
        folder = unpack_bundle(ray.get(bundle[0])) if shipped else Path(bundle)
        self._shipped = folder if shipped else None
        batching = BatchConfig(**batch)
        pipeline = Pipeline(install(Runtime(load_bundle(folder), RuntimeConfig(**runtime)), batching))
        config = ServerConfig(**server)
        limits = Limits(
            max_concurrent=batching.max_batch,  # computed together, their steps batched
            max_queue=config.max_queue,
            max_region_seconds=config.max_region_seconds,
            max_message_bytes=int(config.max_message_mb * (1 << 20)),
        )
        self.service = EditorService(limits, pipeline, reply_timeout=config.reply_timeout_seconds)
        log.info("replica %d serving %s", os.getpid(), pipeline.bundle.name)

    def __del__(self) -> None:
        if getattr(self, "_shipped", None) is not None:
            shutil.rmtree(self._shipped, ignore_errors=True)

    def pid(self) -> int:
        return os.getpid()

    async def call(self, method: str, payload: bytes) -> AsyncIterator[tuple]:
        """Run one Editor call; yields ("message", reply bytes) ... and at most one ("abort", code name,
        details, trailing metadata). Cancelling the iteration (the client left) stops the work at its
        next sampling step."""
        request_type, streaming = METHODS[method]
        context = ReplicaContext()
        loop = asyncio.get_running_loop()
        items: asyncio.Queue = asyncio.Queue()
        put = lambda item: loop.call_soon_threadsafe(items.put_nowait, item)  # noqa: E731

        def produce() -> None:
            try:
                reply = getattr(self.service, method)(request_type.FromString(payload), context)
                for message in reply if streaming else [reply]:
                    put(("message", message.SerializeToString()))
                put(("end",))
            except Refusal as r:
                put(("abort", r.code.name, r.details, r.trailing))
            except BaseException as err:  # noqa: BLE001 - every failure must reach the client as a status
                log.error("%s failed", method, exc_info=err)
                put(("abort", "INTERNAL", f"internal error: {type(err).__name__}: {err}", ()))

        threading.Thread(target=produce, name=f"musegenie-{method}", daemon=True).start()
        try:
            while True:
                item = await items.get()
                if item[0] == "end":
                    return
                yield item
                if item[0] == "abort":
                    return
        finally:
            context.cancel()  # no-op when done; else the edit stops at its next step


LOST = (RayError, DeploymentUnavailableError)  # a replica died, its box went away, or none is running


class ClusterService(pb_grpc.EditorServicer):
    """The gateway's servicer: each call forwarded to a replica through a Serve deployment handle."""

    def __init__(self, handle, replicas: Callable[[], int]) -> None:
        self.handle = handle
        self.replicas = replicas

    def _forward(self, method: str, request, context: grpc.ServicerContext) -> Iterator[bytes]:
        stream = self.handle.options(stream=True).call.remote(method, request.SerializeToString())
        context.add_callback(stream.cancel)
        try:
            for item in stream:
                if item[0] == "message":
                    yield item[1]
                    continue
                _, code, details, trailing = item
                if trailing:
                    context.set_trailing_metadata(trailing)
                context.abort(grpc.StatusCode[code], details)
        except LOST as err:
            if not context.is_active():
                return  # the client left; the status no longer reaches anyone
            context.abort(
                grpc.StatusCode.UNAVAILABLE,
                f"the engine replica serving this call was lost ({type(err).__name__}); retry: the cluster "
                "sends it to a live replica and replaces the lost one",
            )

    def GetInfo(self, request, context):
        info = pb.EngineInfo.FromString([*self._forward("GetInfo", request, context)][-1])
        info.replicas = self.replicas()
        return info

    def Edit(self, request, context):
        for data in self._forward("Edit", request, context):
            yield pb.EditEvent.FromString(data)

    def InferActions(self, request, context):
        return pb.InferActionsResponse.FromString([*self._forward("InferActions", request, context)][-1])

    def Explore(self, request, context):
        for data in self._forward("Explore", request, context):
            yield pb.ExploreVariant.FromString(data)

    def IndexSong(self, request, context):
        # GetSong and PutSong are not served here either (a replica's songs are its own): clients send whole
        # files, and each replica indexes a song on its first song-aware edit of it.
        context.abort(
            grpc.StatusCode.UNIMPLEMENTED,
            "IndexSong: a cluster gateway keeps no songs (no GetSong/PutSong); each replica indexes a song on "
            "its first song-aware edit, so there is nothing to prepare: send the edit",
        )


def running_replicas(app: str = APP_NAME) -> int:
    """Engine replicas Serve reports RUNNING."""
    status = serve.status().applications.get(app)
    if status is None or REPLICA not in status.deployments:
        return 0
    return status.deployments[REPLICA].replica_states.get("RUNNING", 0)


class Gateway:
    """The gRPC front door: engine.server's EditorServer with ClusterService; SERVING once a replica is."""

    def __init__(self, editor, server: dict) -> None:
        from engine.commands.editor_args import TOKEN_ENV

        self.counted = (0.0, 0)
        config = ServerConfig(**server)
        if config.token is None and os.environ.get(TOKEN_ENV):  # a Secret in the pod (deploy/), not a config
            config = replace(config, token=os.environ[TOKEN_ENV])
        self.server = EditorServer(config, service=ClusterService(editor, self._replicas))
        self.server.start()
        threading.Thread(target=self._ready, args=(editor,), daemon=True).start()

    def _replicas(self) -> int:
        at, count = self.counted
        if time.monotonic() - at > 1.0:  # GetInfo may be polled; ask the controller at most once a second
            self.counted = (time.monotonic(), count := running_replicas())
        return count

    def _ready(self, editor) -> None:
        while True:
            try:
                stream = editor.options(stream=True).call.remote("GetInfo", b"")
                info = pb.EngineInfo.FromString(next(iter(stream))[1])
                break
            except LOST:
                time.sleep(1.0)
        self.server.set_serving(f"{info.bundle_name} on a Ray cluster")

    def target(self) -> str:
        return self.server.target

    def check_health(self) -> None:
        if self.server.stopped.is_set():
            raise RuntimeError("the gRPC server stopped")

    def __del__(self) -> None:
        if getattr(self, "server", None) is not None and not self.server.stopped.is_set():
            self.server.stop(grace=5.0)


def build(
    bundle: str | Path,
    cluster: ClusterConfig,
    server: ServerConfig,
    runtime: RuntimeConfig,
    gateway_node: str = "node:__internal_head__",
):
    """The Serve application: gateway and replicas; `gateway_node` is a Ray resource that pins the gateway
    (and so its port) to one node: the head by default, `node:IP` for a given box."""
    batch = BatchConfig(cluster.max_batch, cluster.max_wait_ms)
    if runtime.intra_op_threads == 0 and cluster.gpus_per_replica == 0:
        # onnxruntime's "all cores" would have every CPU replica of a box fight over all of its cores
        runtime = replace(runtime, intra_op_threads=max(1, int(cluster.cpus_per_replica)))
    # A shipped bundle goes into the object store once (not into every replica's deployment config); its
    # owner is this process, so `musegenie serve --ray` ships it, a config file names a path instead.
    shipped = [ray.put(bundle_files(bundle))] if cluster.ship_bundle else str(Path(bundle).resolve())
    ongoing = batch.max_batch + server.max_queue  # computing + waiting: more would be refused anyway
    options: dict = {
        "ray_actor_options": {"num_cpus": cluster.cpus_per_replica, "num_gpus": cluster.gpus_per_replica},
        "max_ongoing_requests": ongoing,
        "health_check_period_s": 2.0,
    }
    if cluster.replicas > 0:
        options["num_replicas"] = cluster.replicas
    else:
        options["autoscaling_config"] = {
            "min_replicas": cluster.min_replicas,
            "max_replicas": cluster.max_replicas,
            "target_ongoing_requests": batch.max_batch,  # a full batch each: more queue, start another
        }
    # The gateway admits what the replicas can hold; each replica still refuses what its own queue cannot.
    most = cluster.replicas or cluster.max_replicas
    front = asdict(server) | {"max_concurrent": most * batch.max_batch, "max_queue": most * server.max_queue}
    editor = serve.deployment(EditorReplica, name=REPLICA, **options).bind(
        shipped, asdict(runtime), asdict(batch), asdict(server)
    )
    gateway = serve.deployment(
        Gateway,
        name="Gateway",
        num_replicas=1,
        ray_actor_options={"num_cpus": 0, "resources": {gateway_node: 0.001}},
    )
    return gateway.bind(editor, front)


def _typed(cls: type, args: dict[str, str]):
    """A config dataclass from string arguments (a Serve config file's `args`), each cast to its field's type."""
    hints = typing.get_type_hints(cls)
    values = {}
    for f in fields(cls):
        if f.name in args:
            kind, raw = base_type(hints[f.name]), args[f.name]
            values[f.name] = str(raw).lower() in ("1", "true", "yes") if kind is bool else kind(raw)
    return cls(**values)


def app(args: dict[str, str]):
    """The application builder for Serve config files: `serve run engine.cluster:app bundle=DIR` or KubeRay's
    serveConfigV2 (deploy/rayservice.yaml). `args`: `bundle` plus any ClusterConfig, ServerConfig or
    RuntimeConfig field; the gateway runs on the head node, listening on 0.0.0.0:50051 unless told
    otherwise, with the token from $MUSEGENIE_TOKEN there."""
    args = {"host": "0.0.0.0", **args}
    if "bundle" not in args:
        raise ValueError("the application needs args.bundle: the bundle folder on every node")
    cluster = _typed(ClusterConfig, args)
    if cluster.ship_bundle:
        raise ValueError("ship_bundle needs a process that stays up to own the copy: `musegenie serve --ray`")
    return build(args["bundle"], cluster, _typed(ServerConfig, args), _typed(RuntimeConfig, args))


def start(
    bundle: str | Path,
    cluster: ClusterConfig,
    server: ServerConfig,
    runtime: RuntimeConfig,
    address: str | None = None,
    **init: object,
) -> str:
    """Connect to (or start, without `address`) a Ray cluster, deploy the application with its gateway on
    this node, and return the gateway's HOST:PORT once it serves."""
    if not ray.is_initialized():
        ray.init(address=address, namespace=APP_NAME, **init)
    serve.start(proxy_location="Disabled")  # the gateway is the only way in: no HTTP proxy
    node = f"node:{ray.util.get_node_ip_address()}"
    app = build(bundle, cluster, server, runtime, gateway_node=node)
    handle = serve.run(app, name=APP_NAME, route_prefix=None)
    return handle.target.remote().result()


def stop(leave: bool = True) -> None:
    """Take the application down (in-flight edits end UNAVAILABLE) and, with `leave`, the Ray cluster."""
    serve.delete(APP_NAME)
    if leave:
        ray.shutdown()
