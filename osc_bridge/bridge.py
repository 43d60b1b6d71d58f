"""The OSC bridge: UDP in from Max/Ableton, gRPC out to the engine, files for audio.

One datagram = one request (or a bundle of at most MAX_BUNDLE_MESSAGES, nested at most MAX_BUNDLE_DEPTH).
Requests run on a small thread pool so several jobs can be in flight and progress flows back while an edit
renders; at most `max_queue` more wait in line, first come first served, and any beyond are refused with
RESOURCE_EXHAUSTED. Replies go to the sender's host on the reply port: per request at most
MAX_PROGRESS_REPLIES progress replies and the answer (lists: one reply per action or instrument), so one
datagram brings back at most MAX_BUNDLE_MESSAGES times that. Nothing a client sends can stop the bridge:
every failure becomes `/musegenie/error id CODE message`, with the request's id whenever the bytes still
show it (else -1). Who may use it and which files it reads: `osc_bridge.access`.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
import socketserver
import struct
import threading
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from pythonosc import osc_message
from pythonosc.osc_message_builder import build_msg

from engine.audio import AudioError
from engine.client import EditorClient, EditorError
from engine.published_file import remove_stale_temporaries
from engine.request import EditRequest
from osc_bridge import addresses as osc
from osc_bridge.access import ClientAuth, FileGate, check_exposure, default_allowed_dirs
from osc_bridge.parsing import BadMessage, parse

log = logging.getLogger(__name__)

UDP_MAX = 65507  # the largest UDP payload over IPv4; python-osc's default server drops anything over 8 KB
MAX_BUNDLE_DEPTH = 4  # bundles inside bundles; python-osc would recurse until the stack runs out
MAX_BUNDLE_MESSAGES = 8  # requests in one datagram: one packet must not become many jobs and replies
# Seconds an engine call may go without a word (progress, "queued", a result) before the request fails with
# DEADLINE_EXCEEDED: a stopped engine is reported in bounded time, a long edit that progresses is not cut.
DEFAULT_ENGINE_TIMEOUT = 60.0
# Seconds a job keeps retrying while the engine refuses it for lack of room (its queue or its per-client
# limit, which the bridge's own workers can fill): jobs wait their turn instead of failing.
BUSY_PATIENCE = 600.0
PING_TIMEOUT = 5.0  # seconds a ping waits for the engine's GetInfo
MAX_PROGRESS_REPLIES = 10  # progress replies per request (one per tenth): a reply stream stays short
BUNDLE_HEAD = b"#bundle\0"
# Bytes python-osc's message parser may trip over (bad type tags, truncation, non-UTF-8 strings).
PARSE_ERRORS = (osc_message.ParseError, ValueError, IndexError, struct.error, OverflowError)

# A temp file is `.<name>.<pid>.<8 random>.tmp` (engine.published_file): its name must fit the limit too.
TEMP_NAME_EXTRA = 1 + 1 + 7 + 1 + 8 + 4
Reply = Callable[..., None]


class PacketError(Exception):
    """A datagram that is not OSC, or a bundle beyond the bounds above."""


def split_packet(data: bytes, depth: int = 0, out: list[bytes] | None = None) -> list[bytes]:
    """The message datagrams of an OSC packet, bundles unpacked (time tags are ignored: jobs run now)."""
    out = [] if out is None else out
    if not data.startswith(BUNDLE_HEAD):
        out.append(data)
        return out
    if depth >= MAX_BUNDLE_DEPTH:
        raise PacketError(f"bundles nested more than {MAX_BUNDLE_DEPTH} deep")
    if len(data) < 16:
        raise PacketError("bundle shorter than its header")
    pos = 16  # "#bundle\0" and the 8-byte time tag
    while pos < len(data):
        size = int.from_bytes(data[pos : pos + 4], "big", signed=True)
        if pos + 4 > len(data) or size <= 0 or size % 4 or pos + 4 + size > len(data):
            raise PacketError(f"bundle element at byte {pos} has a bad size ({size})")
        split_packet(data[pos + 4 : pos + 4 + size], depth + 1, out)
        if len(out) > MAX_BUNDLE_MESSAGES:
            raise PacketError(f"more than {MAX_BUNDLE_MESSAGES} messages in one datagram: send fewer")
        pos += 4 + size
    return out


def recover_id(dgram: bytes) -> int:
    """The request id of a message python-osc could not parse, if its first argument is still readable."""
    try:
        address_end = dgram.index(b"\0")
        tags = -(-(address_end + 1) // 4) * 4  # strings are NUL-terminated and padded to 4 bytes
        if dgram[tags : tags + 2] not in (b",i", b",h"):
            return -1
        args = -(-(dgram.index(b"\0", tags) + 1) // 4) * 4
        size = 4 if dgram[tags + 1 : tags + 2] == b"i" else 8
        if args + size > len(dgram):
            return -1
        return int.from_bytes(dgram[args : args + size], "big", signed=True)
    except ValueError:
        return -1


class _UDPServer(socketserver.UDPServer):
    """Datagrams are handled one at a time, in arrival order (parsing and queueing are quick; the jobs
    run on the pool): a thread per datagram would let a later request overtake an earlier one.

    The port is bound exclusively (no SO_REUSEADDR / SO_REUSEPORT): with either, a second bridge on the
    same port would start and silently take the requests meant for the first."""

    max_packet_size = UDP_MAX
    allow_reuse_address = False
    allow_reuse_port = False


class OscBridge:
    """Serve the OSC address space in `osc_bridge.addresses` on top of an `engine.client.EditorClient`.

    Args:
        client: the engine client (remote over gRPC, or in-process for --serve-bundle).
        listen: (host, port) to receive on; 127.0.0.1 unless told otherwise.
        reply_port: replies go to the sender's host on this port (Max: `udpreceive 9001`).
        out_dir: every file the bridge writes goes here, with a unique name.
        workers: jobs that may run at once.
        max_queue: jobs that may wait for a worker; more are refused with RESOURCE_EXHAUSTED.
        allow_dirs: folders whose files requests may read (default: the home folder); out_dir is added.
        client_token: senders must send `/musegenie/auth id TOKEN` first (None: anyone may ask).
        insecure: allow a non-loopback `listen` without a client token.
    """

    def __init__(
        self,
        client: EditorClient,
        listen: tuple[str, int] = ("127.0.0.1", 9000),
        reply_port: int = 9001,
        out_dir: str | Path = "musegenie-out",
        workers: int = 4,
        max_queue: int = 32,
        allow_dirs: Sequence[str | os.PathLike] | None = None,
        client_token: str | None = None,
        insecure: bool = False,
    ):
        check_exposure(listen[0], client_token, insecure)
        self.client = client
        self.reply_port = reply_port
        self.closeness: float | None = None  # /musegenie/closeness sets it; None: the bundle's default
        self.seed = 0  # /musegenie/seed sets it: which take later edits and explores get
        self.out_dir = Path(out_dir).expanduser().resolve()
        self.out_dir.mkdir(parents=True, exist_ok=True)
        for stale in remove_stale_temporaries(self.out_dir):  # writes of an earlier bridge that was killed
            log.info("removed stale temporary file %s", stale)
        # The results are readable too: editing an edit is the usual next step.
        self.files = FileGate([*(default_allowed_dirs() if allow_dirs is None else allow_dirs), self.out_dir])
        self.auth = ClientAuth(client_token)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="osc-job")  # FIFO
        self._places = threading.BoundedSemaphore(workers + max_queue)  # jobs running or waiting
        self._capacity = workers + max_queue
        self._send_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        bridge = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                bridge._on_datagram(self.request[0], self.client_address)

        try:
            self._server = _UDPServer(listen, Handler)
        except OSError as err:
            self._send_sock.close()
            if err.errno != errno.EADDRINUSE:
                raise
            raise OSError(
                f"UDP port {listen[1]} is taken (another osc-bridge?): stop it or pick another --listen port"
            ) from err
        self._thread: threading.Thread | None = None
        try:
            self._name_max = os.pathconf(self.out_dir, "PC_NAME_MAX")
        except (OSError, ValueError):
            self._name_max = 255
        self._handlers: dict[str, Callable[..., None]] = {
            osc.PING: self._ping,
            osc.ACTIONS: self._actions,
            osc.INSTRUMENTS_LIST: self._instruments,
            osc.EDIT: self._edit,
            osc.INFER: self._infer,
            osc.EXPLORE: self._explore,
            osc.CLOSENESS: self._closeness,
            osc.SEED: self._seed,
            osc.PREPARE: self._prepare,
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
            dgrams = split_packet(data)
        except PacketError as err:
            self._send(host, osc.ERROR, recover_id(data), "INVALID_ARGUMENT", f"malformed OSC packet: {err}")
            return
        for dgram in dgrams:
            try:
                message = osc_message.OscMessage(dgram)
                request, request_id, values = parse(message.address, list(message.params))
            except BadMessage as err:
                self._send(host, osc.ERROR, err.request_id, "INVALID_ARGUMENT", str(err))
                continue
            except PARSE_ERRORS as err:
                reason = f"malformed OSC message: {type(err).__name__}: {err}"
                self._send(host, osc.ERROR, recover_id(dgram), "INVALID_ARGUMENT", reason)
                continue
            if request.address == osc.AUTH:  # answered at once: it must not wait behind the jobs
                if self.auth.authorise(sender, values["token"]):
                    self._send(host, osc.DONE, request_id)
                else:
                    self._send(host, osc.ERROR, request_id, "UNAUTHENTICATED", "wrong client token")
                continue
            if not self.auth.admits(sender):
                reason = "this bridge needs its client token: send /musegenie/auth id TOKEN first"
                self._send(host, osc.ERROR, request_id, "UNAUTHENTICATED", reason)
                continue
            if not self._places.acquire(blocking=False):
                reason = f"bridge busy: {self._capacity} jobs running or waiting; wait for their replies"
                self._send(host, osc.ERROR, request_id, "RESOURCE_EXHAUSTED", reason)
                continue
            reply = lambda address, *args, _h=host: self._send(_h, address, *args)  # noqa: E731
            try:
                self._pool.submit(self._run, self._handlers[request.address], reply, request_id, values)
            except RuntimeError:  # the bridge is stopping
                self._places.release()
                self._send(host, osc.ERROR, request_id, "UNAVAILABLE", "the bridge is shutting down")

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
        finally:
            self._places.release()

    # --- files -----------------------------------------------------------------------------------------
    def _output_path(self, in_path: str, tag: str) -> Path:
        """A new name under out_dir: the input's stem (shortened to fit the file-name limit), tag, random."""
        suffix = f".{tag}.{uuid.uuid4().hex[:8]}.wav"
        room = max(0, self._name_max - len(suffix.encode()) - TEMP_NAME_EXTRA)
        stem = Path(in_path).stem.encode()[:room].decode(errors="ignore")
        out = self.out_dir / f"{stem}{suffix}"
        if out.resolve() == Path(in_path).resolve() or self.out_dir not in out.resolve().parents:
            raise BadMessage(-1, f"refusing to write {out}")
        return out

    # --- requests --------------------------------------------------------------------------------------
    def _ping(self, reply: Reply, request_id: int) -> None:
        """SERVING only when an edit could pass: health is open to anyone, so an authenticated GetInfo
        (which also refreshes the cached actions and limits) checks the token as well."""
        try:
            status = self.client.health()
            if status == "SERVING":
                self.client.info(timeout=PING_TIMEOUT, refresh=True)
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

    def _progress(self, reply: Reply, request_id: int) -> Callable[[float, str], None]:
        """An engine progress callback that replies at most once per tenth (MAX_PROGRESS_REPLIES)."""
        sent = [0]  # tenths reported so far

        def progress(fraction: float, _stage: str) -> None:
            tenths = min(int(fraction * MAX_PROGRESS_REPLIES), MAX_PROGRESS_REPLIES)
            if tenths > sent[0]:
                sent[0] = tenths
                reply(osc.PROGRESS, request_id, float(fraction))

        return progress

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
        path = self.files.resolve(request_id, in_path)
        out = self._output_path(in_path, f"edit{request_id}")  # before the work: a bad name fails fast
        request = EditRequest(
            (start_s, end_s),
            tuple(action),
            tuple(instrument) or None,
            closeness=self.closeness,
            seed=self.seed,
        )
        # Only the region's window (and, once, the song at the model's rate) travels; the output is
        # written block by block, so a file of any length edits in bounded memory (engine.clip).
        result = self.client.edit_file(path, request, out, on_progress=self._progress(reply, request_id))
        reply(osc.DONE, request_id, str(out), result.source.text)

    def _prepare(self, reply: Reply, request_id: int, in_path: str) -> None:
        """The song sent (if the engine lacks it) and indexed now; an engine that keeps no songs has nothing
        to prepare, which is no error (its first edit indexes the song): done all the same."""
        path = self.files.resolve(request_id, in_path)
        prepared = self.client.prepare_file(path, on_progress=self._progress(reply, request_id))
        if not prepared.indexed:
            log.info("request %d: %s", request_id, prepared.note)
        reply(osc.DONE, request_id)

    def _closeness(self, reply: Reply, request_id: int, closeness: float) -> None:
        if not 0.0 <= closeness <= 1.0:
            raise BadMessage(
                request_id,
                f"closeness must be in 0..1 (0 generates freely, 1 keeps the song), got {closeness}",
            )
        self.closeness = float(closeness)
        reply(osc.DONE, request_id)

    def _seed(self, reply: Reply, request_id: int, seed: int) -> None:
        if not 0 <= seed < 2**63:
            raise BadMessage(request_id, f"seed must be an int from 0 (the first take), got {seed}")
        self.seed = int(seed)
        reply(osc.DONE, request_id)

    def _infer(self, reply: Reply, request_id: int, in_path: str, start_s: float, end_s: float) -> None:
        chunks = self.client.infer_actions_file(self.files.resolve(request_id, in_path), start_s, end_s)
        reply(osc.INFERRED, request_id, *[int(c["action"]) for c in chunks])

    def _explore(
        self, reply: Reply, request_id: int, in_path: str, start_s: float, end_s: float, instrument: list[str]
    ) -> None:
        path = self.files.resolve(request_id, in_path)
        request = EditRequest(
            (start_s, end_s), instruments=tuple(instrument) or None, closeness=self.closeness, seed=self.seed
        )
        named = lambda action: self._output_path(in_path, f"explore{request_id}-a{action.id}")  # noqa: E731
        for action, out, source in self.client.explore_file(path, request, named):
            reply(osc.VARIANT, request_id, action.id, str(out), source.text)
        reply(osc.DONE, request_id)
