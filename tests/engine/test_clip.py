"""Files of any length over the wire (engine.clip): only the region's window and, once, the song at the
model's rate travel; the client renders a song-aware plan from its file with the engine's own code, and
every result equals the in-process edit of the whole file, sample for sample."""

from __future__ import annotations

from dataclasses import replace

import grpc
import numpy as np
import pytest

from engine import clip, wire
from engine.audio import load, resample, save_wav, to_mono
from engine.client import EditorClient, EditorError
from engine.request import EditRequest
from engine.server import ServerConfig, start_server
from engine.song import song_mel
from engine.song_render import Patch
from engine.spectrogram import log_mel
from engine.window import Part
from protos.musegenie.v1 import engine_pb2 as pb
from protos.musegenie.v1 import engine_pb2_grpc as pb_grpc
from tests.engine.conftest import req, stereo

SR = 44100
SECONDS = 14.0  # 4.9 MB of stereo float32: over the server's 4 MB message limit, so it cannot travel whole


@pytest.fixture(scope="module")
def server(tiny_pipeline):
    config = ServerConfig(port=0, max_message_mb=4, max_song_minutes=1.0)
    running = start_server(pipeline=tiny_pipeline, config=config)
    yield running
    running.stop(0)


@pytest.fixture(scope="module")
def song(tmp_path_factory):
    audio = stereo(SECONDS, seed=3) * np.linspace(0.3, 1.0, int(SECONDS * SR), dtype=np.float32)
    return save_wav(tmp_path_factory.mktemp("songs") / "song.wav", audio, SR, subtype="PCM_24")


@pytest.fixture
def client(server):
    with EditorClient(server.target, max_message_mb=64, timeout=120) as c:
        yield c


@pytest.mark.parametrize("closeness", [1.0, 0.0])
def test_a_file_over_the_message_limit_edits_as_in_process(client, tiny_pipeline, song, tmp_path, closeness):
    whole, _ = load(song)
    # the region's own actions: the song always has material for them (the tiny bundle's LAM is untrained)
    kept = [c["action"] for c in tiny_pipeline.infer_actions(whole, SR, (6.0, 7.5))]
    request = req((6.0, 7.5), kept, closeness=closeness, seed=4, context_seconds=3.0)
    local = tiny_pipeline.edit(whole, SR, request)
    result = client.edit_file(song, request, tmp_path / "out.wav")
    assert result.audio is None and result.source == local.source
    assert (result.source.kind == "song") == (closeness > 0)
    written, rate = load(tmp_path / "out.wav")
    assert rate == SR and np.array_equal(written, local.audio)  # bit for bit
    assert np.array_equal(client.edit(whole, SR, request).audio, local.audio)  # from memory, the same
    other = replace(request, actions=((kept[0] + 1) % tiny_pipeline.bundle.num_actions,))
    changed = client.edit_file(song, other, tmp_path / "other.wav")  # the engine's reading of its plan
    local_other = tiny_pipeline.edit(whole, SR, other)
    assert changed.source == local_other.source and changed.source.heard.chunks
    assert np.array_equal(load(tmp_path / "other.wav")[0], local_other.audio)  # eased edges too, bit for bit


def test_the_song_travels_once_and_again_only_when_the_engine_dropped_it(
    client, tiny_pipeline, song, tmp_path
):
    tiny_pipeline.songs.cache._items.clear()
    sent, put, has = [], client.put_song, client.has_song
    client.put_song = lambda source, key: (sent.append(key), put(source, key))
    request = req((2.0, 3.0), [2], closeness=1.0)
    first = client.edit_file(song, request, tmp_path / "a.wav")
    client.edit_file(song, req((8.0, 9.0), [3], closeness=1.0), tmp_path / "b.wav")
    assert len(sent) == 1 and client.has_song(sent[0])
    tiny_pipeline.songs.cache._items.clear()  # evicted between the client's question and its edit:
    answers = iter([True])  # the engine said it had the song, then the edit finds it gone
    client.has_song = lambda key: next(answers, False) or has(key)
    again = client.edit_file(song, request, tmp_path / "c.wav")
    assert sent == [sent[0]] * 2 and again.source == first.source
    assert np.array_equal(load(tmp_path / "a.wav")[0], load(tmp_path / "c.wav")[0])


def test_explore_and_infer_read_only_the_window(client, tiny_pipeline, song, tmp_path):
    whole, _ = load(song)
    request = EditRequest((4.0, 5.0), actions=(0, 2), steps=2, decoder_steps=2, closeness=1.0, seed=1)
    local = list(tiny_pipeline.explore(whole, SR, request))
    remote = list(client.explore_file(song, request, lambda action: tmp_path / f"v{action.id}.wav"))
    assert [a.id for a, _, _ in remote] == [v.action.id for v in local]
    for (_, path, where), variant in zip(remote, local, strict=True):
        assert where == variant.source and np.array_equal(load(path)[0], variant.audio)
    remote, local = (
        client.infer_actions_file(song, 4.0, 6.0),
        tiny_pipeline.infer_actions(whole, SR, (4.0, 6.0)),
    )
    assert [(c["start"], c["action"]) for c in remote] == [(c["start"], c["action"]) for c in local]
    assert np.allclose([c["probabilities"] for c in remote], [c["probabilities"] for c in local], atol=1e-6)


def test_the_whole_file_cannot_travel_but_its_window_does(client):
    big = stereo(SECONDS)
    message = wire.request_to_proto(big, SR, req((1.0, 2.0), [0]))  # what an older client sends
    with pytest.raises(grpc.RpcError) as refused:
        list(pb_grpc.EditorStub(client.channel).Edit(message, timeout=30))
    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert client.edit(big, SR, req((1.0, 2.0), [0])).audio.shape == big.shape


def test_a_song_too_long_for_the_engine_is_refused_before_the_file_is_read(client, tmp_path, monkeypatch):
    long_song = save_wav(tmp_path / "long.wav", np.zeros((2, SR * 70), np.float32), SR, subtype="PCM_16")
    reads = []
    monkeypatch.setattr(clip.FileSource, "read", lambda self, lo, hi: reads.append((lo, hi)))
    with pytest.raises(EditorError) as refused:
        client.edit_file(long_song, req((1.0, 2.0), [0], closeness=1.0), tmp_path / "out.wav")
    assert refused.value.code == "RESOURCE_EXHAUSTED" and "at most 1 min" in refused.value.details
    assert "closeness 0" in refused.value.details and reads == []


def test_put_song_refuses_a_bad_header_before_taking_audio(client):
    stub = pb_grpc.EditorStub(client.channel)

    def put(*parts: pb.SongPart) -> grpc.StatusCode:
        try:
            stub.PutSong(iter(parts), timeout=30)
        except grpc.RpcError as err:
            return err.code()
        return grpc.StatusCode.OK

    key = "0" * 32
    assert (
        put(pb.SongPart(key=key, sample_rate=SR, num_samples=SR * 3600)) == grpc.StatusCode.RESOURCE_EXHAUSTED
    )
    assert put(pb.SongPart(key="../x", sample_rate=SR, num_samples=SR)) == grpc.StatusCode.INVALID_ARGUMENT
    short = np.zeros(100, "<f4").tobytes()  # a second at 44.1 kHz is 16000 model-rate samples, not 100
    assert (
        put(pb.SongPart(key=key, sample_rate=SR, num_samples=SR, pcm=short))
        == grpc.StatusCode.INVALID_ARGUMENT
    )
    nan = np.full(16000, np.nan, "<f4").tobytes()
    assert (
        put(pb.SongPart(key=key, sample_rate=SR, num_samples=SR, pcm=nan)) == grpc.StatusCode.INVALID_ARGUMENT
    )
    assert not client.has_song(key)


def test_a_stretch_that_misses_the_window_or_the_file_is_invalid(client):
    audio = stereo(2.0)
    request = req((5.0, 6.0), [0])
    for part in (Part(4 * SR, 20 * SR), Part(19 * SR, 20 * SR)):  # window from 3 s; past the end
        message = wire.request_to_proto(audio, SR, request, part=part)
        with pytest.raises(grpc.RpcError) as refused:
            list(pb_grpc.EditorStub(client.channel).Edit(message, timeout=30))
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_the_song_streams_as_the_engine_would_resample_it_and_the_output_is_written_in_blocks(
    song, tmp_path, monkeypatch
):
    source = clip.FileSource(song)
    whole, _ = load(song)
    parts = list(clip.song_parts(source, 16000, "k" * 32, part=5000))
    mono = np.concatenate([np.frombuffer(p.pcm, "<f4") for p in parts[1:]])
    assert np.array_equal(mono, resample(to_mono(whole), SR, 16000)[0])  # bit for bit, any part size
    assert all(len(p.pcm) <= 5000 * 4 for p in parts)
    monkeypatch.setattr(clip, "BLOCK", 4096)  # many blocks, the patch across two of them
    patch = Patch(4000, np.ones((2, 300), np.float32))
    clip.write_patched(source, tmp_path / "patched.wav", patch)
    save_wav(tmp_path / "whole.wav", patch.applied(whole), SR)
    assert (tmp_path / "patched.wav").read_bytes() == (tmp_path / "whole.wav").read_bytes()
    assert clip.song_key(source) == clip.song_key(clip.ArraySource(whole, SR))


def test_a_long_songs_mel_is_analysed_in_blocks_as_in_one_pass():
    x = np.random.default_rng(0).standard_normal(16000 * 70).astype(np.float32)  # 4376 frames > one block
    assert np.allclose(song_mel(x, 16000), log_mel(x, 16000, n_mels=64, n_fft=1024, hop=256), atol=1e-4)
