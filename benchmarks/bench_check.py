"""What a song-aware edit's check costs per take it reads: one after another, or side by side, a core each.

    python benchmarks/bench_check.py               # models/default, 8 reads of a 4 s region, 5 repeats
    python benchmarks/bench_check.py --bundle DIR --region 5 --reads 8 --repeats 5

A song-aware edit that changes the region's actions reads the takes it considers as `eval edit` reads an
edit (`Pipeline.heard_as_asked`: the region encoded, read by the LAM and heard by the instrument
estimator, at the model rate). This times `--reads` such reads of one region three ways and prints the
median over `--repeats` of the time per read, with its ratio to the first way:
- one after another on the usual sessions (every core for each run; what the engine did before round ten),
- one after another on single-threaded sessions,
- side by side, one read per core, each on single-threaded sessions (`Runtime.one_core`, what the engine
  does now).
Prints a table (not a test).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.bundle import load_bundle  # noqa: E402
from engine.commands.editor_args import default_bundle  # noqa: E402
from engine.pipeline import Pipeline  # noqa: E402
from engine.runtime import Runtime, RuntimeConfig  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, help="bundle folder (default models/default)")
    parser.add_argument("--region", type=float, default=4.0, help="region length in seconds")
    parser.add_argument("--reads", type=int, default=8, help="takes read per repeat (CHECK_READS)")
    parser.add_argument(
        "--repeats", type=int, default=5, help="timed repeats of each way (after one warm-up)"
    )
    args = parser.parse_args()

    pipeline = Pipeline(Runtime(load_bundle(args.bundle or default_bundle()), RuntimeConfig(providers="cpu")))
    runtime, b = pipeline.runtime, pipeline.bundle
    sr, chunks = b.sample_rate, int(np.ceil(args.region * b.sample_rate / b.chunk_samples))
    workers = runtime.side_by_side_workers()
    rng = np.random.default_rng(0)
    seconds = args.region + 4.0
    t = np.arange(int(seconds * sr)) / sr
    takes = [  # other material in the region each time, as the takes of a check
        (0.3 * np.sin(2 * np.pi * (110 + 30 * i) * t) + 0.05 * rng.standard_normal(t.size))[None].astype(
            np.float32
        )
        for i in range(args.reads)
    ]
    region, asked = (2.0, 2.0 + args.region), np.zeros(chunks, np.int64)

    def read(audio: np.ndarray) -> None:
        pipeline.heard_as_asked(audio, sr, region, asked, None)

    def on_one_core(audio: np.ndarray) -> None:
        with runtime.one_core():
            read(audio)

    def usual() -> None:
        for audio in takes:
            read(audio)

    def single() -> None:
        for audio in takes:
            on_one_core(audio)

    def side_by_side() -> None:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(on_one_core, takes))

    ways = (("one after another, usual sessions", usual), ("one after another, single-threaded", single))
    ways += ((f"side by side, {workers} at a time, single-threaded", side_by_side),)
    times = {name: [] for name, _ in ways}
    for repeat in range(args.repeats + 1):  # interleaved, so a busy moment hits every way alike
        for name, fn in ways:
            began = time.perf_counter()
            fn()
            if repeat:
                times[name].append((time.perf_counter() - began) / args.reads)
    base = statistics.median(times[ways[0][0]])
    cores = len(os.sched_getaffinity(0))
    print(f"{args.reads} reads of a {args.region:g} s region, {cores} cores, median of {args.repeats}:")
    for name, _ in ways:
        ms = 1e3 * statistics.median(times[name])
        print(f"  {name:46s} {ms:6.1f} ms a read  ({ms / (1e3 * base):.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
