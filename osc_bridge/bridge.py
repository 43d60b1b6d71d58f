"""The OSC bridge: UDP in from Max/Ableton, gRPC out to the engine, files for audio.

One datagram = one request. Requests run on a small thread pool so several jobs can be in flight and
progress flows back while an edit renders. Replies go to the sender's host on the reply port. Nothing a
client sends can stop the bridge: every failure becomes `/musegenie/error id CODE message`.
"""

from __future__ import annotations

import logging
import socket
import socketserver
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from pythonosc import osc_packet
from pythonosc.osc_message_builder import build_msg

from engine.audio import AudioError, load, save_wav
from engine.client import EditorClient, EditorError
from engine.request import EditRequest
from osc_bridge import addresses as osc
from osc_bridge.parsing import BadMessage, parse

log = logging.getLogger(__name__)

UDP_MAX = 65507  # the largest UDP payload over IPv4; python-osc's default server drops anything over 8 KB

Reply = Callable[..., None]


class _UDPServer(socketserver.ThreadingUDPServer):
    max_packet_size = UDP_MAX
    daemon_threads = True
    allow_reuse_address = True


class OscBridge:
    """Serve the OSC address space in `osc_bridge.addresses` on top of an `engine.client.EditorClient`.

    Args:
        client: the engine client (remote over gRPC, or in-process for --serve-bundle).
        listen: (host, port) to receive on; 127.0.0.1 unless told otherwise.
        reply_port: replies go to the sender's host on this port (Max: `udpreceive 9001`).
        out_dir: every file the bridge writes goes here, with a unique name.
        workers: jobs that may run at once (more wait in line).
    """

    def __init__(
        self,
        client: EditorClient,
        listen: tuple[str, int] = ("127.0.0.1", 9000),
        reply_port: int = 9001,
        out_dir: str | Path = "musegenie-out",
        workers: int = 4,
    ):
        self.client = client
        self.reply_port = reply_port
        self.out_dir = Path(out_dir).expanduser().resolve()
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="osc-job")
        self._send_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        bridge = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                bridge._on_datagram(self.request[0], self.client_address)

        self._server = _UDPServer(listen, Handler)
        self._thread: threading.Thread | None = None
        self._handlers: dict[str, Callable[..., None]] = {
            osc.PING: self._ping,
            osc.ACTIONS: self._actions,
            osc.INSTRUMENTS_LIST: self._instruments,
            osc.EDIT: self._edit,
            osc.INFER: self._infer,
            osc.EXPLORE: self._explore,
        }

    @property
    def address(self) -> tuple[str, int]:
        return self._server.server_address[:2]

    def start(self) -> OscBridge:
        self._thread = threading.Thread(target=self._server.serve_forever, name="osc-bridge", daemon=True)
        self._thread.start()
        log.info(
            "OSC bridge listening on %s:%d, replies to port %d, writing under %s",
            *self.address,
            self.reply_port,
            self.out_dir,
        )
        return self

    def serve_forever(self) -> None:
        self.start()
        assert self._thread is not None
        self._thread.join()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._send_sock.close()

    # --- transport -------------------------------------------------------------------------------------
    def _send(self, host: str, address: str, *args: Any) -> None:
        try:
            self._send_sock.sendto(build_msg(address, list(args)).dgram, (host, self.reply_port))
        except OSError as err:  # a reply that cannot be delivered must not kill the job or the bridge
            log.warning("could not reply %s to %s:%d: %s", address, host, self.reply_port, err)

    def _on_datagram(self, data: bytes, sender: tuple[str, int]) -> None:
        host = sender[0]
        try:
            messages = [m.message for m in osc_packet.OscPacket(data).messages]
        except osc_packet.ParseError as err:
            self._send(host, osc.ERROR, -1, "INVALID_ARGUMENT", f"malformed OSC packet: {err}")
            return
        for message in messages:
            try:
                request, request_id, values = parse(message.address, list(message.params))
            except BadMessage as err:
                self._send(host, osc.ERROR, err.request_id, "INVALID_ARGUMENT", str(err))
                continue
            reply = lambda address, *args, _h=host: self._send(_h, address, *args)  # noqa: E731
            self._pool.submit(self._run, self._handlers[request.address], reply, request_id, values)

    def _run(
        self, handler: Callable[..., None], reply: Reply, request_id: int, values: dict[str, Any]
    ) -> None:
        try:
            handler(reply, request_id, **values)
        except BadMessage as err:
            reply(osc.ERROR, request_id, "INVALID_ARGUMENT", str(err))
        except AudioError as err:
            reply(osc.ERROR, request_id, "INVALID_ARGUMENT", str(err))
        except EditorError as err:
            reply(osc.ERROR, request_id, err.code, err.details or err.code)
        except Exception as err:  # the bridge outlives any one job; the log keeps the traceback
            log.exception("request %d failed", request_id)
            reply(osc.ERROR, request_id, "INTERNAL", f"{type(err).__name__}: {err}")

    # --- files -----------------------------------------------------------------------------------------
    def _read(self, request_id: int, in_path: str) -> tuple[Any, int]:
        path = Path(in_path).expanduser()
        if not path.is_absolute():
            raise BadMessage(
                request_id, f"in_path must be an absolute path (Max: use `absolutepath`), got {in_path!r}"
            )
        return load(path)

    def _output_path(self, in_path: str, tag: str) -> Path:
        out = self.out_dir / f"{Path(in_path).stem}.{tag}.{uuid.uuid4().hex[:8]}.wav"
        if out.resolve() == Path(in_path).expanduser().resolve() or self.out_dir not in out.resolve().parents:
            raise BadMessage(-1, f"refusing to write {out}")
        return out

    # --- requests --------------------------------------------------------------------------------------
    def _ping(self, reply: Reply, request_id: int) -> None:
        try:
            status = self.client.health()
        except EditorError as err:  # the bridge is alive even when the engine is not: say why
            status = f"{err.code}: {err.details}"
        reply(osc.PONG, request_id, status)

    def _actions(self, reply: Reply, request_id: int) -> None:
        for action in self.client.actions():
            reply(osc.ACTION, request_id, action.id, action.name, action.description)
        reply(osc.DONE, request_id)

    def _instruments(self, reply: Reply, request_id: int) -> None:
        for index, name in enumerate(self.client.info().instruments):
            reply(osc.INSTRUMENT, request_id, index, name)
        reply(osc.DONE, request_id)

    def _edit(
        self,
        reply: Reply,
        request_id: int,
        in_path: str,
        start_s: float,
        end_s: float,
        action: list[int],
        instrument: list[str],
    ) -> None:
        audio, sample_rate = self._read(request_id, in_path)
        progress = lambda fraction, _stage: reply(osc.PROGRESS, request_id, float(fraction))  # noqa: E731
        request = EditRequest((start_s, end_s), tuple(action), tuple(instrument) or None)
        result = self.client.edit(audio, sample_rate, request, on_progress=progress)
        out = save_wav(self._output_path(in_path, f"edit{request_id}"), result.audio, sample_rate)
        reply(osc.DONE, request_id, str(out))

    def _infer(self, reply: Reply, request_id: int, in_path: str, start_s: float, end_s: float) -> None:
        audio, sample_rate = self._read(request_id, in_path)
        chunks = self.client.infer_actions(audio, sample_rate, start_s, end_s)
        reply(osc.INFERRED, request_id, *[int(c["action"]) for c in chunks])

    def _explore(
        self, reply: Reply, request_id: int, in_path: str, start_s: float, end_s: float, instrument: list[str]
    ) -> None:
        audio, sample_rate = self._read(request_id, in_path)
        request = EditRequest((start_s, end_s), instruments=tuple(instrument) or None)
        for action, variant in self.client.explore(audio, sample_rate, request):
            out = save_wav(
                self._output_path(in_path, f"explore{request_id}-a{action.id}"), variant, sample_rate
            )
            reply(osc.VARIANT, request_id, action.id, str(out))
        reply(osc.DONE, request_id)
