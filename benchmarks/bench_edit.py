"""Edit latency, real-time factor, torch-eager vs onnxruntime, and throughput under concurrent clients.

    python benchmarks/bench_edit.py                       # models/default, or an untrained `small` bundle
    python benchmarks/bench_edit.py --bundle DIR --regions 2 5 --repeats 3 --providers cpu

Prints tables (not a test). Latency is the wall time of `Pipeline.edit` on stereo 44.1 kHz input with the
bundle's default steps, guidance and context; RTF = latency / region length (below 1 = faster than real
time). The first table generates every region (closeness 0); the song-aware table edits a 5 s region of a
3-minute song with the bundle's default closeness: the first edit of a song (its index built: encoded,
read by the LAM, heard) and later edits of the same song (another region and seed each), with how many
were made of the song's own material, then the same regions asked another action (the take read back as
asked, its edges eased: `engine.song_edit`). The torch row runs the *same* pipeline with the graphs
replaced by the export wrappers in eager mode (weights initialised from the bundle's configs: speed, not
output, is compared). Throughput: one server (the default limits), N client threads each editing a 2 s
region. This script may import torch; the
engine it measures never does.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.bundle import Bundle, load_bundle  # noqa: E402
from engine.client import EditorClient, EditorError  # noqa: E402
from engine.commands.editor_args import default_bundle  # noqa: E402
from engine.pipeline import Pipeline  # noqa: E402
from engine.request import EditRequest  # noqa: E402
from engine.runtime import Runtime, RuntimeConfig  # noqa: E402
from engine.server import ServerConfig, start_server  # noqa: E402

log = logging.getLogger("bench_edit")
SR = 44100


def song(seconds: float, seed: int = 0) -> np.ndarray:
    """(2, N) stereo test signal: two chords, a pulse and a little noise."""
    t = np.arange(int(seconds * SR)) / SR
    pulse = (np.sin(2 * np.pi * 2 * t) > 0.95).astype(np.float64) * np.sin(2 * np.pi * 60 * t)
    noise = 0.02 * np.random.default_rng(seed).standard_normal((2, t.size))
    left = 0.3 * np.sin(2 * np.pi * 220 * t) + 0.2 * np.sin(2 * np.pi * 277 * t) + 0.3 * pulse
    right = 0.3 * np.sin(2 * np.pi * 330 * t) + 0.3 * pulse
    return (np.stack([left, right]) + noise).astype(np.float32)


def torch_models(bundle: Bundle):
    """Fresh torch models with the bundle's architectures (untrained: for timing only)."""
    from training.models import registry

    return [registry.build(kind, bundle.configs[kind])[0].eval() for kind in ("tokenizer", "lam", "dynamics")]


def export_small(out: Path) -> Path:
    """An untrained bundle of the CPU-sized presets (the shipped model's geometry)."""
    from export.bundle_writer import export_bundle
    from export.parity import QUICK_CASES
    from training.models import dynamics, lam, tokenizer

    tok = tokenizer.build("small")
    lam_model = lam.LatentActionModel(lam.lam_config("small", latent_dim=tok.latent_dim))
    dyn = dynamics.DynamicsModel(
        dynamics.preset("small", latent_dim=tok.latent_dim, num_actions=lam_model.config.num_actions)
    )
    log.info("exporting an untrained `small` bundle to %s (no models/default yet)", out)
    return export_bundle(
        tok, lam_model, dyn, out, name="small-untrained", parity_cases=QUICK_CASES, overwrite=True
    )


class TorchGraph:
    """An export wrapper in eager torch behind the engine's Graph interface (run / bind / input_types)."""

    def __init__(self, wrapper) -> None:
        self.wrapper = wrapper
        self.input_types = {s.name: np.dtype(s.dtype) for s in wrapper.inputs()}
        self.output_names = [s.name for s in wrapper.outputs()]

    def run(self, **inputs: np.ndarray) -> dict[str, np.ndarray]:
        import torch

        tensors = {
            k: torch.from_numpy(np.ascontiguousarray(v, dtype=self.input_types[k])) for k, v in inputs.items()
        }
        with torch.inference_mode():
            out = self.wrapper(**tensors)
        out = out if isinstance(out, tuple) else (out,)
        return {name: o.numpy() for name, o in zip(self.output_names, out, strict=True)}

    def bind(self, **constants: np.ndarray):
        first = self.output_names[0]
        return lambda **varying: self.run(**constants, **varying)[first]


class TorchRuntime:
    def __init__(self, bundle: Bundle) -> None:
        from export.wrappers import build_wrappers

        self.bundle = bundle
        self.providers = ["torch-eager"]
        self.graphs = {name: TorchGraph(w) for name, w in build_wrappers(*torch_models(bundle)).items()}

    def __getitem__(self, name: str) -> TorchGraph:
        return self.graphs[name]


def time_edits(pipeline, region_s: float, repeats: int, context: float) -> list[float]:
    audio = song(region_s + 2 * context + 2.0)
    start = context + 1.0
    times = []
    for i in range(repeats + 1):  # the first call is a warm-up for this shape
        began = time.perf_counter()
        action = [i % pipeline.bundle.num_actions]
        pipeline.edit(audio, SR, EditRequest((start, start + region_s), action, closeness=0.0, seed=i))
        if i:
            times.append(time.perf_counter() - began)
    return times


def time_song_edits(pipeline, repeats: int, song_s: float = 180.0, region_s: float = 5.0) -> dict:
    """First and later edits of 3-minute songs: {"first": [s], "later": [s], "from_song": share}, and the
    later regions asked another action ("other": [s], "checked": the share the engine read back, as an edit
    that changes the region's action is, "other_from_song")."""
    first, later, kinds, other, checked, other_kinds = [], [], [], [], [], []
    for i in range(repeats + 1):  # the first song is a warm-up for the graphs' shapes
        audio = song(song_s, seed=100 + i)  # another song (content hash) each time: nothing cached
        index, _ = pipeline.songs.index(audio, SR) if i == 0 else (None, None)
        if index is not None:
            action = int(np.bincount(index.frame_actions).argmax())  # an action these songs carry
        began = time.perf_counter()
        result = pipeline.edit(audio, SR, EditRequest((60.0, 60.0 + region_s), [action], seed=i))
        if i:
            first.append(time.perf_counter() - began)
            kinds.append(result.source.kind)
        for j in range(repeats):
            start = 20.0 + 37.0 * j
            began = time.perf_counter()
            result = pipeline.edit(audio, SR, EditRequest((start, start + region_s), [action], seed=j))
            if i:
                later.append(time.perf_counter() - began)
                kinds.append(result.source.kind)
            another = (action + 1 + j) % pipeline.bundle.num_actions
            began = time.perf_counter()
            result = pipeline.edit(audio, SR, EditRequest((start, start + region_s), [another], seed=j))
            if i:
                other.append(time.perf_counter() - began)
                checked.append(result.source.heard is not None)
                other_kinds.append(result.source.kind)
    share = lambda kinds: float(np.mean([k == "song" for k in kinds]))  # noqa: E731
    return {
        "first": first,
        "later": later,
        "from_song": share(kinds),
        "other": other,
        "checked": float(np.mean(checked)),
        "other_from_song": share(other_kinds),
    }


def throughput(pipeline, clients: int, edits_each: int) -> tuple[float, float, int]:
    """(edits per second, audio seconds edited per second, refusals) with `clients` threads on one server."""
    config = ServerConfig(port=0, max_queue=max(8, clients), max_per_peer=0)  # every client is on loopback
    server = start_server(pipeline=pipeline, config=config)
    audio, region = song(8.0), 2.0
    refused = [0]
    lock = threading.Lock()

    def client(i: int) -> None:
        with EditorClient(server.target) as c:
            for j in range(edits_each):
                try:
                    c.edit(
                        audio,
                        SR,
                        EditRequest((3.0, 3.0 + region), [(i + j) % pipeline.bundle.num_actions], seed=j),
                    )
                except EditorError as err:
                    if err.code != "RESOURCE_EXHAUSTED":
                        raise
                    with lock:
                        refused[0] += 1

    began = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - began
    server.stop(0)
    done = clients * edits_each - refused[0]
    return done / wall, done * region / wall, refused[0]


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--bundle", type=Path, help="bundle folder (default models/default, else an untrained small one)"
    )
    parser.add_argument(
        "--regions", type=float, nargs="+", default=[2, 5, 10, 30], help="region lengths in seconds"
    )
    parser.add_argument("--repeats", type=int, default=3, help="timed edits per region (after one warm-up)")
    parser.add_argument("--providers", default="auto", help="onnxruntime providers")
    parser.add_argument(
        "--threads", type=int, default=1, help="intra-op threads for onnxruntime and torch (0 = all cores)"
    )
    parser.add_argument(
        "--torch-region", type=float, default=5.0, help="region for the torch vs onnxruntime row"
    )
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients for the throughput row")
    parser.add_argument("--edits-per-client", type=int, default=2, help="edits each client sends")
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S"
    )

    import torch

    threads = args.threads or os.cpu_count() or 1  # torch spins badly when its threads outnumber free cores
    torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory() as tmp:
        path = args.bundle or default_bundle() or export_small(Path(tmp) / "small")
        bundle = load_bundle(path)
        ort_pipeline = Pipeline(
            Runtime(
                bundle, RuntimeConfig(providers=args.providers, intra_op_threads=threads, inter_op_threads=1)
            )
        )
        d = bundle.defaults
        print(
            f"\nbundle {bundle.name}: hop {bundle.hop}, {bundle.frame_rate:g} frames/s, D {bundle.latent_dim}, "
            f"steps {d.steps} {d.sampler} + {d.decoder_steps} {d.decoder_sampler} "
            f"(shift {d.decoder_shift:g}), guidance {d.guidance:g}, "
            f"context {d.context_seconds:g} s"
        )
        print(
            f"providers {', '.join(ort_pipeline.runtime.providers)}; {threads} threads; input stereo 44.1 kHz\n"
        )
        print(f"generated (closeness 0)\n{'region s':>9} {'p50 s':>8} {'p95 s':>8} {'RTF p50':>8}   runs")
        for region in args.regions:
            times = time_edits(ort_pipeline, region, args.repeats, d.context_seconds)
            print(
                f"{region:9g} {pct(times, 50):8.2f} {pct(times, 95):8.2f} {pct(times, 50) / region:8.2f}   {len(times)}"
            )

        timed = time_song_edits(ort_pipeline, args.repeats)
        print(
            f"\nsong-aware, 5 s region of a 3-minute song (closeness {d.closeness:g}): first edit "
            f"p50 {pct(timed['first'], 50):.2f} s (p95 {pct(timed['first'], 95):.2f}), later edits "
            f"p50 {pct(timed['later'], 50):.2f} s (p95 {pct(timed['later'], 95):.2f}); "
            f"{timed['from_song']:.0%} made of the song's material; later edits asking another action p50 "
            f"{pct(timed['other'], 50):.2f} s (p95 {pct(timed['other'], 95):.2f}), "
            f"{timed['checked']:.0%} read back, "
            f"{timed['other_from_song']:.0%} made of the song's material"
        )

        torch_pipeline = Pipeline(TorchRuntime(bundle))
        ort_times = time_edits(ort_pipeline, args.torch_region, args.repeats, d.context_seconds)
        torch_times = time_edits(torch_pipeline, args.torch_region, args.repeats, d.context_seconds)
        ratio = pct(torch_times, 50) / pct(ort_times, 50)
        print(
            f"\n{args.torch_region:g} s region, p50: torch eager {pct(torch_times, 50):.2f} s, "
            f"onnxruntime {pct(ort_times, 50):.2f} s -> onnxruntime is {ratio:.2f}x torch eager"
        )

        per_s, audio_per_s, refused = throughput(ort_pipeline, args.clients, args.edits_per_client)
        print(f"\n{args.clients} concurrent clients x {args.edits_per_client} edits of 2 s: {per_s * 60:.1f} edits/min, "
              f"{audio_per_s:.2f} s of audio edited per s, {refused} refused (queue full)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
