"""onnxruntime sessions for the graphs of a model bundle: provider choice, threads, warm-up, IO binding.

`Runtime(bundle, RuntimeConfig(providers="auto"))` opens one InferenceSession per graph
(`tokenizer_encoder`, `tokenizer_decoder`, `lam_encoder`, `dynamics`). `auto` picks TensorRT > CUDA > CPU,
whichever this onnxruntime build has; an explicit list ("cuda,cpu") is taken as given and fails loudly
when a provider is not installed. Inputs are cast to the dtypes each graph declares, so callers pass
plain numpy arrays.

The sampling loops call `bind(graph, constants)`: the inputs that stay fixed for a whole loop (context
latents, mask, actions) are placed on the device once, so each step moves only the noisy state and t.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import onnxruntime as ort

from engine.bundle import GRAPH_NAMES, Bundle

log = logging.getLogger(__name__)

if os.environ.get("ORT_DISABLE_TELEMETRY") == "1":  # set by engine/__init__; also stop the event stream
    ort.disable_telemetry_events()

PROVIDER_ALIASES = {
    "tensorrt": "TensorrtExecutionProvider",
    "trt": "TensorrtExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "cpu": "CPUExecutionProvider",
}
AUTO_ORDER = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")
GPU_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider")
ONNX_DTYPES = {
    "tensor(float)": np.float32,
    "tensor(float16)": np.float16,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(bool)": np.bool_,
    "tensor(uint8)": np.uint8,
}


@dataclass
class RuntimeConfig:
    providers: str = "auto"  # auto = TensorRT > CUDA > CPU (what is installed), or a list: cuda,cpu
    intra_op_threads: int = 0  # threads per operator, 0 = all cores; a seed repeats only at the same count
    inter_op_threads: int = 0  # threads running independent operators; 0 = onnxruntime's default
    warmup: bool = True  # run every graph once at start so the first request is not slow


def resolve_providers(spec: str | list[str] | tuple[str, ...] = "auto") -> list[str]:
    """Turn "auto" or a comma list / sequence of names or aliases into installed provider names."""
    available = ort.get_available_providers()
    if isinstance(spec, str) and spec.strip().lower() == "auto":
        return [p for p in AUTO_ORDER if p in available] or ["CPUExecutionProvider"]
    names = [s.strip() for s in spec.split(",")] if isinstance(spec, str) else list(spec)
    chosen = []
    for name in filter(None, names):
        full = PROVIDER_ALIASES.get(name.lower(), name)
        if full not in available:
            raise ValueError(
                f"execution provider {name!r} is not installed (available: {', '.join(available)})"
            )
        chosen.append(full)
    if not chosen:
        raise ValueError(f"no execution provider in {spec!r}")
    return chosen


def _provider_options(name: str, bundle: Bundle) -> dict[str, str]:
    if name == "TensorrtExecutionProvider":
        # Engines take minutes to build: cache them beside the bundle (the cache/ folder is not checksummed).
        bundle.cache_dir.mkdir(parents=True, exist_ok=True)
        return {
            "trt_engine_cache_enable": "True",
            "trt_engine_cache_path": str(bundle.cache_dir / "tensorrt"),
        }
    return {}


class Graph:
    """One ONNX graph in one session; `run` casts inputs to the declared dtypes and returns named outputs."""

    def __init__(self, name: str, session: ort.InferenceSession, device: str) -> None:
        self.name = name
        self.session = session
        self.device = device  # "cpu" or "cuda": where IO-bound constants live
        self.input_types = {i.name: ONNX_DTYPES.get(i.type, np.float32) for i in session.get_inputs()}
        self.output_names = [o.name for o in session.get_outputs()]

    def _cast(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        unknown = set(inputs) - set(self.input_types)
        if unknown:
            raise KeyError(f"graph {self.name} has no input(s) {sorted(unknown)}")
        return {k: np.ascontiguousarray(v, dtype=self.input_types[k]) for k, v in inputs.items()}

    def run(self, **inputs: np.ndarray) -> dict[str, np.ndarray]:
        outputs = self.session.run(self.output_names, self._cast(inputs))
        return dict(zip(self.output_names, outputs, strict=True))

    def bind(self, **constants: np.ndarray) -> Callable[..., np.ndarray]:
        """A function of the remaining inputs returning the first output; `constants` are bound once."""
        binding = self.session.io_binding()
        kept = []  # the OrtValues must outlive the binding
        for name, value in self._cast(constants).items():
            ort_value = ort.OrtValue.ortvalue_from_numpy(value, self.device, 0)
            kept.append(ort_value)
            binding.bind_ortvalue_input(name, ort_value)
        output = self.output_names[0]

        def call(**varying: np.ndarray) -> np.ndarray:
            arrays = self._cast(varying)
            for name, value in arrays.items():
                binding.bind_cpu_input(name, value)
            binding.bind_output(output, self.device)
            self.session.run_with_iobinding(binding)
            return binding.copy_outputs_to_cpu()[0]

        call.kept = kept  # type: ignore[attr-defined]
        return call


class Runtime:
    """The four graphs of a bundle in onnxruntime sessions."""

    def __init__(self, bundle: Bundle, config: RuntimeConfig | None = None) -> None:
        self.bundle = bundle
        self.config = config or RuntimeConfig()
        self.providers = resolve_providers(self.config.providers)
        self.device = "cuda" if self.providers[0] in GPU_PROVIDERS else "cpu"
        self._provider_options = [(p, _provider_options(p, bundle)) for p in self.providers]
        self._single: dict[str, Graph] = {}  # single-threaded sessions for side_by_side, made on first use
        self._single_lock = threading.Lock()
        self._lane = threading.local()  # .single: this thread's graphs are the single-threaded sessions
        self.graphs: dict[str, Graph] = {}
        for name in GRAPH_NAMES:
            started = time.perf_counter()
            session = self._session(name, self.config.intra_op_threads)
            self.graphs[name] = Graph(name, session, self.device)
            log.debug(
                "loaded %s on %s in %.2fs", name, session.get_providers()[0], time.perf_counter() - started
            )
        log.info("bundle %s on %s", bundle.name, ", ".join(self.providers))
        if self.config.warmup:
            self.warmup()

    def _session(self, name: str, intra_op_threads: int) -> ort.InferenceSession:
        options = ort.SessionOptions()
        options.intra_op_num_threads = intra_op_threads
        options.inter_op_num_threads = self.config.inter_op_threads
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # The CPU arena keeps the peak of the largest request for the life of the process; without it the
        # memory goes back after each edit at no measured cost (models/default on CPU: a 1 s region 1.24 s
        # vs 1.22 s; RSS after a 16 s region 229 MB vs 329 MB).
        options.enable_cpu_mem_arena = False
        # Threads that spin between operators take the core the sampling loop's own numpy work needs, and
        # a busy DAW's: a generated 5 s edit takes 0.86x the time without spinning on 2 idle cores, 0.75x
        # with another program busy on one of them (docs/experiments.md).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3  # onnxruntime's own warnings go to our log level, not stderr spam
        return ort.InferenceSession(
            str(self.bundle.graph_path(name)), options, providers=self._provider_options
        )

    def __getitem__(self, name: str) -> Graph:
        if getattr(self._lane, "single", False) and self.side_by_side_workers() > 1:
            return self._one_thread(name)
        return self.graphs[name]

    @contextmanager
    def one_core(self) -> Iterator[None]:
        """Within the block, every graph this thread takes (`runtime[name]`) is side_by_side's single-threaded
        session: for whole requests a caller runs side by side, one per core (the engine's reads of the
        takes it checks). On a GPU, or with one thread, nothing changes."""
        before = getattr(self._lane, "single", False)
        self._lane.single = True
        try:
            yield
        finally:
            self._lane.single = before

    def side_by_side(self, name: str) -> tuple[Graph, int]:
        """(a session of graph `name` for independent blocks of work, how many threads may run it at once).

        On CPU, one onnxruntime run spread over the cores scales poorly on these graphs, and worse when
        another program (the DAW) keeps a core busy, so work that comes in independent blocks (a whole
        song's encode) runs them side by side, one thread each, on a single-threaded session of the graph
        made on first use (docs/experiments.md has the figures). On a GPU: the usual session, one block at
        a time."""
        workers = self.side_by_side_workers()
        if workers < 2:
            return self.graphs[name], 1
        return self._one_thread(name), workers

    def side_by_side_workers(self) -> int:
        """How many blocks of work `side_by_side` runs at once: 1 on a GPU, else the intra-op threads asked
        for, or every core."""
        if self.device != "cpu":
            return 1
        return self.config.intra_op_threads or len(os.sched_getaffinity(0))

    def _one_thread(self, name: str) -> Graph:
        with self._single_lock:
            if name not in self._single:
                self._single[name] = Graph(name, self._session(name, 1), self.device)
            return self._single[name]

    def warmup(self) -> float:
        """Run every graph once on one chunk of silence; returns the seconds it took."""
        b = self.bundle
        started = time.perf_counter()
        audio = np.zeros((1, 1, b.chunk_samples), np.float32)  # (B, 1, N)
        latents = self["tokenizer_encoder"].run(audio=audio)["latents"]  # (B, T, D)
        t = np.ones(1, np.float32)  # (B,)
        self["tokenizer_decoder"].run(noisy=audio, t=t, latents=latents)
        frames = latents.shape[1]
        instruments = np.zeros((1, frames, b.num_instruments), np.float32)  # (B, T, I)
        lam_inputs = {"latents": latents}
        if "instruments" in self["lam_encoder"].input_types:
            lam_inputs["instruments"] = instruments
        self["lam_encoder"].run(**lam_inputs)
        dyn_inputs = {
            "noisy": latents,
            "t": t,
            "context": latents,
            "mask": np.ones((1, frames), np.float32),
            "actions": np.full((1, frames), b.null_action, np.int64),
        }
        if "instruments" in self["dynamics"].input_types:
            dyn_inputs["instruments"] = instruments
        self["dynamics"].run(**dyn_inputs)
        seconds = time.perf_counter() - started
        log.info("warm-up took %.2fs", seconds)
        return seconds
