"""Build and cache TensorRT engines for a bundle through onnxruntime's TensorRT execution provider.

The engine runs every graph through onnxruntime, so the engines are built the way it will load them: one
session per graph with the TensorRT EP, fp16 and an explicit shape profile (min/opt/max batch and length),
cached in BUNDLE/cache/tensorrt. The profiles go to cache/tensorrt/build.json, which
`engine.bundle.Bundle.tensorrt_options` reads back so the runtime's sessions match the cached engines.
Where the TensorRT EP is not installed (onnxruntime-gpu built with TensorRT, plus the TensorRT libraries)
this says so and returns False: never a crash.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import asdict, dataclass

import numpy as np
import onnxruntime as ort

from engine.bundle import TENSORRT_BUILD, TENSORRT_DIR, Bundle

log = logging.getLogger(__name__)

PROVIDER = "TensorrtExecutionProvider"
NUMPY_DTYPES = {"tensor(float)": np.float32, "tensor(int64)": np.int64, "tensor(float16)": np.float16}


@dataclass
class TensorRTConfig:
    fp16: bool = True  # build fp16 engines (inputs and outputs stay float32)
    max_batch: int = 4  # largest batch in the profiles (an edit with guidance runs batch 2)
    opt_batch: int = 2  # batch the engines are tuned for (conditional + null action)
    opt_seconds: float = 10.0  # window length (region + context) the engines are tuned for
    max_seconds: float = 30.0  # longest window the engines accept
    workspace_gb: float = 4.0  # TensorRT builder workspace


def unavailable_reason() -> str | None:
    """None when the TensorRT EP can be used here, else a sentence saying what is missing."""
    providers = ort.get_available_providers()
    if PROVIDER in providers:
        return None
    return (
        f"onnxruntime {ort.__version__} here has no TensorRT execution provider (it has {', '.join(providers)}); "
        "install onnxruntime-gpu built with TensorRT and the TensorRT libraries on a CUDA machine "
        "(docs/install.md), then rerun with --tensorrt, or let `musegenie serve` build the engines on first use"
    )


def _frames(bundle: Bundle, seconds: float) -> int:
    """Latent frames for `seconds` of audio, rounded up to whole action chunks."""
    k = bundle.chunk_frames
    return max(k, math.ceil(seconds * bundle.frame_rate / k) * k)


def profile_sizes(bundle: Bundle, config: TensorRTConfig) -> dict[str, dict[str, int]]:
    """Sizes of each dynamic axis letter at the min, opt and max points of the profiles."""
    points = {
        "min": (1, bundle.chunk_frames),
        "opt": (config.opt_batch, _frames(bundle, config.opt_seconds)),
        "max": (config.max_batch, _frames(bundle, config.max_seconds)),
    }
    return {
        point: {"B": b, "T": t, "N": t * bundle.hop, "K": t // bundle.chunk_frames}
        for point, (b, t) in points.items()
    }


def profiles(bundle: Bundle, config: TensorRTConfig) -> dict[str, dict[str, str]]:
    """`{graph: {"min"|"opt"|"max": "name:1x1x32,..."}}` in the TensorRT EP's option format."""
    sizes = profile_sizes(bundle, config)
    out = {}
    for name, graph in bundle.graphs.items():
        out[name] = {
            point: ",".join(
                f"{inp}:" + "x".join(str(sizes[point][d] if isinstance(d, str) else d) for d in dims)
                for inp, dims in graph.inputs.items()
            )
            for point in sizes
        }
    return out


def _opt_inputs(session: ort.InferenceSession, shapes: str) -> dict[str, np.ndarray]:
    """Zero inputs (null-free: action 0) at the profile's opt shapes, to trigger the engine build."""
    dims = {part.split(":")[0]: [int(d) for d in part.split(":")[1].split("x")] for part in shapes.split(",")}
    return {
        i.name: np.zeros(dims[i.name], NUMPY_DTYPES.get(i.type, np.float32)) for i in session.get_inputs()
    }


def build_engines(bundle: Bundle, config: TensorRTConfig | None = None) -> bool:
    """Build and cache one TensorRT engine per graph; False (with a logged reason) when TensorRT is absent."""
    config = config or TensorRTConfig()
    reason = unavailable_reason()
    if reason:
        log.warning("--tensorrt: skipped: %s", reason)
        return False
    cache = bundle.cache_dir / TENSORRT_DIR
    cache.mkdir(parents=True, exist_ok=True)
    shapes = profiles(bundle, config)
    build = {
        "fp16": config.fp16,
        "config": asdict(config),
        "onnxruntime": ort.__version__,
        "built": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "profiles": shapes,
    }
    (cache / TENSORRT_BUILD).write_text(json.dumps(build, indent=2) + "\n")
    for name in bundle.graphs:
        options = bundle.tensorrt_options(name)
        options["trt_max_workspace_size"] = str(int(config.workspace_gb * (1 << 30)))
        start = time.perf_counter()
        session = ort.InferenceSession(
            str(bundle.graph_path(name)),
            providers=[(PROVIDER, options), "CUDAExecutionProvider", "CPUExecutionProvider"],
        )
        session.run(None, _opt_inputs(session, shapes[name]["opt"]))
        log.info("TensorRT engine for %s built in %.0f s (%s)", name, time.perf_counter() - start, cache)
    return True
