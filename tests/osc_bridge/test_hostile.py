"""Hostile input, round two, against the OSC bridge: one bridge per port, no open door on the network,
files only under the allowed folders, bounded replies, deadlines on engine calls, an honest ping."""

from __future__ import annotations

import argparse
from contextlib import contextmanager

import numpy as np
import pytest
from pythonosc.osc_message_builder import build_msg

from engine.audio import load, save_wav
from engine.client import EditorClient
from engine.errors import CommandError
from engine.request import EditRequest
from engine.server import ServerConfig, start_server
from osc_bridge import addresses as osc
from osc_bridge import bridge as bridge_module
from osc_bridge.access import CLIENT_TOKEN_ENV
from osc_bridge.bridge import MAX_BUNDLE_MESSAGES, MAX_PROGRESS_REPLIES, OscBridge
from osc_bridge.command import add_arguments, run
from osc_bridge.osc_client import OscClient, loopback_rig
from tests.engine.conftest import stereo
from tests.osc_bridge.test_misuse import SlowClient, bundle


def test_a_second_bridge_on_a_taken_port_is_refused(tmp_path):
    first = OscBridge(SlowClient(), ("127.0.0.1", 0), 0, tmp_path / "out").start()
    try:
        with pytest.raises(OSError, match="taken"):
            OscBridge(SlowClient(), first.address, 0, tmp_path / "out")
    finally:
        first.stop()


class NoSocket(Exception):
    """Raised instead of binding: these tests must never open a port on a non-loopback address."""


def refuse_to_bind(*args, **kwargs):
    raise NoSocket


def test_a_non_loopback_listen_needs_a_client_token_or_insecure(tmp_path, monkeypatch):
    monkeypatch.setattr(bridge_module, "_UDPServer", refuse_to_bind)
    with pytest.raises(ValueError, match="--client-token-file"):
        OscBridge(SlowClient(), ("0.0.0.0", 9000), 0, tmp_path / "out")
    for allowed in ({"client_token": "s3cret"}, {"insecure": True}):  # past the check: it would bind now
        with pytest.raises(NoSocket):
            OscBridge(SlowClient(), ("0.0.0.0", 9000), 0, tmp_path / "out", **allowed)


def test_osc_bridge_command_refuses_a_non_loopback_listen(tmp_path, monkeypatch):
    monkeypatch.setattr(bridge_module, "_UDPServer", refuse_to_bind)
    monkeypatch.delenv(CLIENT_TOKEN_ENV, raising=False)
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--listen", "0.0.0.0:9000", "--out-dir", str(tmp_path / "out")])
    with pytest.raises(CommandError, match="--insecure"):
        run(args)


@contextmanager
def bridge_on(tmp_path, **options):
    """A bridge on a SlowClient (released: edits answer at once) and a Max stand-in, on loopback."""
    client = SlowClient()
    client.release.set()
    max_patch = OscClient(bridge=("127.0.0.1", 0), reply_port=0)
    bridge = OscBridge(client, ("127.0.0.1", 0), max_patch.reply_port, tmp_path / "out", **options).start()
    max_patch.bridge = bridge.address
    try:
        yield max_patch
    finally:
        max_patch.close()
        bridge.stop()


def test_with_a_client_token_a_sender_must_authenticate_first(tmp_path):
    with bridge_on(tmp_path, client_token="s3cret") as max_patch:
        (address, (code, _)) = max_patch.call(osc.PING)[-1]
        assert address == osc.ERROR and code == "UNAUTHENTICATED"
        (address, (code, message)) = max_patch.call(osc.AUTH, "wrong")[-1]
        assert address == osc.ERROR and code == "UNAUTHENTICATED" and "wrong" in message
        assert max_patch.call(osc.AUTH, "s3cret") == [(osc.DONE, [])]
        assert max_patch.call(osc.PING)[-1] == (osc.PONG, ["SERVING"])


@pytest.fixture
def disk(tmp_path):
    """An allowed folder with a song, a hidden folder and a link out; a secret song outside it."""
    audio = np.zeros((2, 4410), np.float32)
    allowed, outside = tmp_path / "allowed", tmp_path / "outside"
    song = save_wav(allowed / "song.wav", audio, 44100)
    secret = save_wav(outside / "secret.wav", audio, 44100)
    hidden = save_wav(allowed / ".hidden" / "song.wav", audio, 44100)
    link = allowed / "link.wav"
    link.symlink_to(secret)
    return {"allowed": allowed, "song": song, "secret": secret, "hidden": hidden, "link": link}


def edit_error(max_patch: OscClient, in_path: str) -> tuple[str, str]:
    address, args = max_patch.call(osc.EDIT, in_path, 0.01, 0.05, 0, timeout=30)[-1]
    assert address == osc.ERROR, args
    return args[0], args[1]


def test_files_are_read_only_under_the_allowed_folders(tmp_path, disk):
    with bridge_on(tmp_path, allow_dirs=[disk["allowed"]]) as max_patch:
        assert max_patch.call(osc.EDIT, str(disk["song"]), 0.01, 0.05, 0, timeout=30)[-1][0] == osc.DONE
        secret = edit_error(max_patch, str(disk["secret"]))
        missing = edit_error(max_patch, str(disk["secret"].with_name("nothing.wav")))
        assert secret == missing and secret[0] == "INVALID_ARGUMENT" and "outside" in secret[1]
        assert edit_error(max_patch, str(disk["link"])) == secret  # a symlink leading out
        assert edit_error(max_patch, str(disk["hidden"])) == secret  # a hidden folder inside
        dotted = f"{disk['allowed']}/../outside/secret.wav"
        assert "'..'" in edit_error(max_patch, dotted)[1]
        assert "absolute" in edit_error(max_patch, "~/song.wav")[1]


def test_one_datagram_brings_back_a_bounded_number_of_replies(rig, disk):
    _, max_patch, _ = rig
    replies = max_patch.call(osc.EDIT, str(disk["song"]), 0.02, 0.08, 0, timeout=60)
    assert replies[-1][0] == osc.DONE and 1 < len(replies) <= MAX_PROGRESS_REPLIES + 1, replies
    fractions = [args[0] for address, args in replies if address == osc.PROGRESS]
    assert fractions == sorted(set(fractions))
    pings = bundle(*[build_msg(osc.PING, [i]).dgram for i in range(1, MAX_BUNDLE_MESSAGES + 2)])
    max_patch.send_raw(pings)  # one message too many: a single refusal, not a reply per ping
    (address, (code, message)) = max_patch.replies(-1, final=osc.ERROR, timeout=10)[-1]
    assert code == "INVALID_ARGUMENT" and f"more than {MAX_BUNDLE_MESSAGES} messages" in message


@pytest.mark.parametrize(("token", "status"), [("wrong", "UNAUTHENTICATED"), ("right", "SERVING")])
def test_ping_checks_the_engine_token(tiny_pipeline, tmp_path, token, status):
    server = start_server(pipeline=tiny_pipeline, config=ServerConfig(port=0, token="right"))
    client = EditorClient(server.target, token=token)
    max_patch = OscClient(bridge=("127.0.0.1", 0), reply_port=0)
    bridge = OscBridge(client, ("127.0.0.1", 0), max_patch.reply_port, tmp_path / "out").start()
    max_patch.bridge = bridge.address
    try:
        ((address, (answer,)),) = max_patch.call(osc.PING, timeout=30)
        assert address == osc.PONG and answer.split(":")[0] == status, answer
    finally:
        max_patch.close()
        bridge.stop()
        client.close()
        server.stop(0)


def test_a_file_longer_than_a_message_edits_sending_only_its_window_and_song(tiny_pipeline, tmp_path):
    server = start_server(pipeline=tiny_pipeline, config=ServerConfig(port=0, max_message_mb=4))
    long_song = save_wav(tmp_path / "long.wav", stereo(20.0, seed=2), 44100, "PCM_16")  # 7 MB as float32
    try:
        with loopback_rig(server.target, tmp_path / "out") as (_, max_patch):
            (address, (path, source)) = max_patch.call(osc.EDIT, str(long_song), 8.0, 9.0, 1, timeout=120)[-1]
            assert address == osc.DONE, (path, source)
        whole, sr = load(long_song)
        local = tiny_pipeline.edit(whole, sr, EditRequest((8.0, 9.0), (1,)))
        assert np.array_equal(load(path)[0], local.audio) and source == local.source.text
    finally:
        server.stop(0)
