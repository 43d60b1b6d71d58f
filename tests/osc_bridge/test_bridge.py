"""The OSC bridge over real UDP sockets on loopback, in front of a real gRPC engine on the tiny bundle."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from engine import clip
from engine.audio import load, save_wav
from engine.bundle import load_bundle
from engine.client import EditorClient
from engine.server import ServerConfig, start_server
from osc_bridge import addresses as osc
from osc_bridge.bridge import OscBridge
from osc_bridge.osc_client import OscClient


@pytest.fixture(scope="module")
def song(tmp_path_factory) -> Path:
    """A 2 s stereo 44.1 kHz file, as a DAW would hand over."""
    t = np.arange(88200) / 44100
    audio = np.stack([0.3 * np.sin(2 * np.pi * 220 * t), 0.2 * np.sin(2 * np.pi * 330 * t)]).astype(
        np.float32
    )
    return save_wav(tmp_path_factory.mktemp("songs") / "song.wav", audio, 44100, subtype="PCM_24")


def test_ping_and_actions(rig, tiny_bundle):
    _, max_patch, _ = rig
    assert max_patch.call(osc.PING)[-1] == (osc.PONG, ["SERVING"])
    replies = max_patch.call(osc.ACTIONS)
    names = [a.name for a in load_bundle(tiny_bundle).actions]
    assert [r[1][1] for r in replies[:-1]] == names and replies[-1] == (osc.DONE, [])
    assert [r[1][0] for r in replies[:-1]] == list(range(len(names)))


def test_edit_writes_a_new_file_equal_to_the_input_outside_the_region(rig, song, tiny_bundle):
    _, max_patch, out_dir = rig
    replies = max_patch.call(osc.EDIT, str(song), 0.8, 1.2, 1, 2)
    *progress, (address, args) = replies
    assert address == osc.DONE, replies
    fractions = [a[0] for addr, a in progress if addr == osc.PROGRESS]
    assert fractions and fractions == sorted(fractions) and fractions[-1] <= 1.0
    out = Path(args[0])
    assert out.parent == out_dir.resolve() and out != song and song.exists()
    before, sr = load(song)
    after, sr_out = load(out)
    assert sr_out == sr and after.shape == before.shape
    fade = load_bundle(tiny_bundle).defaults.crossfade_ms / 1000 + 0.01
    edge_a, edge_b = int((0.8 - fade) * sr), int((1.2 + fade) * sr)
    np.testing.assert_allclose(after[:, :edge_a], before[:, :edge_a], atol=1e-6)  # 24-bit in, float out
    np.testing.assert_allclose(after[:, edge_b:], before[:, edge_b:], atol=1e-6)
    assert not np.allclose(after[:, int(0.9 * sr) : int(1.1 * sr)], before[:, int(0.9 * sr) : int(1.1 * sr)])


def test_infer_and_explore(rig, song, tiny_bundle):
    _, max_patch, out_dir = rig
    ((address, actions),) = max_patch.call(osc.INFER, str(song), 0.5, 1.5)
    num_actions = load_bundle(tiny_bundle).num_actions
    assert address == osc.INFERRED and actions and all(0 <= a < num_actions for a in actions)
    replies = max_patch.call(osc.EXPLORE, str(song), 0.5, 1.0)
    variants = [args for address, args in replies if address == osc.VARIANT]
    assert replies[-1] == (osc.DONE, []) and [v[0] for v in variants] == list(range(num_actions))
    assert all(Path(v[1]).parent == out_dir.resolve() and Path(v[1]).is_file() for v in variants)


def test_prepare_indexes_the_song_so_its_first_edit_finds_it(rig, tiny_pipeline, tmp_path):
    _, max_patch, _ = rig
    audio = np.random.default_rng(5).uniform(-0.3, 0.3, (2, 3 * 44100)).astype(np.float32)
    fresh = save_wav(tmp_path / "fresh.wav", audio, 44100)  # a song no engine has seen
    key = clip.song_key(clip.FileSource(fresh))
    replies = max_patch.call(osc.PREPARE, str(fresh))
    assert replies[-1] == (osc.DONE, []) and key in tiny_pipeline.songs.cache, replies
    fractions = [args[0] for address, args in replies if address == osc.PROGRESS]
    assert fractions and fractions == sorted(fractions) and fractions[-1] == 1.0
    assert max_patch.call(osc.CLOSENESS, 1.0) == [(osc.DONE, [])]
    *_, (address, args) = max_patch.call(osc.EDIT, str(fresh), 1.0, 1.5, 1)
    assert address == osc.DONE and Path(args[0]).is_file(), args


@pytest.mark.parametrize(
    ("address", "args", "code", "words"),
    [
        ("/musegenie/bogus", [5], "INVALID_ARGUMENT", "unknown address"),
        (osc.EDIT, [5, "SONG", 0.5], "INVALID_ARGUMENT", "expects"),
        (osc.EDIT, [5, "SONG", "a", 1.0, 0], "INVALID_ARGUMENT", "start_s"),
        (osc.EDIT, [5, "relative.wav", 0.5, 1.0, 0], "INVALID_ARGUMENT", "absolute"),
        (osc.EDIT, [5, "/no/such/file.wav", 0.5, 1.0, 0], "INVALID_ARGUMENT", "no such file"),
        (osc.EDIT, [5, "NOTAUDIO", 0.5, 1.0, 0], "INVALID_ARGUMENT", "not readable audio"),
        (osc.EDIT, [5, "SONG", 1.5, 9.0, 0], "OUT_OF_RANGE", ""),
        (osc.EDIT, [5, "SONG", 1.0, 0.5, 0], "OUT_OF_RANGE", ""),
        (osc.EDIT, [5, "SONG", 0.5, 1.0, 99], "INVALID_ARGUMENT", "99"),
        (osc.PREPARE, [5, "/no/such/file.wav"], "INVALID_ARGUMENT", "no such file"),
        (osc.PREPARE, [5, "NOTAUDIO"], "INVALID_ARGUMENT", "not readable audio"),
        (osc.PREPARE, [5, "relative.wav"], "INVALID_ARGUMENT", "absolute"),
        (osc.PREPARE, [5], "INVALID_ARGUMENT", "expects"),
    ],
)
def test_bad_requests_get_an_error_with_their_id(rig, song, tmp_path, address, args, code, words):
    _, max_patch, _ = rig
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"this is not audio at all" * 10)
    args = [str(song) if a == "SONG" else str(junk) if a == "NOTAUDIO" else a for a in args]
    max_patch.send(address, *args[1:], request_id=args[0])
    reply, (got_code, message) = max_patch.replies(5, timeout=60)[-1]
    assert reply == osc.ERROR and got_code == code and words in message  # in request 5's inbox: id echoed
    assert max_patch.call(osc.PING)[-1] == (osc.PONG, ["SERVING"])  # still serving


def test_garbage_datagram_gets_error_minus_one(rig):
    _, max_patch, _ = rig
    max_patch.send_raw(b"\x00\x01garbage that is not OSC")
    max_patch.send_raw(b"/musegenie/ping\x00,s\x00\x00")  # truncated message
    replies = max_patch.replies(-1, final=osc.ERROR, timeout=10)
    assert replies[-1][0] == osc.ERROR and replies[-1][1][0] == "INVALID_ARGUMENT"


def test_large_datagrams_are_accepted(rig, song):
    _, max_patch, _ = rig
    replies = max_patch.call(osc.EDIT, str(song), 0.5, 1.0, *([0, 1, 2, 3] * 2500))  # ~50 KB message
    assert replies[-1][0] == osc.ERROR and replies[-1][1][0] == "INVALID_ARGUMENT"  # more actions than frames


def test_engine_down_then_back(tiny_pipeline, song, tmp_path):
    server = start_server(config=ServerConfig(port=0), pipeline=tiny_pipeline)
    port = server.port
    max_patch = OscClient(bridge=("127.0.0.1", 0), reply_port=0)
    client = EditorClient(server.target, timeout=20)
    bridge = OscBridge(
        client, ("127.0.0.1", 0), max_patch.reply_port, tmp_path / "out", allow_dirs=[song.parent]
    ).start()
    max_patch.bridge = bridge.address
    try:
        assert max_patch.call(osc.EDIT, str(song), 0.5, 1.0, 0)[-1][0] == osc.DONE
        server.stop(0)
        down = max_patch.call(osc.EDIT, str(song), 0.5, 1.0, 0)[-1]
        assert down[0] == osc.ERROR and down[1][0] == "UNAVAILABLE"
        assert max_patch.call(osc.PING)[-1][1][0].startswith("UNAVAILABLE")
        server = start_server(config=ServerConfig(port=port), pipeline=tiny_pipeline)
        EditorClient(server.target).wait_ready(30)
        assert max_patch.call(osc.EDIT, str(song), 0.5, 1.0, 0)[-1][0] == osc.DONE
    finally:
        max_patch.close()
        bridge.stop()
        client.close()
        server.stop(0)


def test_eight_concurrent_edits_from_two_clients_all_answered(rig, song):
    bridge, first, _ = rig
    # A second machine: another loopback address, same reply port (the bridge answers the sender's host).
    second = OscClient(bridge=bridge.address, reply_port=first.reply_port, host="127.0.0.2")
    jobs = [(patch, patch.send(osc.EDIT, str(song), 0.5, 1.0, i % 4, request_id=100 + i))
            for i, patch in enumerate([first, second] * 4)]  # fmt: skip
    results: dict[int, str] = {}

    def collect(patch: OscClient, rid: int) -> None:
        results[rid] = patch.replies(rid, timeout=240)[-1]

    threads = [threading.Thread(target=collect, args=job) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    second.close()
    assert sorted(results) == [rid for _, rid in jobs]
    for address, args in results.values():  # done, or a clean refusal when the engine queue is full
        assert address == osc.DONE or (address == osc.ERROR and args[0] == "RESOURCE_EXHAUSTED"), args
    assert sum(address == osc.DONE for address, _ in results.values()) >= 4


def test_closeness_steers_later_edits_and_done_says_where_the_material_came_from(rig, song):
    bridge, max_patch, _ = rig
    assert max_patch.call(osc.CLOSENESS, 0.0) == [(osc.DONE, [])]
    *_, (address, args) = max_patch.call(osc.EDIT, str(song), 0.8, 1.2, 1)
    assert address == osc.DONE and args[1].split("; ")[0] == "generated", args  # then how it is heard
    ((address, args),) = max_patch.call(osc.CLOSENESS, 1.5)
    assert address == osc.ERROR and args[0] == "INVALID_ARGUMENT" and "0..1" in args[1]
    assert bridge.closeness == 0.0  # a refused value changes nothing


def test_the_seed_picks_the_take_of_later_edits(rig, song):
    """/musegenie/seed n: another take of the same edit from a Max patch or the Live device; the same take
    again is the same audio, and a negative or fractional take is refused without changing the bridge's."""
    bridge, max_patch, _ = rig
    assert max_patch.call(osc.CLOSENESS, 0.0) == [(osc.DONE, [])]  # generated: every take differs

    def take() -> np.ndarray:
        *_, (address, args) = max_patch.call(osc.EDIT, str(song), 0.8, 1.2, 1)
        assert address == osc.DONE, args
        return load(args[0])[0]

    first = take()
    assert max_patch.call(osc.SEED, 3) == [(osc.DONE, [])] and bridge.seed == 3
    other = take()
    assert max_patch.call(osc.SEED, 0) == [(osc.DONE, [])]
    assert not np.array_equal(first, other) and np.array_equal(take(), first)
    for bad in (-1, 2.5):
        ((address, args),) = max_patch.call(osc.SEED, bad)
        assert address == osc.ERROR and args[0] == "INVALID_ARGUMENT", args
    assert bridge.seed == 0
