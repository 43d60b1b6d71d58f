"""End-to-end latency of an edit sent over OSC (bridge -> gRPC -> engine -> file) vs a direct gRPC edit.

Same engine, same bundle, same audio file and region, same seed; the OSC path also reads the input file and
writes the result file, as Max needs. Prints medians and p95 of repeated runs and the OSC/gRPC ratio.

    .venv/bin/python benchmarks/bench_osc.py [--bundle models/default] [--repeats 7] [--region 4]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from engine.audio import load, save_wav
from engine.commands.editor_args import default_bundle
from engine.request import EditRequest
from engine.server import ServerConfig, start_server
from osc_bridge import addresses as osc
from osc_bridge.demo import EXAMPLE
from osc_bridge.osc_client import loopback_rig


def timed(fn, repeats: int) -> np.ndarray:
    fn()  # warm-up
    out = []
    for _ in range(repeats):
        began = time.perf_counter()
        fn()
        out.append(time.perf_counter() - began)
    return np.array(out)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bundle", type=Path, default=default_bundle(), help="model bundle")
    parser.add_argument(
        "--audio", type=Path, default=EXAMPLE, help="input file (stereo 44.1 kHz is made from it)"
    )
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per path (after one warm-up)")
    parser.add_argument("--region", type=float, default=4.0, help="region length in seconds")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench_osc_"))
    mono, sr = load(args.audio, sample_rate=44100)
    song = save_wav(work / "song.wav", np.concatenate([mono, mono]), sr)  # the DAW's usual stereo 44.1k
    audio, _ = load(song)
    start, end = 2.0, 2.0 + args.region

    server = start_server(args.bundle, ServerConfig(port=0))
    try:
        with loopback_rig(server.target, work / "out") as (bridge, max_patch):

            def over_osc() -> None:
                assert max_patch.call(osc.EDIT, str(song), start, end, 0, timeout=600)[-1][0] == osc.DONE

            grpc_s = timed(
                lambda: bridge.client.edit(audio, sr, EditRequest((start, end), [0])), args.repeats
            )
            osc_s = timed(over_osc, args.repeats)
    finally:
        server.stop(0)

    print(
        f"\nedit of a {args.region:g} s region in {audio.shape[1] / sr:.1f} s stereo 44.1 kHz, {args.repeats} runs"
    )
    print(f"{'path':<32}{'p50 (s)':>10}{'p95 (s)':>10}{'vs gRPC':>10}")
    base = float(np.median(grpc_s))
    for name, runs in (("gRPC client -> engine", grpc_s), ("OSC -> bridge -> gRPC -> file", osc_s)):
        p50, p95 = np.median(runs), np.percentile(runs, 95)
        print(f"{name:<32}{p50:>10.3f}{p95:>10.3f}{p50 / base:>9.2f}x")


if __name__ == "__main__":
    main()
