"""engine.cluster on a real local Ray cluster (CPU) started by `musegenie serve --ray`: two replicas
behind the gateway, reached with the project's client. Results equal the single-process engine's (generated and song-aware edits, whichever
replica serves them), the token and the error codes hold, and a replica killed mid-run ends its in-flight
edits UNAVAILABLE while new edits succeed."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import numpy as np
import pytest

pytest.importorskip(
    "ray.serve", reason="Ray Serve is the optional `cluster` extra: pip install -e '.[cluster]'"
)

from engine.client import EditorClient, EditorError  # noqa: E402
from engine.cluster import ClusterService, Refusal, ReplicaContext  # noqa: E402
from engine.cluster_config import ClusterConfig  # noqa: E402
from engine.server import ServerConfig  # noqa: E402
from protos.musegenie.v1 import engine_pb2 as pb  # noqa: E402
from tests.engine.conftest import req, stereo  # noqa: E402

SR = 44100
TOKEN = "cluster-secret"
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def cluster(tiny_bundle, tmp_path_factory):
    """`musegenie serve --ray` as a user runs it: a local Ray cluster, two replicas, the gateway on a port."""
    folder = tmp_path_factory.mktemp("cluster")
    (folder / "token").write_text(TOKEN)
    port = free_port()
    command = [sys.executable, "-m", "engine.cli", "serve", "--ray", "--bundle", str(tiny_bundle),
               "--port", str(port), "--token-file", str(folder / "token"), "--max-per-peer", "0",
               "--replicas", "2", "--cpus-per-replica", "0.5", "--max-batch", "1",
               "--providers", "cpu", "--intra-op-threads", "1", "--no-warmup"]  # fmt: skip
    log = (folder / "serve.log").open("w")
    process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    yield f"127.0.0.1:{port}"
    process.send_signal(signal.SIGTERM)  # the application comes down, the local Ray cluster with it
    try:
        assert process.wait(timeout=90) == 0, (folder / "serve.log").read_text()[-4000:]
    finally:
        if process.poll() is None:
            process.kill()


@pytest.fixture(scope="module")
def client(cluster):
    with EditorClient(cluster, token=TOKEN, timeout=120) as c:
        c.wait_ready(timeout=120)
        deadline = time.monotonic() + 60
        while c.info(refresh=True).replicas < 2 and time.monotonic() < deadline:
            time.sleep(0.5)
        yield c


def replica_pids() -> list[int]:
    """The engine replicas' processes (Ray titles them ray::ServeReplica:APP:DEPLOYMENT...)."""
    pids = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            title = cmdline.read_bytes()
        except OSError:
            continue
        if title.startswith(b"ray::ServeReplica:musegenie:EditorReplica"):
            pids.append(int(cmdline.parent.name))
    return sorted(pids)


def test_edits_through_the_cluster_equal_the_single_process_engines(client, tiny_pipeline):
    assert client.info().replicas == 2
    x = stereo(1.5, SR)
    requests = [req((0.3 + 0.1 * i, 0.7 + 0.1 * i), [i % 4], seed=i) for i in range(4)]
    requests += [req((0.4, 0.9), [1], seed=9, closeness=1.0)] * 2  # song-aware: the song index per replica
    with ThreadPoolExecutor(len(requests)) as pool:
        remote = list(pool.map(lambda r: client.edit(x, SR, r).audio, requests))
    for r, audio in zip(requests, remote, strict=True):
        np.testing.assert_array_equal(audio, tiny_pipeline.edit(x, SR, r).audio)
    # Another song differing in one sample: every replica must use its own index, not the first song's.
    y = x.copy()
    y[:, SR // 2] += 0.25
    song = req((0.4, 0.9), [1], seed=9, closeness=1.0)
    with ThreadPoolExecutor(4) as pool:
        remote = list(pool.map(lambda _: client.edit(y, SR, song).audio, range(4)))
    expected = tiny_pipeline.edit(y, SR, song)
    for audio in remote:
        np.testing.assert_array_equal(audio, expected.audio)


def test_token_and_error_codes_hold_at_the_gateway(cluster, client, tiny_pipeline):
    x = stereo(1.0, SR)
    with EditorClient(cluster) as anonymous, pytest.raises(EditorError) as err:
        anonymous.edit(x, SR, req((0.2, 0.4), [1]))
    assert err.value.code == "UNAUTHENTICATED"
    assert client.health() == "SERVING"
    with pytest.raises(EditorError) as err:
        client.edit(x, SR, req((0.2, 3.0), [1]))
    assert err.value.code == "OUT_OF_RANGE"
    with pytest.raises(EditorError) as err:
        client.edit(x, SR, req((0.2, 0.4), [1], guidance=float("nan")))
    assert err.value.code == "INVALID_ARGUMENT"
    remote = client.infer_actions(x, SR, 0.2, 0.4)
    assert [c["action"] for c in remote] == [
        c["action"] for c in tiny_pipeline.infer_actions(x, SR, (0.2, 0.4))
    ]
    variants = list(client.explore(x, SR, req((0.2, 0.4), [0, 2])))
    assert [v.action.id for v in variants] == [0, 2]


def test_a_killed_replica_ends_its_edits_unavailable_and_new_edits_succeed(client):
    x = stereo(1.5, SR)
    slow = req((0.3, 1.2), [1])
    computing: list[int] = []
    both = threading.Event()
    outcomes: list[str] = []

    def edit(seed: int) -> None:
        def progress(fraction: float, stage: str) -> None:
            if stage != "queued" and seed not in computing:
                computing.append(seed)
                if len(computing) >= 2:  # max_batch 1: one edit computing per replica, the rest queued
                    both.set()

        try:
            client.edit(x, SR, req(slow.region, [1], seed=seed, steps=200, decoder_steps=200), progress)
            outcomes.append("OK")
        except EditorError as err:
            outcomes.append(err.code)

    pids = replica_pids()
    assert len(pids) == 2
    threads = [threading.Thread(target=edit, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    assert both.wait(timeout=60)
    os.kill(pids[0], signal.SIGKILL)
    for t in threads:
        t.join(timeout=120)
    assert "UNAVAILABLE" in outcomes, outcomes
    assert set(outcomes) <= {"OK", "UNAVAILABLE"}, outcomes
    for seed in range(3):  # the live replica takes new edits while Serve replaces the lost one
        assert client.edit(x, SR, req((0.2, 0.4), [1], seed=seed)).audio.shape == x.shape


def test_a_serve_config_files_string_args_become_typed_configs():
    from engine.cluster import _typed, app

    config = _typed(ClusterConfig, {"replicas": "0", "gpus_per_replica": "0.5", "ship_bundle": "true"})
    assert (config.replicas, config.gpus_per_replica, config.ship_bundle) == (0, 0.5, True)
    server = _typed(ServerConfig, {"port": "50052", "token": "t", "max_per_peer": "2"})
    assert (server.port, server.token, server.max_per_peer) == (50052, "t", 2)
    with pytest.raises(ValueError, match="args.bundle"):
        app({"replicas": "2"})


def test_the_gateway_has_no_songs_to_index():
    """IndexSong at the gateway (no GetSong/PutSong there): UNIMPLEMENTED, saying the first edit indexes."""
    with pytest.raises(Refusal) as refused:
        ClusterService(None, lambda: 1).IndexSong(pb.SongQuery(key="0" * 32), ReplicaContext())
    assert refused.value.code == grpc.StatusCode.UNIMPLEMENTED
    assert "first song-aware edit" in refused.value.details
