"""Run the gRPC edit server on a model bundle until SIGTERM/Ctrl-C (in-flight edits finish first).

Binds 127.0.0.1:50051 by default. For a remote GPU box bind 0.0.0.0 and set a token (--token-file or
$MUSEGENIE_TOKEN: a --token on the command line shows in `ps`) and, better, --tls-cert/--tls-key: a host other than loopback without a token is
refused unless --insecure is given (then, and without TLS, a warning is logged). Health (grpc.health.v1) turns SERVING once the bundle
is loaded and warm; reflection is on, so `grpcurl -plaintext 127.0.0.1:50051 list` works.

`--ray [ADDRESS]` serves the same API from a Ray Serve application instead: replicas of the engine on a
running Ray cluster (or a local one without ADDRESS), edits batched per sampling step (engine.cluster,
docs/deploy.md); needs the `cluster` extra.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import signal
import threading
from pathlib import Path

from engine.bundle import BundleError
from engine.cli_args import add_dataclass_arguments, dataclass_from_args
from engine.cluster_config import ClusterConfig
from engine.commands.editor_args import TOKEN_ENV, default_bundle
from engine.errors import CommandError
from engine.runtime import RuntimeConfig
from engine.server import ServerConfig, check_exposure, serve

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bundle", type=Path, help="bundle folder (default models/default)")
    parser.add_argument("--token-file", type=Path, metavar="FILE",
                        help=f"a file holding the bearer token (unlike --token, not shown by `ps`; default ${TOKEN_ENV})")  # fmt: skip
    parser.add_argument("--ray", nargs="?", const="", metavar="ADDRESS",
                        help="serve from a Ray cluster at ADDRESS (HOST:6379; none: start one on this machine)")  # fmt: skip
    add_dataclass_arguments(parser, ServerConfig, title="server")
    add_dataclass_arguments(parser, RuntimeConfig, title="onnxruntime")
    add_dataclass_arguments(parser, ClusterConfig, title="Ray cluster (with --ray)")


def read_token_file(path: Path, option: str) -> str:
    """The token in `path` (surrounding whitespace dropped); CommandError when unreadable or empty."""
    try:
        token = path.read_text().strip()
    except OSError as err:
        raise CommandError(f"cannot read {option} {path}: {err.strerror or err}") from err
    if not token:
        raise CommandError(f"{option} {path} is empty")
    return token


def token_from(args: argparse.Namespace) -> str | None:
    """--token, else --token-file, else $MUSEGENIE_TOKEN, else None."""
    if args.token and args.token_file:
        raise CommandError("give --token or --token-file, not both")
    if args.token_file:
        return read_token_file(args.token_file, "--token-file")
    return args.token or os.environ.get(TOKEN_ENV) or None


def run(args: argparse.Namespace) -> int:
    bundle = args.bundle or default_bundle()
    if bundle is None:
        raise CommandError("pass --bundle DIR (models/default does not exist)")
    config = dataclass_from_args(ServerConfig, args)
    config = dataclasses.replace(config, token=token_from(args))
    runtime = dataclass_from_args(RuntimeConfig, args)
    if args.ray is not None:
        return serve_on_ray(bundle, config, runtime, dataclass_from_args(ClusterConfig, args), args.ray)
    try:
        serve(bundle, config, runtime)
    except (BundleError, OSError, ValueError) as err:
        raise CommandError(str(err)) from err
    return 0


def serve_on_ray(
    bundle: Path, config: ServerConfig, runtime: RuntimeConfig, cluster: ClusterConfig, address: str
) -> int:
    """Deploy the engine on a Ray cluster and keep it up until SIGTERM/Ctrl-C."""
    try:
        from engine import cluster as ray_cluster
    except ImportError as err:
        raise CommandError(
            f"--ray needs the cluster extra: pip install 'musegenie[cluster]' ({err})"
        ) from err
    check_exposure(config)
    try:
        target = ray_cluster.start(bundle, cluster, config, runtime, address=address or None)
    except (BundleError, OSError, ValueError, ConnectionError) as err:
        raise CommandError(str(err)) from err
    log.info("serving on %s from Ray (dashboard: `ray status`, http://127.0.0.1:8265 on the head)", target)
    stop = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        stop.wait()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        ray_cluster.stop()
    return 0
