"""Asking for who plays: instrument requests through the pipeline, gRPC, the CLI and OSC.

An instrument-conditioned tiny bundle (3 instruments, with an estimator) must honour and validate them;
the plain tiny bundle (no vocabulary) must keep editing and refuse an instrument request clearly.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import grpc
import numpy as np
import pytest

from engine.audio import save_wav
from engine.bundle import load_bundle
from engine.cli import main as cli_main
from engine.client import EditorClient, EditorError
from engine.pipeline import Pipeline
from engine.request import Heard
from engine.runtime import Runtime, RuntimeConfig
from engine.server import ServerConfig, start_server
from engine.window import EditError
from engine.wire import request_to_proto
from osc_bridge import addresses as osc
from osc_bridge.osc_client import loopback_rig
from protos.musegenie.v1 import engine_pb2_grpc as pb_grpc
from tests.engine.conftest import req, stereo

SR = 44100
FAST_FLAGS = ["--steps", "2", "--decoder-steps", "2"]


@pytest.fixture(scope="module")
def instrument_pipeline(tiny_instrument_bundle: Path) -> Pipeline:
    bundle = load_bundle(tiny_instrument_bundle)
    return Pipeline(Runtime(bundle, RuntimeConfig(providers="cpu", intra_op_threads=1)))


@pytest.fixture(scope="module")
def instrument_server(instrument_pipeline):
    server = start_server(config=ServerConfig(port=0), pipeline=instrument_pipeline)
    yield server
    server.stop(0)


@pytest.fixture(scope="module")
def song(tmp_path_factory) -> Path:
    return save_wav(tmp_path_factory.mktemp("songs") / "song.wav", stereo(1.0), SR)


def test_the_bundle_lists_its_vocabulary_and_estimator(instrument_pipeline):
    assert instrument_pipeline.bundle.instruments == ["piano", "guitar", "bass"]
    assert instrument_pipeline.conditioned and instrument_pipeline.estimator is not None


def test_requested_players_change_only_the_region(instrument_pipeline):
    x = stereo(1.0)
    bass = instrument_pipeline.edit(x, SR, req((0.4, 0.6), [1], instruments=["bass"], seed=3))
    piano = instrument_pipeline.edit(x, SR, req((0.4, 0.6), [1], instruments=["piano"], seed=3))
    by_id = instrument_pipeline.edit(x, SR, req((0.4, 0.6), [1], instruments=[2], seed=3))
    assert bass.instruments == ("bass",) and piano.instruments == ("piano",)
    assert np.array_equal(bass.audio, by_id.audio)  # ids and names name the same vocabulary
    region = slice(round(0.4 * SR), round(0.6 * SR))
    assert not np.array_equal(bass.audio[:, region], piano.audio[:, region])
    fade = round(instrument_pipeline.bundle.defaults.crossfade_ms * SR / 1000)
    outside = slice(0, round(0.4 * SR) - fade)
    assert np.array_equal(bass.audio[:, outside], x[:, outside])


def test_guidance_null_row_has_unknown_players(instrument_pipeline):
    """Training drops actions and instruments together, so the guidance's null velocity has unknown (zero)
    instruments: at g=0 only the null row runs and who was asked for cannot matter; at g=2 it does."""
    x = stereo(1.0)
    region = slice(round(0.4 * SR), round(0.6 * SR))
    at = {
        g: [
            instrument_pipeline.edit(x, SR, req((0.4, 0.6), [1], instruments=[who], seed=3, guidance=g))
            for who in ("bass", "piano")
        ]
        for g in (0.0, 2.0)
    }
    assert np.array_equal(at[0.0][0].audio, at[0.0][1].audio)
    assert not np.array_equal(at[2.0][0].audio[:, region], at[2.0][1].audio[:, region])


def test_instrument_guidance_applies_only_to_edits_that_ask(instrument_pipeline, tiny_instrument_bundle):
    """An edit asking who plays is guided toward them with the bundle's instrument_guidance; an edit that
    does not ask, and a bundle without that default (older bundles), use the one guidance scale."""
    import dataclasses

    bundle = load_bundle(tiny_instrument_bundle)
    assert bundle.defaults.instrument_guidance == 4.0
    plain = dataclasses.replace(
        bundle, defaults=dataclasses.replace(bundle.defaults, instrument_guidance=None)
    )
    older = Pipeline(Runtime(plain, RuntimeConfig(providers="cpu", intra_op_threads=1, warmup=False)))
    x = stereo(1.0)
    unasked = req((0.4, 0.6), [1], seed=3, guidance=2.0)
    asked = req((0.4, 0.6), [1], instruments=["bass"], seed=3, guidance=2.0)
    assert np.array_equal(instrument_pipeline.edit(x, SR, unasked).audio, older.edit(x, SR, unasked).audio)
    assert not np.array_equal(instrument_pipeline.edit(x, SR, asked).audio, older.edit(x, SR, asked).audio)


def test_instrument_guidance_steers_along_what_the_request_changes(instrument_pipeline, monkeypatch):
    """An asked edit is the edit that does not ask plus g_i (v_asked - v_heard): its guidance batch holds the
    asked players, then the players as heard (exactly the unasked edit's conditioning), then the null row;
    the first two differ only inside the region, and only where the request changes who plays."""
    runtime = instrument_pipeline.runtime["dynamics"]
    bound: list[dict] = []
    bind = runtime.bind
    monkeypatch.setattr(runtime, "bind", lambda **c: bound.append(c) or bind(**c))
    x = stereo(1.0)
    settings = {
        "seed": 3,
        "guidance": 2.0,
        "context_seconds": 0.0,
    }  # the window the estimator hears someone in
    instrument_pipeline.edit(x, SR, req((0.4, 0.6), [1], **settings))
    asked = sorted(instrument_pipeline.bundle.instruments)[:2]
    instrument_pipeline.edit(x, SR, req((0.4, 0.6), [1], instruments=asked, **settings))
    unasked, ask = bound[0]["instruments"], bound[1]["instruments"]  # (2, T, I), (3, T, I)
    assert unasked.shape[0] == 2 and ask.shape[0] == 3
    assert unasked[0].any(), "the tiny estimator hears someone in the window, so heard != unknown"
    assert np.array_equal(ask[1], unasked[0]) and not ask[2].any()  # as heard; the null row's unknown players
    changed = np.nonzero(np.abs(ask[0] - ask[1]).sum(-1))[0]  # frames where the request changes who plays
    region = np.nonzero(bound[1]["mask"][0])[0]
    assert len(changed) and set(changed) <= set(region)
    wanted = np.zeros(ask.shape[-1], np.float32)
    wanted[[instrument_pipeline.bundle.instruments.index(n) for n in asked]] = 1.0
    assert np.array_equal(ask[0, region], np.broadcast_to(wanted, ask[0, region].shape))


def test_unset_players_are_the_ones_heard(instrument_pipeline):
    x = stereo(1.0)
    result = instrument_pipeline.edit(x, SR, req((0.4, 0.6), [1]))
    chunks = instrument_pipeline.infer_actions(x, SR, (0.4, 0.6))
    heard = {name for c in chunks for name in c["instruments"]}
    assert set(result.instruments) <= set(instrument_pipeline.bundle.instruments)
    assert heard <= set(instrument_pipeline.bundle.instruments)


@pytest.mark.parametrize(("instruments", "match"), [(["kazoo"], "unknown instrument"), ([7], "out of range")])
def test_bad_instruments_raise_edit_error(instrument_pipeline, instruments, match):
    with pytest.raises(EditError, match=match):
        instrument_pipeline.edit(stereo(0.5), SR, req((0.1, 0.2), [0], instruments=instruments))


def test_a_bundle_without_instruments_refuses_clearly_and_still_edits(tiny_pipeline):
    with pytest.raises(EditError, match="without instrument conditioning"):
        tiny_pipeline.edit(stereo(0.5), SR, req((0.1, 0.2), [0], instruments=["bass"]))
    result = tiny_pipeline.edit(stereo(0.5), SR, req((0.1, 0.2), [0]))
    assert result.instruments == () and result.audio.shape == (2, 22050)
    assert all(c["instruments"] == [] for c in tiny_pipeline.infer_actions(stereo(0.5), SR, (0.1, 0.2)))


def test_grpc_lists_validates_and_honours_instruments(instrument_server, instrument_pipeline):
    x = stereo(0.5)
    with EditorClient(instrument_server.target) as client:
        assert list(client.info().instruments) == ["piano", "guitar", "bass"]
        remote = client.edit(x, SR, req((0.1, 0.3), [0], instruments=["bass", 0], seed=2))
        local = instrument_pipeline.edit(x, SR, req((0.1, 0.3), [0], instruments=["piano", "bass"], seed=2))
        assert np.array_equal(remote.audio, local.audio) and remote.instruments == ("piano", "bass")
        with pytest.raises(EditorError) as err:
            client.edit(x, SR, req((0.1, 0.3), [0], instruments=["kazoo"]))
        assert err.value.code == "INVALID_ARGUMENT" and "kazoo" in err.value.details
        # a client that skips the name check meets the server's own
        stub = pb_grpc.EditorStub(client.channel)
        with pytest.raises(grpc.RpcError) as rpc:
            list(stub.Edit(request_to_proto(x, SR, req((0.1, 0.3), [0], instruments=["kazoo"])), timeout=30))
        assert rpc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        variants = list(client.explore(x, SR, req((0.1, 0.3), [0, 1], instruments=["guitar"])))
        assert [v.action.id for v in variants] == [0, 1]


def test_grpc_plain_bundle_refuses_an_instrument_request(tiny_pipeline):
    server = start_server(config=ServerConfig(port=0), pipeline=tiny_pipeline)
    try:
        with EditorClient(server.target) as client:
            assert list(client.info().instruments) == []
            with pytest.raises(EditorError) as err:
                client.edit(stereo(0.5), SR, req((0.1, 0.2), [0], instruments=["bass"]))
            assert err.value.code == "INVALID_ARGUMENT" and "instrument conditioning" in err.value.details
            stub = pb_grpc.EditorStub(client.channel)
            with pytest.raises(grpc.RpcError) as rpc:
                list(stub.Edit(request_to_proto(stereo(0.5), SR, req((0.1, 0.2), [0], instruments=["bass"]))))
            assert rpc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    finally:
        server.stop(0)


def test_cli_edit_with_instruments(tiny_instrument_bundle, tiny_bundle, song, tmp_path, capsys):
    out = tmp_path / "out.wav"
    base = ["edit", str(song), "--start", "0.3", "--end", "0.6", "--action", "1", "-o", str(out), *FAST_FLAGS]
    assert cli_main([*base, "--instruments", "bass,guitar", "--bundle", str(tiny_instrument_bundle)]) == 0
    assert out.is_file()
    assert cli_main([*base, "--instruments", "kazoo", "--bundle", str(tiny_instrument_bundle)]) != 0
    assert "unknown instrument 'kazoo'" in capsys.readouterr().err
    assert cli_main([*base, "--instruments", "bass", "--bundle", str(tiny_bundle)]) != 0
    assert "without instrument conditioning" in capsys.readouterr().err
    assert cli_main([*base, "--instruments", " , ", "--bundle", str(tiny_instrument_bundle)]) != 0


def test_osc_instruments_list_and_edit(instrument_server, song, tmp_path):
    with loopback_rig(instrument_server.target, tmp_path / "out") as (_, max_patch):
        replies = max_patch.call(osc.INSTRUMENTS_LIST)
        assert replies == [
            (osc.INSTRUMENT, [0, "piano"]),
            (osc.INSTRUMENT, [1, "guitar"]),
            (osc.INSTRUMENT, [2, "bass"]),
            (osc.DONE, []),
        ]
        done = max_patch.call(osc.EDIT, str(song), 0.3, 0.6, 1, "bass", "piano", timeout=120)[-1]
        assert done[0] == osc.DONE and Path(done[1][0]).is_file()
        error = max_patch.call(osc.EDIT, str(song), 0.3, 0.6, 1, "kazoo", timeout=120)[-1]
        assert error[0] == osc.ERROR and error[1][0] == "INVALID_ARGUMENT" and "kazoo" in error[1][1]


def _song_and_players(pipeline):
    """A 12-bar motif song over noise (16 kHz mono, the tiny bundle's rate: the random estimator hears a
    bass in the noise), a two-bar region in it, and who the estimator hears in most of the song's frames:
    players the song surely has elsewhere."""
    from tests.engine.test_song import UNIT, motif_song

    rate = pipeline.bundle.sample_rate
    noise = 0.3 * np.random.default_rng(1).standard_normal(12 * UNIT)
    song = (motif_song(12, seed=6) + noise).astype(np.float32)[None]
    index, _ = pipeline.songs.index(song, rate)
    rows, counts = np.unique(index.heard > 0.5, axis=0, return_counts=True)
    players = [n for n, on in zip(pipeline.bundle.instruments, rows[counts.argmax()], strict=True) if on]
    assert players, "the tiny estimator hears no one in this song: pick another seed"
    return song, rate, (6 * UNIT / rate, 8 * UNIT / rate), players


def test_an_instrument_request_gets_the_take_heard_as_asked(instrument_pipeline, monkeypatch):
    """A request that says who plays is checked as one that changes the action is: takes are read in the
    plan's order until one is heard as asked (here the second), which is the edit, or CHECK_PLAYER_READS
    were read. With the check off the cheapest take is the edit, and a request that asks nothing is not
    checked."""
    from engine import song_edit

    song, rate, region, players = _song_and_players(instrument_pipeline)
    songs = instrument_pipeline.songs
    actions = [c["action"] for c in instrument_pipeline.infer_actions(song, rate, region)]  # kept as read
    reads = []

    def read_back(index, span, fade, plan, wanted, heard=None):  # only the second take is heard as asked
        reads.append((plan.pieces, wanted, heard))
        return Heard(players=1.0) if len(reads) == 2 else Heard(players=0.5)

    monkeypatch.setattr(songs, "read_back", read_back)
    monkeypatch.setattr(song_edit, "CHECK_TAKES", 8)
    asked = req(region, actions, instruments=players, closeness=1.0, context_seconds=1.0)
    checked = instrument_pipeline.edit(song, rate, asked)
    assert checked.source.kind == "song" and len(reads) == 2 and reads[0][0] != reads[1][0]
    mask = np.isin(instrument_pipeline.bundle.instruments, players)
    assert all((w < 0).all() and np.array_equal(h, mask) for _, w, h in reads)  # no action to read back
    monkeypatch.setattr(song_edit, "CHECK_PLAYERS", False)
    cheapest = instrument_pipeline.edit(song, rate, asked)
    assert len(reads) == 2 and cheapest.source.kind == "song" and cheapest.source.heard is None
    assert cheapest.source != replace(checked.source, heard=None)  # another take
    assert checked.source.heard == Heard(players=1.0)  # as the check heard the take it kept
    monkeypatch.setattr(song_edit, "CHECK_PLAYERS", True)
    monkeypatch.setattr(song_edit, "CHECK_PLAYER_READS", 3)  # none heard as asked: 3 reads, the cheapest
    monkeypatch.setattr(songs, "read_back", lambda *a: reads.append(a[3].pieces) or Heard(players=0.5))
    last = instrument_pipeline.edit(song, rate, asked).source
    assert replace(last, heard=None) == cheapest.source and len(reads) == 5 and last.heard.players == 0.5
    instrument_pipeline.edit(song, rate, req(region, actions, closeness=1.0, context_seconds=1.0))
    assert len(reads) == 5  # who plays was not asked, no action changes: nothing to check


def test_the_check_hears_a_take_as_eval_edit_hears_the_edit(instrument_pipeline):
    """The check's reading of who plays in a take is exactly eval edit's reading of the edit returned
    (`heard_in` at the model rate): the set heard agrees in every instrument, its complement in none."""
    from engine import song_edit
    from engine.window import spread_actions
    from training.evaluation.edit_instruments import heard_in

    song, rate, region, players = _song_and_players(instrument_pipeline)
    songs, names = instrument_pipeline.songs, instrument_pipeline.bundle.instruments
    index, _ = songs.index(song, rate)
    prepared = instrument_pipeline.prepare(song, rate, region, 1.0, encode=False)
    settings = instrument_pipeline.settings(req(region, [0], closeness=1.0, context_seconds=1.0))
    frames = prepared.window.frame_end - prepared.window.frame_start
    wanted = spread_actions(
        [c["action"] for c in instrument_pipeline.infer_actions(song, rate, region)], frames
    )
    plan = songs.plan(prepared, wanted, np.isin(names, players).astype(np.float32), settings, 0).plan
    assert plan is not None
    audio, _ = songs.render(prepared, plan)
    heard = np.isin(names, sorted(heard_in(instrument_pipeline, audio, rate, region)))
    span, none = (prepared.window.start, prepared.window.end), np.full(2, -1)
    read = lambda mask: songs.read_back(index, span, prepared.window.fade, plan, none, mask)  # noqa: E731
    assert read(heard).agreement == 1.0 and read(~heard).agreement == 0.0
    assert song_edit.CHECK_PLAYERS  # the shipped engine checks
