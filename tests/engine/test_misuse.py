"""Misuse of the server by careless or hostile clients: every refusal is a status a client can act on
(never INTERNAL), clients that never read their replies cannot starve others, the queue is first come
first served, and the server is not opened to the network by accident."""

from __future__ import annotations

import logging
import threading
import time

import grpc
import numpy as np
import pytest

from engine.client import EditorClient, EditorError
from engine.server import ServerConfig, start_server
from engine.service import Admission, Cancelled
from engine.wire import audio_to_proto
from protos.musegenie.v1 import engine_pb2 as pb
from protos.musegenie.v1 import engine_pb2_grpc as pb_grpc
from tests.engine.conftest import FAST, raw_call, req, stereo

SR = 44100


@pytest.fixture(scope="module")
def server(tiny_pipeline):
    config = ServerConfig(port=0, max_message_mb=8, max_queue=3, max_region_seconds=5.0)
    running = start_server(pipeline=tiny_pipeline, config=config)
    yield running
    running.stop(0)


@pytest.fixture(scope="module")
def client(server):
    with EditorClient(server.target, max_message_mb=64, timeout=60) as c:
        yield c


def code_of(call) -> str:
    try:
        call()
    except EditorError as err:
        return err.code
    return "OK"


def test_loud_input_is_refused_not_answered_with_nan(client, tiny_pipeline):
    x = stereo(0.5) * np.float32(1e20)  # finite, but its energies overflow float32
    assert code_of(lambda: client.edit(x, SR, req((0.1, 0.2), [0])).audio) == "INVALID_ARGUMENT"
    loud = stereo(0.5) * np.float32(100)  # loud but sane float audio still edits, finitely
    assert np.isfinite(client.edit(loud, SR, req((0.1, 0.2), [0])).audio).all()


def test_huge_context_is_clipped_to_the_file(client, tiny_pipeline):
    x = stereo(0.5)
    huge = client.edit(x, SR, req((0.1, 0.2), [1], context_seconds=1e308)).audio
    whole = tiny_pipeline.edit(x, SR, req((0.1, 0.2), [1], context_seconds=0.5)).audio
    assert np.array_equal(huge, whole)  # asking for more context than the file has means the whole file


def test_explore_takes_at_most_one_id_per_action(client):
    x = stereo(0.5)
    many = lambda: list(client.explore(x, SR, req((0.1, 0.2), [0] * 1000)))  # noqa: E731
    assert code_of(many) == "INVALID_ARGUMENT"
    assert len(list(client.explore(x, SR, req((0.1, 0.2), [3, 2, 1, 0])))) == 4


def test_action_id_beyond_int32_is_invalid_argument(client):
    x = stereo(0.5)
    for action in (2**40, "99999999999", 2**31):
        assert code_of(lambda a=action: client.edit(x, SR, req((0.1, 0.2), [a])).audio) == "INVALID_ARGUMENT"


@pytest.mark.parametrize(
    ("method", "streaming"),
    [
        ("/musegenie.v1.Editor/Edit", True),
        ("/musegenie.v1.Editor/Explore", True),
        ("/musegenie.v1.Editor/InferActions", False),
        ("/musegenie.v1.Editor/GetInfo", False),
        ("/grpc.health.v1.Health/Check", False),
    ],
)
def test_undecodable_request_bytes_are_invalid_argument(client, method, streaming):
    for payload in (b"\xff\xff\xff\xff", b"\x0a\xff\xff\xff\xff\x0f", b"\x08"):
        assert raw_call(client.channel, method, payload, streaming) == grpc.StatusCode.INVALID_ARGUMENT
    assert client.health() == "SERVING"


def test_non_loopback_host_needs_a_token_or_insecure(tiny_pipeline, caplog):
    with pytest.raises(ValueError, match="--insecure"):
        start_server(pipeline=tiny_pipeline, config=ServerConfig(host="0.0.0.0", port=0))
    for config, warning in (
        (ServerConfig(host="0.0.0.0", port=0, insecure=True), "without a token"),
        (ServerConfig(host="0.0.0.0", port=0, token="t"), "without TLS"),
    ):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="engine.server"):
            running = start_server(pipeline=tiny_pipeline, config=config)
        running.stop(0)
        assert warning in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="engine.server"):
        start_server(pipeline=tiny_pipeline, config=ServerConfig(host="127.0.0.1", port=0)).stop(0)
    assert not caplog.records  # loopback: nothing to warn about


def test_admission_is_first_come_first_served():
    admission = Admission(max_concurrent=1, max_queue=8)
    admission.acquire(lambda: True)
    order: list[int] = []
    threads = []
    for i in range(8):
        t = threading.Thread(
            target=lambda i=i: (admission.acquire(lambda: True), order.append(i), admission.release())
        )
        t.start()
        threads.append(t)
        time.sleep(0.02)  # arrive in this order
    time.sleep(0.25)  # every waiter has polled at least once (the old semaphore let any of them win)
    admission.release()
    for t in threads:
        t.join(5)
    assert order == list(range(8))


def test_a_waiter_that_leaves_passes_its_slot_on():
    admission = Admission(max_concurrent=1, max_queue=2)
    admission.acquire(lambda: True)
    gone = threading.Event()
    result: list[str] = []

    def leaver() -> None:
        try:
            admission.acquire(lambda: not gone.is_set())
        except Cancelled:
            result.append("cancelled")

    t = threading.Thread(target=leaver)
    t.start()
    time.sleep(0.05)
    gone.set()
    t.join(2)
    admission.release()
    admission.acquire(lambda: True)  # the slot is free again, not lost with the leaver
    assert result == ["cancelled"] and admission.waiting == 0


def test_clients_that_never_read_their_replies_cannot_starve_others(tiny_pipeline):
    config = ServerConfig(port=0, max_message_mb=64, max_queue=2, max_per_peer=0, reply_timeout_seconds=3.0)
    running = start_server(pipeline=tiny_pipeline, config=config)
    x = stereo(12.0)  # a 4 MB reply: far more than a stream's flow-control window
    request = pb.EditRequest(
        audio=audio_to_proto(x, SR),
        region=pb.Region(start=1.0, end=1.01),
        actions=[0],
        params=pb.EditParams(steps=1, decoder_steps=1, context_seconds=0.0),
    )
    options = [  # a slow reader: the stream's window never grows past what it has read
        ("grpc.max_receive_message_length", 64 << 20),
        ("grpc.max_send_message_length", 64 << 20),
        ("grpc.http2.bdp_probe", 0),
    ]
    channels = [grpc.insecure_channel(running.target, options=options) for _ in range(24)]
    try:
        stalled = [pb_grpc.EditorStub(c).Edit(request, timeout=120) for c in channels]  # never read
        time.sleep(2.0)
        with EditorClient(running.target, max_message_mb=64) as c:
            started = time.monotonic()
            assert c.health(timeout=2) == "SERVING"
            assert c.info(timeout=2).num_actions == 4
            assert time.monotonic() - started < 2
            # The unread replies are cancelled after reply_timeout_seconds; then edits flow again.
            deadline = time.monotonic() + 30
            while running.guard.in_flight() and time.monotonic() < deadline:
                time.sleep(0.2)
            assert running.guard.in_flight() == 0
            assert c.edit(stereo(0.5), SR, req((0.1, 0.2), [0]), timeout=30).audio.shape == (2, 22050)
        codes = set()
        for call in stalled:
            try:
                list(call)
                codes.add("OK")
            except grpc.RpcError as err:
                codes.add(err.code().name)
        assert codes <= {"OK", "CANCELLED", "RESOURCE_EXHAUSTED"}, codes
        assert "CANCELLED" in codes
    finally:
        for c in channels:
            c.close()
        running.stop(0)


class BlockingPipeline:
    """The tiny pipeline, but every edit waits for `release` once it has started computing."""

    def __init__(self, pipeline) -> None:
        self.pipeline, self.bundle, self.runtime = pipeline, pipeline.bundle, pipeline.runtime
        self.release = threading.Event()
        self.check, self.songs = pipeline.check, pipeline.songs

    def edit(self, audio, sample_rate, request, progress=None, part=None):
        progress(0.0, "encode")
        self.release.wait(60)
        return self.pipeline.edit(audio, sample_rate, request, progress, part)


def test_calls_in_flight_are_bounded_per_client_host(tiny_pipeline):
    blocking = BlockingPipeline(tiny_pipeline)
    running = start_server(pipeline=blocking, config=ServerConfig(port=0, max_queue=8, max_per_peer=2))
    x = stereo(0.5)
    request = pb.EditRequest(
        audio=audio_to_proto(x, SR),
        region=pb.Region(start=0.1, end=0.2),
        actions=[0],
        params=pb.EditParams(**FAST),
    )
    try:
        with EditorClient(running.target) as c:
            stub = pb_grpc.EditorStub(c.channel)
            calls = [stub.Edit(request, timeout=60)]
            next(calls[0])  # computing (sent alone first: two calls sent together may arrive in either order)
            calls.append(stub.Edit(request, timeout=60))  # waits in the queue
            deadline = time.monotonic() + 30
            while running.guard.in_flight() < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            refused = code_of(lambda: c.edit(x, SR, req((0.1, 0.2), [0]), timeout=10).audio)
            assert refused == "RESOURCE_EXHAUSTED"
            assert c.health() == "SERVING" and c.info().num_actions == 4
            blocking.release.set()
            for call in calls:
                assert isinstance(list(call)[-1], pb.EditEvent)
            assert c.edit(x, SR, req((0.1, 0.2), [0]), timeout=30).audio.shape == x.shape
    finally:
        blocking.release.set()
        running.stop(0)
