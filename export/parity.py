"""Parity: run each exported graph in onnxruntime and the wrapper in torch on the same fresh random inputs.

Inputs are drawn at several batch sizes and lengths (none of them the tracing example's), so a graph that
baked in a shape fails here. Errors per float output: max abs = max |onnx - torch|; max rel = max abs /
max |torch| (relative to the output's peak, which stays meaningful where outputs cross zero). The export
fails when max rel exceeds the tolerance: 1e-3 for float32 graphs, 3e-2 for fp16 graphs. Integer outputs
(the LAM's action ids) must match exactly, except where torch's two best logits are closer than the float
tolerance (a tie that rounding may break either way).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from export.wrappers import GraphWrapper

log = logging.getLogger(__name__)

FP32_TOLERANCE = 1e-3  # max rel (peak-normalised) for float32 graphs
FP16_TOLERANCE = 3e-2  # max rel for graphs converted to fp16
# (batch, length in units of the wrapper's time_multiple): odd sizes, none equal to the tracing example
DEFAULT_CASES: tuple[tuple[int, int], ...] = ((1, 1), (3, 2), (2, 5), (1, 16))
QUICK_CASES: tuple[tuple[int, int], ...] = ((1, 1), (3, 2))


class ParityError(AssertionError):
    """ONNX and torch disagree beyond the tolerance; the message names the graph, output and errors."""


@dataclass
class ParityResult:
    graph: str  # graph name
    max_abs: float  # over every float output and case
    max_rel: float  # max abs / max |torch output|, worst output and case
    tolerance: float  # the max_rel bound that was checked
    cases: list[tuple[int, int]] = field(default_factory=list)  # (batch, frames) that ran
    per_output: dict[str, tuple[float, float]] = field(default_factory=dict)  # name -> (max abs, max rel)
    id_mismatches: int = 0  # integer outputs that differ where the logits were not tied

    def as_manifest(self) -> dict[str, float]:
        return {"max_abs": self.max_abs, "max_rel": self.max_rel}


def session(path: str | Path, providers: Sequence[str] = ("CPUExecutionProvider",)) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=list(providers))


def _ids_mismatch(ids_onnx: np.ndarray, ids_torch: np.ndarray, logits: np.ndarray | None, tol: float) -> int:
    """Count differing ids, ignoring positions whose two best reference logits are within tol."""
    differ = ids_onnx != ids_torch
    if logits is not None and differ.any():
        top2 = np.sort(logits, axis=-1)[..., -2:]
        scale = max(float(np.abs(logits).max()), 1e-6)
        tied = (top2[..., 1] - top2[..., 0]) <= tol * scale
        differ &= ~tied
    return int(differ.sum())


def check_parity(
    wrapper: GraphWrapper,
    onnx_path: str | Path,
    cases: Sequence[tuple[int, int]] = DEFAULT_CASES,
    fp16: bool = False,
    seed: int = 1234,
    sess: ort.InferenceSession | None = None,
) -> ParityResult:
    """Compare the ONNX graph with the torch wrapper on random inputs; raise ParityError above tolerance."""
    sess = sess or session(onnx_path)
    tolerance = FP16_TOLERANCE if fp16 else FP32_TOLERANCE
    out_specs = wrapper.outputs()
    result = ParityResult(wrapper.graph_name, 0.0, 0.0, tolerance)
    gen = torch.Generator().manual_seed(seed)
    for batch, units in cases:
        frames = units * wrapper.time_multiple
        example = wrapper.example_inputs(batch, frames, gen)
        with torch.no_grad():
            expected = wrapper(**example)
        expected = expected if isinstance(expected, tuple) else (expected,)
        got = sess.run([s.name for s in out_specs], {k: v.numpy() for k, v in example.items()})
        by_name = {s.name: e.numpy() for s, e in zip(out_specs, expected, strict=True)}
        for spec, ref, out in zip(out_specs, expected, got, strict=True):
            ref = ref.numpy()
            if out.shape != ref.shape:
                raise ParityError(
                    f"{wrapper.graph_name}.{spec.name}: onnx shape {out.shape} != torch {ref.shape} (batch {batch}, {frames} frames)"
                )
            if spec.dtype == "int64":
                result.id_mismatches += _ids_mismatch(out, ref, by_name.get("action_logits"), tolerance)
                continue
            abs_err = float(np.abs(out.astype(np.float64) - ref).max())
            rel_err = abs_err / max(float(np.abs(ref).max()), 1e-12)
            prev = result.per_output.get(spec.name, (0.0, 0.0))
            result.per_output[spec.name] = (max(prev[0], abs_err), max(prev[1], rel_err))
            result.max_abs = max(result.max_abs, abs_err)
            result.max_rel = max(result.max_rel, rel_err)
        result.cases.append((batch, frames))
    log.info(
        "parity %-18s max abs %.2e  max rel %.2e  (tolerance %.0e, %d cases)%s",
        wrapper.graph_name,
        result.max_abs,
        result.max_rel,
        tolerance,
        len(result.cases),
        f", {result.id_mismatches} id mismatches" if result.id_mismatches else "",
    )
    if result.max_rel > tolerance or result.id_mismatches:
        worst = ", ".join(f"{k}: abs {a:.2e} rel {r:.2e}" for k, (a, r) in result.per_output.items())
        raise ParityError(
            f"{wrapper.graph_name}: onnxruntime disagrees with torch beyond rel {tolerance:.0e} "
            f"({worst}; {result.id_mismatches} action id mismatches; cases {result.cases})"
        )
    return result
