"""Edits per minute and latency of the engine on a local Ray cluster (engine.cluster): 1 vs 2 replicas, and
one replica at batch limits 1, 4 and 8 with 8 concurrent clients.

    python benchmarks/bench_cluster.py                        # models/default, CPU
    python benchmarks/bench_cluster.py --edits 32 --providers cuda --gpus-per-replica 0.5

Prints tables (not a test). Every configuration is deployed fresh through the gateway and warmed up (each
client's first edit is not timed); then `--clients` threads of the project's client edit the same 2 s region
(same window length, so their steps can batch) with their own action and seed until `--edits` edits are
done. Edits/min = edits / wall time (median of `--repeats` rounds, the configurations interleaved); p50/p95
of each edit's latency as a client sees it (queueing included), over all rounds. Ratios are to the first
row of the same table, measured in the same run. Replicas run `--intra-op-threads` onnxruntime threads
each (1: two replicas on two cores use one core each).
"""

from __future__ import annotations

import argparse
import logging
import socket
import statistics
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine import cluster  # noqa: E402
from engine.client import EditorClient  # noqa: E402
from engine.cluster_config import ClusterConfig  # noqa: E402
from engine.commands.editor_args import default_bundle  # noqa: E402
from engine.request import EditRequest  # noqa: E402
from engine.runtime import RuntimeConfig  # noqa: E402
from engine.server import ServerConfig  # noqa: E402

log = logging.getLogger("bench_cluster")
SR = 44100
REGION = (3.0, 5.0)


def song(seconds: float = 8.0) -> np.ndarray:
    """(2, N) stereo: two chords and a pulse."""
    t = np.arange(int(seconds * SR)) / SR
    pulse = (np.sin(2 * np.pi * 2 * t) > 0.95) * np.sin(2 * np.pi * 60 * t)
    left = 0.3 * np.sin(2 * np.pi * 220 * t) + 0.2 * np.sin(2 * np.pi * 277 * t) + 0.3 * pulse
    right = 0.3 * np.sin(2 * np.pi * 330 * t) + 0.3 * pulse
    return np.stack([left, right]).astype(np.float32)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def measure(target: str, clients: int, edits: int, num_actions: int) -> dict:
    """Run `edits` timed edits spread over `clients` threads (after one untimed edit each)."""
    audio = song()
    latencies: list[float] = []
    lock = threading.Lock()
    each = max(1, edits // clients)

    def client_loop(index: int) -> None:
        with EditorClient(target, timeout=600) as engine:
            for n in range(each + 1):
                request = EditRequest(REGION, (n % num_actions,), seed=1000 * index + n, closeness=0.0)
                began = time.perf_counter()
                engine.edit(audio, SR, request)
                took = time.perf_counter() - began
                if n == 0:
                    warm.wait()  # the first edit warms the replica's shapes; timing starts when all did
                else:
                    with lock:
                        latencies.append(took)

    warm = threading.Barrier(clients + 1)
    threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    warm.wait()  # every client has had its untimed edit
    began = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - began
    return {"per_min": 60 * len(latencies) / wall, "latencies": latencies}


def run(args: argparse.Namespace, replicas: int, max_batch: int, clients: int) -> dict:
    config = ClusterConfig(
        replicas=replicas,
        cpus_per_replica=args.cpus_per_replica,
        gpus_per_replica=args.gpus_per_replica,
        max_batch=max_batch,
        max_wait_ms=args.max_wait_ms,
    )
    server = ServerConfig(port=free_port(), max_per_peer=0, max_queue=16)
    runtime = RuntimeConfig(providers=args.providers, intra_op_threads=args.intra_op_threads)
    target = cluster.start(args.bundle, config, server, runtime, address=args.address, **args.init)
    try:
        with EditorClient(target) as engine:
            engine.wait_ready(timeout=300)
            while engine.info(refresh=True).replicas < replicas:
                time.sleep(0.5)
            num_actions = engine.info().num_actions
        row = measure(target, clients, args.edits, num_actions)
    finally:
        cluster.stop(leave=False)
    log.info(
        "replicas %d, batch %d, clients %d: %.1f edits/min", replicas, max_batch, clients, row["per_min"]
    )
    return row


def summary(rounds: list[dict]) -> dict:
    """Median edits/min over the rounds; p50/p95 of every timed edit of them."""
    ordered = sorted(t for r in rounds for t in r["latencies"])
    return {
        "per_min": statistics.median(r["per_min"] for r in rounds),
        "p50": statistics.median(ordered),
        "p95": ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))],
    }


def table(title: str, label: str, rows: list[tuple[str, dict]]) -> None:
    base = rows[0][1]["per_min"]
    print(f"\n{title}")
    print(f"| {label} | edits/min | p50 s | p95 s | x first row |")
    print("|---|---|---|---|---|")
    for name, r in rows:
        print(
            f"| {name} | {r['per_min']:.1f} | {r['p50']:.2f} | {r['p95']:.2f} | {r['per_min'] / base:.2f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bundle", type=Path, default=default_bundle())
    parser.add_argument("--address", default=None, help="a running Ray cluster (default: start a local one)")
    parser.add_argument("--edits", type=int, default=16, help="timed edits per configuration and round")
    parser.add_argument("--repeats", type=int, default=2, help="rounds over every configuration")
    parser.add_argument("--replica-clients", type=int, default=4, help="clients in the 1 vs 2 replicas table")
    parser.add_argument("--providers", default="cpu")
    parser.add_argument("--intra-op-threads", type=int, default=1)
    parser.add_argument("--cpus-per-replica", type=float, default=1.0)
    parser.add_argument("--gpus-per-replica", type=float, default=0.0)
    parser.add_argument("--max-wait-ms", type=float, default=5.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    args.init = {} if args.address else {"include_dashboard": False, "log_to_driver": False}
    configs = {
        "replicas": [(f"{n} replica{'s' * (n > 1)}", n, 1, args.replica_clients) for n in (1, 2)],
        "batch": [(f"batch {b}", 1, b, 8) for b in (1, 4, 8)],
    }
    rounds: dict[str, list[dict]] = {}
    try:
        for _ in range(args.repeats):  # configurations interleaved, so a busy spell hits them all alike
            for table_configs in configs.values():
                for name, replicas, batch, clients in table_configs:
                    rounds.setdefault(name, []).append(run(args, replicas, batch, clients))
    finally:
        cluster.ray.shutdown()
    print(
        f"\nbundle {args.bundle}, providers {args.providers}, {args.edits} timed edits of a 2 s region per round"
    )
    print(f"medians of {args.repeats} interleaved rounds")
    rows = {k: [(c[0], summary(rounds[c[0]])) for c in v] for k, v in configs.items()}
    table(f"Replicas ({args.replica_clients} clients, batch 1)", "replicas", rows["replicas"])
    table("One replica, 8 clients", "batch limit", rows["batch"])


if __name__ == "__main__":
    main()
