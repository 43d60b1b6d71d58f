"""Export one wrapper to ONNX with dynamic batch and time axes, then check it with onnx.checker.

Exporter: torch's dynamo exporter (`torch.onnx.export(..., dynamo=True)`, torch.export + onnxscript), the
default in torch 2.13. The legacy TorchScript exporter bakes the batch size into the reshapes of
`nn.MultiheadAttention`'s fast path, so a graph traced at batch 2 fails at batch 3; the dynamo exporter
keeps every axis symbolic. It writes opset 18 or newer (it cannot down-convert to 17), hence the default.

Time axes tied to a hop or a chunk length are declared as multiples (`N = hop * T`, `T = k * K`) so the
exported graph holds for every valid length, and the symbolic dims of the graph's inputs and outputs are
renamed to the contract's letters (B, N, T, K) so a reader of the ONNX file sees the manifest's shapes.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path

import onnx
import onnx_ir as ir
import torch
from onnx_ir.passes.common import TopologicalSortPass

from export.wrappers import GraphWrapper, TensorSpec

log = logging.getLogger(__name__)

DEFAULT_OPSET = 18
MIN_OPSET = 18  # the dynamo exporter's lowest opset in torch 2.13
EXAMPLE_BATCH = 2  # != 1 so the batch axis is not specialised while tracing


class ExportError(RuntimeError):
    """A graph that could not be exported or failed onnx.checker; the message names the graph."""


def example_frames(wrapper: GraphWrapper) -> int:
    """Latent frames of the tracing example: a few chunks, never 1 (torch.export specialises size-1 axes)."""
    return 3 * wrapper.time_multiple if wrapper.time_multiple > 1 else 6


def dynamic_shapes(wrapper: GraphWrapper) -> dict[str, dict[int, torch.export.Dim]]:
    """torch.export Dims for every symbolic axis of the wrapper's inputs (derived axes as multiples)."""
    derived = wrapper.derived_axes()
    base: dict[str, torch.export.Dim] = {}

    def dim(letter: str) -> torch.export.Dim:
        if letter in derived:
            root, factor = derived[letter]
            return factor * dim(root)
        if letter not in base:
            base[letter] = torch.export.Dim(letter, min=1)
        return base[letter]

    return {
        spec.name: {axis: dim(d) for axis, d in enumerate(spec.dims) if isinstance(d, str)}
        for spec in wrapper.inputs()
    }


def _rename_dims(
    model: onnx.ModelProto, specs: Iterable[TensorSpec], values: Iterable[onnx.ValueInfoProto]
) -> dict:
    """Map the exporter's dim names on graph inputs/outputs to the contract's letters; check fixed dims."""
    renames = {}
    by_name = {v.name: v for v in values}
    for spec in specs:
        value = by_name[spec.name]
        dims = value.type.tensor_type.shape.dim
        if len(dims) != len(spec.dims):
            raise ExportError(f"{spec.name}: graph has rank {len(dims)}, contract says {spec.dims}")
        for got, want in zip(dims, spec.dims, strict=True):
            if isinstance(want, int):
                if got.HasField("dim_value") and got.dim_value != want:
                    raise ExportError(
                        f"{spec.name}: graph dim {got.dim_value}, contract says {want} in {spec.dims}"
                    )
            elif got.HasField("dim_value"):
                raise ExportError(f"{spec.name}: axis {want} was exported as fixed size {got.dim_value}")
            else:
                renames[got.dim_param] = want
    return renames


def _apply_renames(model: onnx.ModelProto, renames: dict[str, str]) -> None:
    graph = model.graph
    for value in [*graph.input, *graph.output, *graph.value_info]:
        for dim in value.type.tensor_type.shape.dim:
            if dim.HasField("dim_param") and dim.dim_param in renames:
                dim.dim_param = renames[dim.dim_param]


@contextlib.contextmanager
def _quiet_loggers() -> Iterator[None]:
    """onnxscript's optimizer logs every rewrite at INFO; keep those out of the export's log."""
    loggers = [logging.getLogger(name) for name in ("onnxscript", "onnx_ir", "torch.onnx", "torch.export")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def to_onnx(wrapper: GraphWrapper, opset: int = DEFAULT_OPSET) -> onnx.ModelProto:
    """Trace the wrapper with the dynamo exporter and return the ModelProto with contract dim names."""
    if opset < MIN_OPSET:
        raise ExportError(
            f"{wrapper.graph_name}: opset {opset} is not supported: the torch {torch.__version__} exporter writes >= {MIN_OPSET}"
        )
    gen = torch.Generator().manual_seed(0)
    example = wrapper.example_inputs(EXAMPLE_BATCH, example_frames(wrapper), gen)
    inputs, outputs = wrapper.inputs(), wrapper.outputs()
    chatter = io.StringIO()  # the exporter prints progress to stdout; keep it for the debug log
    with warnings.catch_warnings(), torch.no_grad(), _quiet_loggers(), contextlib.redirect_stdout(chatter):
        warnings.simplefilter("ignore")
        try:
            program = torch.onnx.export(
                wrapper,
                (),
                kwargs=example,
                input_names=[s.name for s in inputs],
                output_names=[s.name for s in outputs],
                opset_version=opset,
                dynamo=True,
                dynamic_shapes=dynamic_shapes(wrapper),
                external_data=False,
                optimize=True,
                verbose=False,
            )
        except Exception as err:  # torch.export raises many types; re-raise naming the graph
            raise ExportError(f"{wrapper.graph_name}: ONNX export failed: {err}") from err
    log.debug("exporter output for %s:\n%s", wrapper.graph_name, chatter.getvalue())
    model = program.model_proto
    renames = _rename_dims(model, inputs, model.graph.input)
    renames.update(_rename_dims(model, outputs, model.graph.output))
    _apply_renames(model, renames)
    model.doc_string = f"musegenie {wrapper.graph_name} ({type(wrapper).__doc__ or ''}".strip() + ")"
    return model


def to_fp16(model: onnx.ModelProto) -> onnx.ModelProto:
    """fp16 weights and compute with float32 inputs/outputs, so the engine feeds the same tensors."""
    from onnxruntime.transformers.float16 import convert_float_to_float16

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        del model.graph.value_info[:]  # the exporter's float32 annotations would contradict the fp16 graph
        model = convert_float_to_float16(model, keep_io_types=True, disable_shape_infer=False)
    # The converter appends the float32 -> fp16 input casts after their consumers; onnx.checker wants order.
    graph = ir.from_proto(model)
    TopologicalSortPass()(graph)
    return ir.to_proto(graph)


def export_graph(
    wrapper: GraphWrapper, path: str | Path, opset: int = DEFAULT_OPSET, fp16: bool = False
) -> Path:
    """Export, optionally convert to fp16, save as one self-contained .onnx file and run onnx.checker."""
    path = Path(path)
    model = to_onnx(wrapper, opset)
    if fp16:
        model = to_fp16(model)
    onnx.save_model(model, str(path))
    try:
        onnx.checker.check_model(str(path), full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as err:
        raise ExportError(f"{wrapper.graph_name}: onnx.checker rejected {path.name}: {err}") from err
    log.info(
        "exported %s -> %s (%.2f MB, opset %d%s)",
        wrapper.graph_name,
        path,
        path.stat().st_size / 1e6,
        opset,
        ", fp16" if fp16 else "",
    )
    return path
