"""Write an NVIDIA Triton Inference Server model repository for a bundle's four graphs.

    REPO/<prefix><graph>/config.pbtxt    onnxruntime backend, dynamic batching, instance group
    REPO/<prefix><graph>/1/model.onnx    the bundle's ONNX file

Triton owns the batch axis (`max_batch_size` > 0), so dims list the remaining axes, -1 where dynamic; the
per-item scalar `t` (B,) is declared as dims [1] reshaped to [] for the model. Dynamic batching merges
requests of equal shape (e.g. the conditional and null-action passes of many edits with the same window).
The sampling loops stay in the client: a Triton deployment replaces `engine.runtime`'s sessions, not the
edit pipeline.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import onnx

from engine.bundle import Bundle

log = logging.getLogger(__name__)

TRITON_TYPES = {
    onnx.TensorProto.FLOAT: "TYPE_FP32",
    onnx.TensorProto.FLOAT16: "TYPE_FP16",
    onnx.TensorProto.INT64: "TYPE_INT64",
    onnx.TensorProto.INT32: "TYPE_INT32",
    onnx.TensorProto.BOOL: "TYPE_BOOL",
}


@dataclass
class TritonConfig:
    max_batch_size: int = 8  # Triton's batch limit per model (the batch axis B)
    instance_count: int = 1  # model instances per device
    kind: str = "gpu"  # instance kind: gpu or cpu
    max_queue_delay_us: int = 2000  # how long dynamic batching waits to fill a batch
    tensorrt: bool = False  # run the graphs through Triton's TensorRT accelerator inside onnxruntime
    fp16: bool = False  # fp16 precision for that accelerator
    model_prefix: str = ""  # prepended to each model name (several bundles in one repository)


def tensor_types(onnx_path: str | Path) -> dict[str, str]:
    """Triton data type of every graph input and output, read from the ONNX file."""
    graph = onnx.load(str(onnx_path), load_external_data=False).graph
    return {v.name: TRITON_TYPES[v.type.tensor_type.elem_type] for v in [*graph.input, *graph.output]}


def _tensor(name: str, dims: list[int | str], data_type: str, indent: str = "  ") -> str:
    rest = dims[1:]  # the leading B belongs to Triton's batching
    lines = [f"{indent}{{", f'{indent}  name: "{name}"', f"{indent}  data_type: {data_type}"]
    if rest:
        lines.append(f"{indent}  dims: [ {', '.join(str(-1 if isinstance(d, str) else d) for d in rest)} ]")
    else:
        lines += [f"{indent}  dims: [ 1 ]", f"{indent}  reshape: {{ shape: [ ] }}"]
    lines.append(f"{indent}}}")
    return "\n".join(lines)


def config_pbtxt(
    model_name: str, inputs: dict, outputs: dict, types: dict[str, str], config: TritonConfig
) -> str:
    """The config.pbtxt text of one graph (inputs/outputs: name -> manifest dims; types: name -> TYPE_*)."""
    if config.kind not in ("gpu", "cpu"):
        raise ValueError(f"Triton instance kind must be gpu or cpu, got {config.kind!r}")
    ins = ",\n".join(_tensor(n, d, types[n]) for n, d in inputs.items())
    outs = ",\n".join(_tensor(n, d, types[n]) for n, d in outputs.items())
    text = [
        f'name: "{model_name}"',
        'backend: "onnxruntime"',
        f"max_batch_size: {config.max_batch_size}",
        f"input [\n{ins}\n]",
        f"output [\n{outs}\n]",
        "dynamic_batching {",
        f"  max_queue_delay_microseconds: {config.max_queue_delay_us}",
        "}",
        f"instance_group [\n  {{\n    count: {config.instance_count}\n    kind: KIND_{config.kind.upper()}\n  }}\n]",
    ]
    if config.tensorrt and config.kind == "gpu":
        precision = "FP16" if config.fp16 else "FP32"
        text.append(
            "optimization { execution_accelerators { gpu_execution_accelerator : [ {\n"
            '  name : "tensorrt"\n'
            f'  parameters {{ key: "precision_mode" value: "{precision}" }}\n'
            "} ] } }"
        )
    return "\n".join(text) + "\n"


def write_repository(bundle: Bundle, repo_dir: str | Path, config: TritonConfig | None = None) -> Path:
    """Write (or refresh) the bundle's models in a Triton model repository; returns the repository path."""
    config = config or TritonConfig()
    repo = Path(repo_dir)
    for name, graph in bundle.graphs.items():
        model_name = config.model_prefix + name
        model_dir = repo / model_name
        (model_dir / "1").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(bundle.graph_path(name), model_dir / "1" / "model.onnx")
        types = tensor_types(bundle.graph_path(name))
        text = config_pbtxt(model_name, graph.inputs, graph.outputs, types, config)
        (model_dir / "config.pbtxt").write_text(text)
        log.info("triton model %s -> %s", model_name, model_dir)
    return repo
