"""Run the gRPC edit server on a model bundle until SIGTERM/Ctrl-C (in-flight edits finish first).

Binds 127.0.0.1:50051 by default. For a remote GPU box bind 0.0.0.0 and set a token (--token or
$MUSEGENIE_TOKEN) and, better, --tls-cert/--tls-key: a host other than loopback without a token is
refused unless --insecure is given (then, and without TLS, a warning is logged). Health (grpc.health.v1) turns SERVING once the bundle
is loaded and warm; reflection is on, so `grpcurl -plaintext 127.0.0.1:50051 list` works.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from pathlib import Path

from engine.bundle import BundleError
from engine.cli_args import add_dataclass_arguments, dataclass_from_args
from engine.commands.editor_args import TOKEN_ENV, default_bundle
from engine.errors import CommandError
from engine.runtime import RuntimeConfig
from engine.server import ServerConfig, serve


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bundle", type=Path, help="bundle folder (default models/default)")
    add_dataclass_arguments(parser, ServerConfig, title="server")
    add_dataclass_arguments(parser, RuntimeConfig, title="onnxruntime")


def run(args: argparse.Namespace) -> int:
    bundle = args.bundle or default_bundle()
    if bundle is None:
        raise CommandError("pass --bundle DIR (models/default does not exist)")
    config = dataclass_from_args(ServerConfig, args)
    config = dataclasses.replace(config, token=config.token or os.environ.get(TOKEN_ENV) or None)
    try:
        serve(bundle, config, dataclass_from_args(RuntimeConfig, args))
    except (BundleError, OSError, ValueError) as err:
        raise CommandError(str(err)) from err
    return 0
