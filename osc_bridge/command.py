"""Bridge OSC (Max/MSP, Ableton via Max for Live) to the gRPC engine.

Listens on 127.0.0.1:9000 and replies to the sender's host on port 9001 (Max: `udpsend 127.0.0.1 9000`,
`udpreceive 9001`). Audio travels as absolute file paths, read only under --allow-dir (default: your home
folder, hidden folders excluded); results are written under --out-dir with unique names. Another --listen
host than loopback needs a client token (--client-token-file or $MUSEGENIE_CLIENT_TOKEN; clients send
`/musegenie/auth id TOKEN` once) or --insecure. Address space: `/musegenie/ping|actions|edit|infer|explore` (see osc_bridge/addresses.py).
With --serve-bundle the engine runs inside this process (the one-laptop case); otherwise --engine points
at a running `musegenie serve`, possibly on a remote GPU box (--token, --tls-ca).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
from pathlib import Path

from engine.bundle import BundleError
from engine.cli_args import add_runtime_arguments, dataclass_from_args
from engine.client import DEFAULT_TARGET, EditorClient
from engine.commands.editor_args import TOKEN_ENV
from engine.commands.serve import read_token_file, token_from
from engine.errors import CommandError
from engine.runtime import RuntimeConfig
from engine.server import ServerConfig, start_server
from osc_bridge.access import CLIENT_TOKEN_ENV
from osc_bridge.bridge import BUSY_PATIENCE, DEFAULT_ENGINE_TIMEOUT, OscBridge

log = logging.getLogger(__name__)


def host_port(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--listen", type=host_port, default="127.0.0.1:9000", metavar="HOST:PORT",
                        help="where to receive OSC (0.0.0.0 opens it to the network)")  # fmt: skip
    parser.add_argument(
        "--reply-port", type=int, default=9001, help="replies go to the sender's host on this port"
    )
    parser.add_argument(
        "--engine", default=DEFAULT_TARGET, metavar="HOST:PORT", help="the gRPC engine to forward to"
    )
    parser.add_argument("--token", help=f"bearer token for the engine (default ${TOKEN_ENV})")
    parser.add_argument("--token-file", type=Path, metavar="FILE",
                        help="a file holding the engine's bearer token (unlike --token, not shown by `ps`)")  # fmt: skip
    parser.add_argument("--engine-timeout", type=float, default=DEFAULT_ENGINE_TIMEOUT, metavar="SECONDS",
                        help="a request fails with DEADLINE_EXCEEDED when the engine sends nothing (no progress, no result) for this long")  # fmt: skip
    parser.add_argument("--tls-ca", type=Path, help="CA certificate (PEM) to reach the engine over TLS")
    parser.add_argument("--max-message-mb", type=int, default=256, metavar="MB",
                        help="largest message to or from the engine: the region and its context travel (a file of any length edits; the song goes once, in parts), so this bounds the region's length; the engine's own limit applies too")  # fmt: skip
    parser.add_argument(
        "--out-dir", type=Path, default=Path("musegenie-out"), help="every result file goes here"
    )
    parser.add_argument(
        "--allow-dir", type=Path, action="append", metavar="DIR",
        help="a folder whose audio files requests may read (repeatable; default: your home folder). "
        "Hidden folders and symlinks leading outside are refused; --out-dir is always readable",
    )  # fmt: skip
    parser.add_argument("--client-token-file", type=Path, metavar="FILE",
                        help=f"a file holding the token OSC clients must send with /musegenie/auth (default ${CLIENT_TOKEN_ENV})")  # fmt: skip
    parser.add_argument("--insecure", action="store_true",
                        help="allow a --listen host other than loopback without a client token")  # fmt: skip
    parser.add_argument(
        "--workers", type=int, default=4, help="requests handled at once (others wait in line)"
    )
    parser.add_argument("--max-queue", type=int, default=32,
                        help="requests waiting for a worker; more get /musegenie/error id RESOURCE_EXHAUSTED")  # fmt: skip
    parser.add_argument("--serve-bundle", type=Path, metavar="DIR",
                        help="also run the engine in this process on this bundle (binds --engine's port on 127.0.0.1)")  # fmt: skip
    add_runtime_arguments(parser)  # used with --serve-bundle


def client_token(args: argparse.Namespace) -> str | None:
    """The token OSC clients must send, from --client-token-file or the environment (never argv: `ps`)."""
    if args.client_token_file is None:
        return os.environ.get(CLIENT_TOKEN_ENV) or None
    return read_token_file(args.client_token_file, "--client-token-file")


def run(args: argparse.Namespace) -> int:
    token = token_from(args)
    if not args.engine_timeout > 0:
        raise CommandError(f"--engine-timeout must be positive, got {args.engine_timeout}")
    server = None
    target = args.engine
    if args.serve_bundle is not None:
        port = host_port(args.engine)[1]
        try:
            server = start_server(
                args.serve_bundle,
                # max_per_peer=0: the bridge is its only client
                ServerConfig(port=port, token=token, max_per_peer=0, max_message_mb=args.max_message_mb),
                dataclass_from_args(RuntimeConfig, args),
            )
        except (BundleError, OSError, RuntimeError) as err:
            raise CommandError(f"could not serve {args.serve_bundle}: {err}") from err
        target = server.target
    client = EditorClient(
        target,
        token=token,
        tls_ca=args.tls_ca,
        max_message_mb=args.max_message_mb,
        idle_timeout=args.engine_timeout,
        busy_patience=BUSY_PATIENCE,
    )
    try:
        bridge = OscBridge(
            client, args.listen, args.reply_port, args.out_dir, args.workers, args.max_queue,
            args.allow_dir, client_token(args), args.insecure,
        )  # fmt: skip
    except (OSError, ValueError) as err:
        client.close()
        if server is not None:
            server.stop(0)
        raise CommandError(f"cannot listen on {args.listen[0]}:{args.listen[1]}: {err}") from err
    bridge.start()
    print(f"OSC bridge on {args.listen[0]}:{bridge.address[1]} -> engine {target}; replies to port "
          f"{args.reply_port}; results in {bridge.out_dir}. Ctrl-C or SIGTERM stops.", flush=True)  # fmt: skip
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):  # short waits keep Ctrl-C responsive
            pass
    finally:
        bridge.stop()
        client.close()
        if server is not None:
            server.stop()
    return 0
