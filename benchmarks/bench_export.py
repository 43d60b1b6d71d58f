"""Per graph: onnxruntime (CPU) vs torch eager latency, and the ONNX-vs-torch parity errors.

    python benchmarks/bench_export.py                                  # `small` presets, 10 s window
    python benchmarks/bench_export.py --preset tiny --seconds 2 --threads 2 --repeats 20

Builds untrained models from the presets (speed does not depend on the weights; the zero-initialised
output layers are perturbed so parity is measured on non-zero outputs), exports them to a temp folder
through `export.onnx_export`, checks parity with `export.parity` on the default cases, then times one
call of each graph at the bench shape: batch 1 (2 for dynamics: the conditional and null-action passes
of guidance), a window of --seconds. Latency = median of --repeats calls after 2 warm-up calls, with
torch and onnxruntime pinned to the same thread count. speedup = torch ms / onnx ms (> 1: ONNX faster).
Prints a table (not a test).
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

import onnxruntime as ort
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.timing import median_ms  # noqa: E402
from export.onnx_export import export_graph  # noqa: E402
from export.parity import DEFAULT_CASES, check_parity  # noqa: E402
from export.wrappers import build_wrappers  # noqa: E402
from training.models import dynamics, lam, tokenizer  # noqa: E402

log = logging.getLogger("bench_export")


def build_models(preset: str, chunk_seconds: float, num_actions: int, seed: int = 0) -> tuple:
    torch.manual_seed(seed)
    tok = tokenizer.build(preset)
    chunk_frames = max(1, round(chunk_seconds * tok.frame_rate))
    lam_model = lam.LatentActionModel(
        lam.lam_config(preset, latent_dim=tok.latent_dim, chunk_frames=chunk_frames, num_actions=num_actions)
    )
    dyn = dynamics.DynamicsModel(dynamics.preset(preset, latent_dim=tok.latent_dim, num_actions=num_actions))
    with torch.no_grad():
        for model in (tok, lam_model, dyn):
            for p in model.parameters():
                if not p.abs().any():  # AdaLN-Zero / zero output layers
                    p.normal_(std=0.02)
            model.eval()
    return tok, lam_model, dyn


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--preset", default="small", help="size preset of all three models (tiny, small)")
    parser.add_argument("--seconds", type=float, default=10.0, help="audio window of the timed calls")
    parser.add_argument("--chunk-seconds", type=float, default=1.0, help="LAM chunk length")
    parser.add_argument("--num-actions", type=int, default=8, help="LAM codebook size A")
    parser.add_argument("--repeats", type=int, default=10, help="timed calls per graph and runtime")
    parser.add_argument("--threads", type=int, default=1, help="intra-op threads of torch and onnxruntime")
    parser.add_argument("--opset", type=int, default=18, help="ONNX opset")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(args.threads)
    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.inter_op_num_threads = 1

    tok, lam_model, dyn = build_models(args.preset, args.chunk_seconds, args.num_actions)
    wrappers = build_wrappers(tok, lam_model, dyn)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, wrapper in wrappers.items():
            path = export_graph(wrapper, Path(tmp) / f"{name}.onnx", opset=args.opset)
            parity = check_parity(wrapper, path, DEFAULT_CASES)
            session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            units = max(1, round(args.seconds * tok.frame_rate / wrapper.time_multiple))
            batch = 2 if name == "dynamics" else 1
            example = wrapper.example_inputs(
                batch, units * wrapper.time_multiple, torch.Generator().manual_seed(0)
            )
            feed = {k: v.numpy() for k, v in example.items()}
            with torch.inference_mode():
                torch_ms = median_ms(lambda w=wrapper, e=example: w(**e), args.repeats)
            onnx_ms = median_ms(lambda s=session, f=feed: s.run(None, f), args.repeats)
            shape = "x".join(map(str, next(iter(example.values())).shape))
            rows.append((name, shape, torch_ms, onnx_ms, parity.max_abs, parity.max_rel))

    print(
        f"\npreset {args.preset}, window {args.seconds:g} s (hop {tok.hop}, {tok.frame_rate:g} frames/s), "
        f"{args.threads} thread(s), median of {args.repeats}; torch {torch.__version__}, onnxruntime {ort.__version__}"
    )
    print(
        f"{'graph':<18} {'first input':<14} {'torch ms':>9} {'onnx ms':>9} {'speedup':>8} {'max abs':>9} {'max rel':>9}"
    )
    for name, shape, t_ms, o_ms, max_abs, max_rel in rows:
        print(
            f"{name:<18} {shape:<14} {t_ms:>9.2f} {o_ms:>9.2f} {t_ms / o_ms:>7.2f}x {max_abs:>9.1e} {max_rel:>9.1e}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
