"""Prepare a song before its first edit: IndexSong builds the index of a song sent with PutSong, in the edits'
queue, and the song's first edit then finds it cached; `EditorClient.prepare_file` and `musegenie prepare`
send the song when the engine lacks it, and succeed without preparing against an engine that keeps no
songs (a cluster gateway)."""

from __future__ import annotations

import threading

import grpc
import numpy as np
import pytest

from engine import clip
from engine import service as service_module
from engine.audio import save_wav
from engine.cli import main
from engine.client import EditorClient, EditorError
from engine.server import EditorServer, ServerConfig, start_server
from engine.service import EditorService
from protos.musegenie.v1 import engine_pb2 as pb
from protos.musegenie.v1 import engine_pb2_grpc as pb_grpc
from tests.engine.conftest import req, stereo

SR = 44100


@pytest.fixture(scope="module")
def server(tiny_pipeline):
    running = start_server(pipeline=tiny_pipeline, config=ServerConfig(port=0, max_song_minutes=1.0))
    yield running
    running.stop(0)


@pytest.fixture(scope="module")
def song(tmp_path_factory):
    audio = stereo(10.0, seed=11) * np.linspace(0.4, 1.0, 10 * SR, dtype=np.float32)
    return save_wav(tmp_path_factory.mktemp("songs") / "prepared.wav", audio, SR, subtype="PCM_24")


@pytest.fixture
def builds(tiny_pipeline, monkeypatch):
    """(key, whether it was cached) of every song index the engine looks up, in order."""
    cache, seen = tiny_pipeline.songs.cache, []
    get = cache.get

    def recorded(key, build):
        index, cached = get(key, build)
        seen.append((key, cached))
        return index, cached

    monkeypatch.setattr(cache, "get", recorded)
    return seen


def test_prepare_builds_the_index_once_and_the_first_edit_finds_it(
    server, tiny_pipeline, song, builds, tmp_path
):
    tiny_pipeline.songs.cache._items.pop(clip.song_key(clip.FileSource(song)), None)  # whatever ran before
    with EditorClient(server.target, timeout=120) as client:
        heard = []
        first = client.prepare_file(song, on_progress=lambda f, stage: heard.append((f, stage)))
        assert first.indexed and first.built and first.seconds > 0 and builds == [(first.key, False)]
        fractions = [f for f, stage in heard if stage == "index"]
        assert fractions and fractions == sorted(fractions) and fractions[-1] == 1.0
        again = client.prepare_file(song)
        assert again.indexed and not again.built and again.key == first.key
        stages = []
        client.edit_file(
            song, req((3.0, 4.0), [1], closeness=1.0), tmp_path / "out.wav", lambda f, s: stages.append(s)
        )
    assert builds == [(first.key, False), (first.key, True), (first.key, True)]  # the edit: cached
    assert stages and "index" not in stages  # the stage a song's first edit spends indexing it


def test_index_song_refuses_a_song_it_does_not_hold(server):
    stub = pb_grpc.EditorStub(grpc.insecure_channel(server.target))
    with pytest.raises(grpc.RpcError) as missing:
        list(stub.IndexSong(pb.SongQuery(key="0123456789abcdef" * 2), timeout=30))
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND and "PutSong" in missing.value.details()
    with pytest.raises(grpc.RpcError) as malformed:
        list(stub.IndexSong(pb.SongQuery(key="../etc"), timeout=30))
    assert malformed.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_index_song_waits_in_the_edits_queue_and_says_so(server, tmp_path, monkeypatch):
    monkeypatch.setattr(service_module, "QUEUED_EVERY", 0.05)
    other = save_wav(tmp_path / "other.wav", stereo(4.0, seed=12), SR)
    stages, results = [], []
    with EditorClient(server.target, timeout=120) as client:
        admission = server.service.admission
        admission.acquire(lambda: True)  # an edit computing: the only slot is taken
        worker = threading.Thread(
            target=lambda: results.append(client.prepare_file(other, lambda f, s: stages.append(s)))
        )
        worker.start()
        try:
            worker.join(1.0)
            assert worker.is_alive() and set(stages) == {"queued"}
        finally:
            admission.release()
        worker.join(60)
    assert results[0].built and stages[-1] == "index"


def test_an_engine_without_songs_has_nothing_to_prepare(tiny_pipeline, song, tmp_path, capsys):
    class Gateway(EditorService):  # answers the song RPCs as engine.cluster's gateway does: UNIMPLEMENTED
        GetSong = pb_grpc.EditorServicer.GetSong
        PutSong = pb_grpc.EditorServicer.PutSong
        IndexSong = pb_grpc.EditorServicer.IndexSong

    config = ServerConfig(port=0)
    gateway = EditorServer(config, tiny_pipeline, Gateway(service_module.Limits())).start()
    try:
        with EditorClient(gateway.target, timeout=60) as client:
            done = client.prepare_file(song)
        assert not done.indexed and "keeps no songs" in done.note
        assert main(["prepare", str(song), "--engine", gateway.target]) == 0
        assert "not prepared" in capsys.readouterr().out
    finally:
        gateway.stop(0)


def test_the_command_prepares_and_says_what_it_did(server, song, tmp_path, capsys):
    assert main(["prepare", str(song), "--engine", server.target]) == 0
    assert "start at once" in capsys.readouterr().out
    (tmp_path / "bad.wav").write_bytes(b"RIFF not audio")
    assert main(["prepare", str(tmp_path / "bad.wav"), "--engine", server.target]) == 1
    assert "not readable audio" in capsys.readouterr().err
    assert main(["prepare", str(tmp_path / "missing.wav"), "--engine", server.target]) == 1
    assert "no such file" in capsys.readouterr().err


def test_prepare_reports_an_engine_it_cannot_reach(song):
    with EditorClient("127.0.0.1:1", timeout=5) as client, pytest.raises(EditorError) as failed:
        client.prepare_file(song)
    assert failed.value.code == "UNAVAILABLE"
