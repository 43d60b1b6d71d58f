"""Hostile datagrams against the OSC bridge: every malformed message that still shows its id is answered
with `/musegenie/error id CODE message`, bundles are bounded, the job queue is bounded, results never
outgrow the file-name limit, and the bridge keeps serving."""

from __future__ import annotations

import struct
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from pythonosc.osc_message_builder import build_msg

from engine.audio import save_wav
from engine.bundle import Action
from engine.request import EditResult
from osc_bridge import addresses as osc
from osc_bridge.bridge import MAX_BUNDLE_MESSAGES, OscBridge
from osc_bridge.osc_client import OscClient


def bundle(*elements: bytes) -> bytes:
    body = b"".join(struct.pack(">i", len(e)) + e for e in elements)
    return b"#bundle\0" + b"\0" * 7 + b"\1" + body


def nested(depth: int) -> bytes:
    packet = build_msg(osc.PING, [1]).dgram
    for _ in range(depth):
        packet = bundle(packet)
    return packet


@pytest.fixture(scope="module")
def song(tmp_path_factory) -> Path:
    t = np.arange(44100) / 44100
    audio = np.stack([0.3 * np.sin(2 * np.pi * 220 * t)] * 2).astype(np.float32)
    return save_wav(tmp_path_factory.mktemp("songs") / "song.wav", audio, 44100)


def drain(max_patch: OscClient, request_id: int, wait: float = 1.0) -> list:
    """Every reply to `request_id` that arrives within `wait` seconds."""
    box, got = max_patch._box(request_id), []
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            got.append(box.get(timeout=0.05))
        except Exception:  # queue.Empty
            continue
    return got


def test_non_utf8_string_gets_an_error_with_its_id(rig, song):
    _, max_patch, _ = rig
    dgram = build_msg(osc.EDIT, [7, str(song), 0.1, 0.2, 0]).dgram.replace(b"song.wav", b"song\xff\xfeav")
    max_patch.send_raw(dgram)
    (address, (code, message)) = max_patch.replies(7, timeout=10)[-1]
    assert address == osc.ERROR and code == "INVALID_ARGUMENT" and "UnicodeDecodeError" in message
    assert max_patch.call(osc.PING)[-1] == (osc.PONG, ["SERVING"])


def test_deeply_nested_bundle_is_refused(rig):
    _, max_patch, _ = rig
    max_patch.send_raw(nested(200))
    (address, (code, message)) = max_patch.replies(-1, final=osc.ERROR, timeout=10)[-1]
    assert address == osc.ERROR and code == "INVALID_ARGUMENT" and "nested" in message
    max_patch.send_raw(nested(3))  # shallow nesting is still fine
    assert max_patch.replies(1, final=osc.PONG, timeout=10)[-1] == (osc.PONG, ["SERVING"])


def test_a_huge_bundle_is_one_refusal_not_thousands_of_jobs(rig):
    _, max_patch, _ = rig
    ping = build_msg(osc.PING, [42]).dgram
    packet = bundle(*[ping] * 2000)
    assert 40_000 < len(packet) < 65_000
    max_patch.send_raw(packet)
    replies = drain(max_patch, -1, 1.5) + drain(max_patch, 42, 0.2)
    assert len(replies) == 1 and replies[0][1][0] == "INVALID_ARGUMENT" and "at most" not in replies[0][1][1]
    assert f"more than {MAX_BUNDLE_MESSAGES} messages" in replies[0][1][1]


def test_action_id_beyond_int32_is_invalid_argument(rig, song):
    _, max_patch, _ = rig
    (address, (code, message)) = max_patch.call(osc.EDIT, str(song), 0.1, 0.2, 2**40)[-1]
    assert address == osc.ERROR and code == "INVALID_ARGUMENT" and str(2**40) in message


def test_long_input_names_give_results_within_the_file_name_limit(rig, tmp_path, song):
    _, max_patch, out_dir = rig
    long_song = tmp_path / ("x" * 240 + ".wav")
    long_song.write_bytes(song.read_bytes())
    address, args = max_patch.call(osc.EDIT, str(long_song), 0.1, 0.2, 1, timeout=60)[-1]
    assert address == osc.DONE, args
    out = Path(args[0])
    assert out.is_file() and out.parent == out_dir.resolve() and len(out.name) <= 255
    assert out.name.startswith("xxxx") and ".edit" in out.name


class SlowClient:
    """An engine client whose edits block until released: the bridge's queue fills deterministically."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.started: list[float] = []

    def edit_file(self, path, request, output, on_progress=None):
        self.started.append(request.region[0])
        self.release.wait(30)
        return EditResult(None, 44100, np.zeros(0, np.int64))

    def actions(self) -> list[Action]:
        return []

    def health(self) -> str:
        return "SERVING"

    def info(self, timeout=None, refresh=False) -> None:
        """GetInfo answers (a ping checks it); nothing in it is read."""


def test_job_queue_is_bounded_and_first_come_first_served(tmp_path, song):
    client = SlowClient()
    max_patch = OscClient(bridge=("127.0.0.1", 0), reply_port=0)
    bridge = OscBridge(
        client,
        ("127.0.0.1", 0),
        max_patch.reply_port,
        tmp_path / "out",
        workers=1,
        max_queue=3,
        allow_dirs=[song.parent],
    )
    bridge.start()
    max_patch.bridge = bridge.address
    try:
        ids = [max_patch.send(osc.EDIT, str(song), 0.01 * i, 0.5, 0, request_id=i + 1) for i in range(10)]
        time.sleep(0.5)
        client.release.set()
        finals = {i: max_patch.replies(i, timeout=30)[-1] for i in ids}
        done = [i for i, (address, _) in finals.items() if address == osc.DONE]
        busy = [i for i, (address, args) in finals.items() if address == osc.ERROR]
        assert len(done) == 4 and len(busy) == 6  # one running, three waiting
        assert all(finals[i][1][0] == "RESOURCE_EXHAUSTED" for i in busy)
        assert client.started == sorted(client.started)  # taken in the order they arrived
        assert max_patch.call(osc.PING)[-1] == (osc.PONG, ["SERVING"])
    finally:
        client.release.set()
        max_patch.close()
        bridge.stop()


def test_bridge_start_removes_stale_temporaries_only(tmp_path):
    import subprocess
    import sys

    out = tmp_path / "out"
    out.mkdir()
    dead = int(
        subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True).stdout
    )
    stale = out / f".song.edit1.0123abcd.wav.{dead}.a1b2c3d4.tmp"
    stale.write_bytes(b"\0" * 4096)
    result = out / "song.edit1.0123abcd.wav"
    result.write_bytes(b"kept")
    OscBridge(SlowClient(), ("127.0.0.1", 0), 0, out).start().stop()
    assert not stale.exists() and result.exists()
