"""Hostile input, round two, on the engine side: one server per port, replies sized before the work,
capacity refusals a client can tell from the rest, truncated or misnamed input, tokens kept out of `ps`."""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
from pathlib import Path

import grpc
import numpy as np
import pytest

from engine import wire
from engine.audio import AudioError, load, save_wav
from engine.client import EditorClient, EditorError
from engine.commands import serve as serve_command
from engine.errors import CommandError
from engine.server import EditorServer, ServerConfig, start_server
from engine.wire import MiB
from protos.musegenie.v1 import engine_pb2 as pb
from protos.musegenie.v1 import engine_pb2_grpc as pb_grpc
from tests.engine.conftest import req, stereo


@pytest.fixture(scope="module")
def server(tiny_pipeline):
    running = start_server(pipeline=tiny_pipeline, config=ServerConfig(port=0, max_message_mb=4))
    yield running
    running.stop(0)


def test_a_second_server_on_a_taken_port_is_refused(server):
    with pytest.raises(OSError, match="port is taken"):
        EditorServer(ServerConfig(port=server.port))


def test_serve_on_a_taken_port_exits_with_a_clear_message(server, tiny_bundle: Path):
    # A subprocess with a timeout: a serve that did start would otherwise block the test run.
    command = [
        sys.executable,
        "-m",
        "engine.cli",
        "serve",
        "--bundle",
        str(tiny_bundle),
        "--port",
        str(server.port),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "port is taken" in done.stderr


def test_only_refusals_for_lack_of_room_are_retried(server):
    song = np.zeros(
        (2, 44100 * 40), np.float32
    )  # a 30 s window is 10.6 MB, over a 4 MB limit: retrying cannot help
    with EditorClient(server.target, max_message_mb=64, busy_patience=30) as client:
        began = time.monotonic()
        with pytest.raises(EditorError) as refused:
            client.edit(song, 44100, req((15.0, 15.1), [0], context_seconds=15.0))
        assert refused.value.code == "RESOURCE_EXHAUSTED" and time.monotonic() - began < 5


@pytest.mark.parametrize("message", [pb.EditRequest, pb.ExploreRequest])
def test_a_reply_that_cannot_fit_is_refused_before_the_work(server, message):
    frames = (4 * MiB - 1000) // 8  # the request fits the 4 MiB limit; the same audio sent back would not
    audio = np.tile(stereo(1.0), (1, frames // 44100 + 1))[:, :frames]
    request = wire.request_to_proto(audio, 44100, req((0.1, 0.2), [0]), message)
    with EditorClient(server.target, max_message_mb=64) as client:  # its own size check is bypassed here
        stub = pb_grpc.EditorStub(client.channel)
        call = stub.Edit if message is pb.EditRequest else stub.Explore
        with pytest.raises(grpc.RpcError) as refused:
            list(call(request, timeout=30))
    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "the reply would be" in refused.value.details() and "--max-message-mb" in refused.value.details()


def test_a_wav_cut_short_is_refused_not_edited_in_part(tmp_path):
    whole = save_wav(tmp_path / "whole.wav", stereo(2.0), 44100, subtype="PCM_16").read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(whole[: len(whole) * 47 // 100])
    with pytest.raises(AudioError, match=r"truncated: the header says 2.00 s but the file holds 0.9\d s"):
        load(cut)
    assert load(tmp_path / "whole.wav")[0].shape == (2, 88200)


def test_a_folder_as_input_says_it_is_a_folder(tmp_path):
    with pytest.raises(AudioError, match="is a folder, not an audio file"):
        load(tmp_path)


def test_a_window_too_long_for_the_wire_is_refused_before_it_is_sent(server):
    song = np.zeros((2, 44100 * 60), np.float32)  # any length travels: only the region and its context do
    with EditorClient(server.target, max_message_mb=64) as client, pytest.raises(EditorError) as refused:
        client.edit(song, 44100, req((20.0, 20.1), [0], context_seconds=15.0))
    assert refused.value.code == "RESOURCE_EXHAUSTED" and "4 MiB message limit" in refused.value.details
    assert "the region and its context is 0.5 min" in refused.value.details
    assert (
        "at most 0.2 min at this rate" in refused.value.details and "Shorten either" in refused.value.details
    )


def test_serve_takes_its_token_from_a_file_not_the_command_line(tiny_bundle: Path, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("s3cret-from-a-file\n")
    with socket.socket() as probe:  # a free loopback port for the subprocess
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "engine.cli", "serve", "--bundle", str(tiny_bundle), "--port", str(port)]
    engine = subprocess.Popen([*command, "--token-file", str(token_file)], stderr=subprocess.DEVNULL)
    try:
        target = f"127.0.0.1:{port}"
        with EditorClient(target, token="s3cret-from-a-file", timeout=10) as client:
            client.wait_ready(60)
            assert client.info().num_actions > 0
        with (
            EditorClient(target, timeout=10) as anonymous,
            pytest.raises(EditorError, match="UNAUTHENTICATED"),
        ):
            anonymous.info()
        assert "s3cret" not in " ".join(Path(f"/proc/{engine.pid}/cmdline").read_text().split("\0"))
    finally:
        engine.terminate()
        engine.wait(30)


def test_token_options_are_checked(tmp_path, monkeypatch):
    parser = argparse.ArgumentParser()
    serve_command.add_arguments(parser)
    empty = tmp_path / "empty"
    empty.write_text(" \n")
    with pytest.raises(CommandError, match="is empty"):
        serve_command.token_from(parser.parse_args(["--token-file", str(empty)]))
    with pytest.raises(CommandError, match="not both"):
        serve_command.token_from(parser.parse_args(["--token", "a", "--token-file", str(empty)]))
    with pytest.raises(CommandError, match="cannot read --token-file"):
        serve_command.token_from(parser.parse_args(["--token-file", str(tmp_path / "missing")]))
    monkeypatch.setenv("MUSEGENIE_TOKEN", "from-the-environment")
    assert serve_command.token_from(parser.parse_args([])) == "from-the-environment"
