"""Fairness under load: N concurrent clients x M edits against one server with a FIFO bound.

    python benchmarks/bench_load.py                         # models/default, 32 clients x 5 edits
    python benchmarks/bench_load.py --clients 8 --edits 3 --max-queue 4 --region 1

Every client has its own channel and sends its edits one after another (a refusal counts as one of them;
no retries). The server computes `--max-concurrent` edits at once and lets `--max-queue` more wait, first
come first served; the per-host limit is off, since every client here is on loopback. For each request it
records the reply (success, RESOURCE_EXHAUSTED, anything else), the wait (sent -> the first progress
event, which the server sends when the edit starts computing) and the edit time (first progress -> result).
FIFO bounds the longest wait by the queue ahead of it: about queue depth x edit time, so the last line,
max wait / (queue depth x median edit time), should stay near 1 (it grew without bound when waiters
polled a semaphore and newcomers could overtake).
"""

from __future__ import annotations

import argparse
import collections
import statistics
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.audio import load  # noqa: E402
from engine.client import EditorClient, EditorError  # noqa: E402
from engine.commands.editor_args import default_bundle  # noqa: E402
from engine.request import EditRequest  # noqa: E402
from engine.runtime import RuntimeConfig  # noqa: E402
from engine.server import ServerConfig, start_server  # noqa: E402
from osc_bridge.demo import EXAMPLE  # noqa: E402

SR = 44100


def run_client(
    target: str, audio: np.ndarray, region: tuple[float, float], edits: int, seed: int, records: list
) -> None:
    """`edits` edits one after another; appends (outcome, wait s, edit s) per request to `records`."""
    with EditorClient(target, timeout=3600) as client:
        for i in range(edits):
            sent = time.perf_counter()
            started: list[float] = []

            def on_progress(fraction: float, stage: str, started=started) -> None:
                if not started:
                    started.append(time.perf_counter())

            try:
                client.edit(audio, SR, EditRequest(region, [i % 4], seed=seed + i), on_progress=on_progress)
                done = time.perf_counter()
                records.append(("OK", started[0] - sent, done - started[0]))
            except EditorError as err:
                records.append((err.code, time.perf_counter() - sent, None))


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bundle", type=Path, default=default_bundle(), help="model bundle")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients")
    parser.add_argument("--edits", type=int, default=5, help="edits per client, one after another")
    parser.add_argument("--max-concurrent", type=int, default=1, help="edits the server computes at once")
    parser.add_argument("--max-queue", type=int, default=8, help="edits that may wait for a slot")
    parser.add_argument("--seconds", type=float, default=6.0, help="input length (stereo 44.1 kHz)")
    parser.add_argument("--region", type=float, default=1.0, help="region length in seconds")
    parser.add_argument("--intra-op-threads", type=int, default=0, help="onnxruntime threads (0 = all cores)")
    args = parser.parse_args()

    mono, _ = load(EXAMPLE, sample_rate=SR, duration=args.seconds)
    audio = np.concatenate([mono, mono])  # (2, N)
    region = (2.0, 2.0 + args.region)
    config = ServerConfig(
        port=0, max_concurrent=args.max_concurrent, max_queue=args.max_queue, max_per_peer=0
    )
    server = start_server(args.bundle, config, RuntimeConfig(intra_op_threads=args.intra_op_threads))
    records: list[tuple[str, float, float | None]] = []
    try:
        with EditorClient(server.target) as warm:  # one edit first: the timings below are steady state
            warm.edit(audio, SR, EditRequest(region, [0]))
        threads = [
            threading.Thread(
                target=run_client, args=(server.target, audio, region, args.edits, 100 * c, records)
            )
            for c in range(args.clients)
        ]
        began = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - began
    finally:
        server.stop(0)

    outcomes = collections.Counter(r[0] for r in records)
    waits = [r[1] for r in records if r[0] == "OK"]
    edit_s = [r[2] for r in records if r[0] == "OK"]
    median_edit = statistics.median(edit_s)
    depth = args.max_queue
    print(
        f"\n{args.clients} clients x {args.edits} edits of a {args.region:g} s region in {args.seconds:g} s stereo "
        f"44.1 kHz; server: {args.max_concurrent} computing, queue {depth} (FIFO); {wall:.1f} s in all"
    )
    print(f"replies: {dict(outcomes)} ({len(records)} of {args.clients * args.edits})")
    print(f"{'':<22}{'p50 (s)':>10}{'p95 (s)':>10}{'max (s)':>10}")
    for name, values in (("wait for a slot", waits), ("edit (compute)", edit_s)):
        print(f"{name:<22}{percentile(values, 50):>10.3f}{percentile(values, 95):>10.3f}{max(values):>10.3f}")
    bound = depth * median_edit
    print(f"max wait / (queue depth {depth} x median edit {median_edit:.3f} s) = {max(waits) / bound:.2f}")
    unexpected = set(outcomes) - {"OK", "RESOURCE_EXHAUSTED"}
    if unexpected:
        print(f"UNEXPECTED replies: {sorted(unexpected)}")


if __name__ == "__main__":
    main()
