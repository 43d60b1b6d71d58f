"""A real gRPC server on loopback with the tiny bundle: happy path, every error status, limits, auth, TLS,
deadlines, concurrency, health and reflection. The server must keep serving after every refusal."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from pathlib import Path

import grpc
import numpy as np
import pytest
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from engine import wire
from engine.bundle import Action
from engine.client import EditorClient, EditorError
from engine.server import EditorServer, ServerConfig, start_server
from engine.wire import audio_to_proto
from protos.musegenie.v1 import engine_pb2 as pb
from protos.musegenie.v1 import engine_pb2_grpc as pb_grpc
from tests.engine.conftest import FAST, req, stereo

SR = 44100


@pytest.fixture(scope="module")
def server(tiny_pipeline):
    config = ServerConfig(port=0, max_message_mb=4, max_concurrent=1, max_queue=3, max_region_seconds=5.0)
    running = start_server(pipeline=tiny_pipeline, config=config)
    yield running
    running.stop(0)


@pytest.fixture(scope="module")
def client(server):
    with EditorClient(server.target, max_message_mb=64, timeout=120) as c:
        yield c


def raw_edit(client: EditorClient, request: pb.EditRequest) -> grpc.StatusCode:
    """Send a hand-built request; return the status it ended with."""
    stub = pb_grpc.EditorStub(client.channel)
    try:
        list(stub.Edit(request, timeout=60))
    except grpc.RpcError as err:
        return err.code()
    return grpc.StatusCode.OK


def edit_code(client: EditorClient, audio, sr, start, end, actions, timeout=None, **settings) -> str:
    try:
        client.edit(audio, sr, req((start, end), actions, **settings), timeout=timeout)
    except EditorError as err:
        return err.code
    return "OK"


def test_health_info_and_reflection(server, client):
    assert client.health() == "SERVING" and client.health("musegenie.v1.Editor") == "SERVING"
    info = client.info()
    assert info.bundle_name == "tiny-test" and info.num_actions == 4
    assert [a.name for a in info.actions] == ["louder", "softer", "solo", "drop"]
    assert "CPUExecutionProvider" in info.providers
    assert info.limits.max_message_bytes == 4 << 20 and info.limits.max_queue == 3
    assert info.defaults.steps == 16 and info.model_sample_rate == 16000
    services = ProtoReflectionDescriptorDatabase(client.channel).get_services()
    assert "musegenie.v1.Editor" in services and "grpc.health.v1.Health" in services


def test_actions_carry_their_name_fidelity_over_the_wire(client, tiny_pipeline):
    described = Action(2, "darker", "spectral centroid -18%", (("brightness", -1),), name_fidelity=0.75)
    back = wire.action_from_proto(wire.action_to_proto(described))
    assert (back.id, back.name, back.description) == (2, "darker", "spectral centroid -18%")
    assert back.name_fidelity == pytest.approx(0.75)
    assert wire.action_from_proto(wire.action_to_proto(Action(0, "x", ""))).name_fidelity is None
    local = [(a.name, a.name_fidelity) for a in tiny_pipeline.bundle.actions]
    assert [(a.name, a.name_fidelity) for a in client.actions()] == local


def test_happy_path_stereo_44k_matches_in_process_edit(client, tiny_pipeline):
    x = stereo(1.0)
    progress = []
    y = client.edit(
        x, SR, req((0.4, 0.6), ["solo", "drop"], seed=5), on_progress=lambda f, s: progress.append(f)
    ).audio
    local = tiny_pipeline.edit(x, SR, req((0.4, 0.6), ["solo", "drop"], seed=5)).audio
    assert np.array_equal(y, local)  # the wire is lossless and the server adds nothing
    fade = round(30 * SR / 1000)
    outside = np.ones(x.shape[1], bool)
    outside[round(0.4 * SR) - fade : round(0.6 * SR) + fade] = False
    assert np.array_equal(y[:, outside], x[:, outside])
    assert not np.array_equal(y[:, round(0.45 * SR)], x[:, round(0.45 * SR)])
    assert progress == sorted(progress) and progress[-1] == 1.0 and len(progress) >= 5
    again = client.edit(x, SR, req((0.4, 0.6), ["solo", "drop"], seed=5)).audio
    assert np.array_equal(y, again)


def test_infer_and_explore_over_the_wire(client, tiny_pipeline):
    x = stereo(0.5)
    chunks = client.infer_actions(x, SR, 0.1, 0.12)
    assert [c["action"] for c in chunks] == [
        c["action"] for c in tiny_pipeline.infer_actions(x, SR, (0.1, 0.12))
    ]
    variants = list(client.explore(x, SR, req((0.1, 0.2), ["drop", "louder"], seed=2, context_seconds=0.1)))
    assert [v.action.name for v in variants] == ["drop", "louder"]
    assert all(v.audio.shape == x.shape for v in variants)
    assert not np.array_equal(variants[0].audio, variants[1].audio)


def bad_audio_requests() -> dict[str, pb.EditRequest]:
    region = pb.Region(start=0.1, end=0.2)
    good = audio_to_proto(stereo(0.5), SR)
    nan = stereo(0.5)
    nan[1, 100] = np.nan
    inf = stereo(0.5)
    inf[0, 7] = np.inf
    make = lambda audio, actions=(0,): pb.EditRequest(audio=audio, region=region, actions=list(actions))  # noqa: E731
    return {
        "garbage bytes": make(pb.Audio(pcm=b"\x01\x02\x03\x04\x05\x06\x07", sample_rate=SR, channels=2)),
        "zero length": make(pb.Audio(pcm=b"", sample_rate=SR, channels=2)),
        "nan": make(audio_to_proto(nan, SR)),
        "inf": make(audio_to_proto(inf, SR)),
        "zero channels": make(pb.Audio(pcm=good.pcm, sample_rate=SR, channels=0)),
        "zero rate": make(pb.Audio(pcm=good.pcm, sample_rate=0, channels=2)),
        "unknown action id": make(good, actions=(9,)),
        "null action id": make(good, actions=(4,)),
        "no action": make(good, actions=()),
        "steps 0": pb.EditRequest(audio=good, region=region, actions=[0], params=pb.EditParams(steps=0)),
        "no region": pb.EditRequest(audio=good, actions=[0]),
    }


@pytest.mark.parametrize("case", list(bad_audio_requests()))
def test_invalid_requests_get_invalid_argument(client, case):
    assert raw_edit(client, bad_audio_requests()[case]) == grpc.StatusCode.INVALID_ARGUMENT


def test_unknown_action_name_is_invalid_argument(client):
    assert edit_code(client, stereo(0.5), SR, 0.1, 0.2, ["nosuch"]) == "INVALID_ARGUMENT"


@pytest.mark.parametrize(
    ("start", "end"), [(0.2, 0.1), (0.2, 0.2), (0.3, 0.9), (-0.1, 0.2), (0.0, 6.0)], ids=str
)
def test_bad_regions_get_out_of_range(client, start, end):
    x = stereo(0.5) if end < 1 else stereo(7.0, sr=8000)  # the last: longer than max_region_seconds
    sr = SR if end < 1 else 8000
    assert edit_code(client, x, sr, start, end, [0]) == "OUT_OF_RANGE"


def test_oversize_payload_is_resource_exhausted(client):
    big = stereo(13.0)  # 4.6 MB of PCM > the server's 4 MB limit, sent whole (as an older client does)
    assert (
        raw_edit(client, wire.request_to_proto(big, SR, req((1.0, 2.0), [0])))
        == grpc.StatusCode.RESOURCE_EXHAUSTED
    )
    assert edit_code(client, big, SR, 1.0, 2.0, [0]) == "OK"  # this client sends the region's window


def test_deadline_and_cancel_stop_the_work_and_free_the_slot(client):
    x = stereo(1.0)
    started = time.perf_counter()
    slow = {"steps": 1000, "decoder_steps": 1000}
    assert edit_code(client, x, SR, 0.2, 0.8, [0], timeout=0.5, **slow) == "DEADLINE_EXCEEDED"
    stub = pb_grpc.EditorStub(client.channel)
    request = pb.EditRequest(
        audio=audio_to_proto(x, SR),
        region=pb.Region(start=0.2, end=0.8),
        actions=[1],
        params=pb.EditParams(**slow),
    )
    call = stub.Edit(request)
    next(call)  # the first progress event: work has started
    call.cancel()
    # With one slot, this edit can only run once the two abandoned ones have stopped.
    assert edit_code(client, x, SR, 0.4, 0.5, [0], timeout=30, **FAST) == "OK"
    assert time.perf_counter() - started < 30


def test_sixteen_concurrent_edits_succeed_or_are_refused(client):
    x = stereo(0.5)
    outcomes: list[str] = []
    lock = threading.Lock()

    def one(i: int) -> None:
        code = edit_code(client, x, SR, 0.1, 0.3, [i % 4], seed=i, timeout=120, **FAST)
        with lock:
            outcomes.append(code)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=150)
    assert not any(t.is_alive() for t in threads), "an edit hung"
    assert len(outcomes) == 16 and set(outcomes) <= {"OK", "RESOURCE_EXHAUSTED"}, outcomes
    assert outcomes.count("OK") >= 1 + 3  # at least the running one and the queued ones finished
    assert outcomes.count("RESOURCE_EXHAUSTED") >= 1


def test_still_serving_after_every_refusal(client):
    assert client.health() == "SERVING"
    y = client.edit(stereo(0.5), SR, req((0.1, 0.2), ["louder"])).audio
    assert y.shape == (2, 22050)


def test_token_is_required_except_for_health(tiny_pipeline):
    server = start_server(pipeline=tiny_pipeline, config=ServerConfig(port=0, token="s3cret"))
    try:
        x = stereo(0.5)
        for token in (None, "wrong"):
            with EditorClient(server.target, token=token) as c:
                assert c.health() == "SERVING"
                with pytest.raises(EditorError) as err:
                    c.info()
                assert err.value.code == "UNAUTHENTICATED"
                assert edit_code(c, x, SR, 0.1, 0.2, [0]) == "UNAUTHENTICATED"
        with EditorClient(server.target, token="s3cret") as c:
            assert c.edit(x, SR, req((0.1, 0.2), [0])).audio.shape == x.shape
    finally:
        server.stop(0)


def test_unavailable_until_a_bundle_is_loaded(tiny_pipeline):
    server = EditorServer(ServerConfig(port=0)).start()
    try:
        with EditorClient(server.target) as c:
            assert c.health() == "NOT_SERVING"
            for call in (c.info, lambda: c.edit(stereo(0.5), SR, req((0.1, 0.2), [0])).audio):
                with pytest.raises(EditorError) as err:
                    call()
                assert err.value.code == "UNAVAILABLE"
            server.set_pipeline(tiny_pipeline)
            c.wait_ready(timeout=5)
            assert c.info().num_actions == 4
    finally:
        server.stop(0)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI needed to make a test certificate")
def test_tls(tiny_pipeline, tmp_path: Path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    config = ServerConfig(port=0, tls_cert=str(cert), tls_key=str(key), token="t")
    server = start_server(pipeline=tiny_pipeline, config=config)
    try:
        with EditorClient(server.target, token="t", tls_ca=cert) as c:
            assert c.info().bundle_name == "tiny-test"
        with EditorClient(server.target, token="t") as plaintext:  # a plaintext client cannot talk to it
            with pytest.raises(EditorError) as err:
                plaintext.info(timeout=5)
            assert err.value.code == "UNAVAILABLE"
    finally:
        server.stop(0)
