"""A Python stand-in for a Max patch: send OSC requests to the bridge and collect the replies by id.

The demo, the tests and the benchmark drive the bridge through this exactly as `udpsend`/`udpreceive` would.
"""

from __future__ import annotations

import itertools
import queue
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pythonosc import osc_packet
from pythonosc.osc_message_builder import build_msg

from engine.client import EditorClient
from osc_bridge import addresses as osc
from osc_bridge.bridge import BUSY_PATIENCE, DEFAULT_ENGINE_TIMEOUT, UDP_MAX, OscBridge

FINAL = {osc.PING: osc.PONG, osc.INFER: osc.INFERRED}  # other requests end with done (or error)


class OscClient:
    """Send requests from, and receive replies on, one UDP socket bound to the bridge's reply port."""

    def __init__(
        self, bridge: tuple[str, int] = ("127.0.0.1", 9000), reply_port: int = 9001, host: str = "127.0.0.1"
    ):
        self.bridge = bridge
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind((host, reply_port))
        self.reply_port = self._sock.getsockname()[1]
        self._ids = itertools.count(1)
        self._inbox: dict[int, queue.Queue] = {}
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._receive, name="osc-client", daemon=True).start()

    def _box(self, request_id: int) -> queue.Queue:
        with self._lock:
            return self._inbox.setdefault(request_id, queue.Queue())

    def _receive(self) -> None:
        while not self._closed:
            try:
                data, _ = self._sock.recvfrom(UDP_MAX)
            except OSError:
                return
            for timed in osc_packet.OscPacket(data).messages:
                args = list(timed.message.params)
                self._box(args[0] if args else -1).put((timed.message.address, args[1:]))

    def send(self, address: str, *args: Any, request_id: int | None = None) -> int:
        """Send one request (its id first, chosen here unless given) and return the id."""
        request_id = next(self._ids) if request_id is None else request_id
        self._sock.sendto(build_msg(address, [request_id, *args]).dgram, self.bridge)
        return request_id

    def send_raw(self, data: bytes) -> None:
        self._sock.sendto(data, self.bridge)

    def replies(
        self, request_id: int, final: str = osc.DONE, timeout: float = 120.0
    ) -> list[tuple[str, list]]:
        """Every reply to `request_id` up to and including `final` or an error."""
        box, got, deadline = self._box(request_id), [], time.monotonic() + timeout
        while True:
            try:
                address, args = box.get(timeout=max(deadline - time.monotonic(), 0.0))
            except queue.Empty:
                raise TimeoutError(
                    f"no {final} for request {request_id} within {timeout} s; got {got}"
                ) from None
            got.append((address, args))
            if address in (final, osc.ERROR):
                return got

    def call(self, address: str, *args: Any, timeout: float = 120.0) -> list[tuple[str, list]]:
        return self.replies(self.send(address, *args), FINAL.get(address, osc.DONE), timeout)

    def close(self) -> None:
        self._closed = True
        self._sock.close()


@contextmanager
def loopback_rig(
    engine_target: str,
    out_dir: str | Path,
    workers: int = 4,
    allow_dirs: Sequence[str | Path] = ("/",),
    engine_timeout: float = DEFAULT_ENGINE_TIMEOUT,
) -> Iterator[tuple[OscBridge, OscClient]]:
    """A bridge in front of the engine at `engine_target` and a Max stand-in wired to it, on free loopback ports.

    The rig's requests come from the process that built it (demo, benchmarks, tests), so by default it may
    read any file outside hidden folders; a bridge for users reads only under its `--allow-dir` folders."""
    max_patch = OscClient(bridge=("127.0.0.1", 0), reply_port=0)
    client = EditorClient(engine_target, idle_timeout=engine_timeout, busy_patience=BUSY_PATIENCE)
    bridge = OscBridge(
        client, ("127.0.0.1", 0), max_patch.reply_port, out_dir, workers, allow_dirs=allow_dirs
    ).start()
    max_patch.bridge = bridge.address
    try:
        yield bridge, max_patch
    finally:
        max_patch.close()
        bridge.stop()
        client.close()
