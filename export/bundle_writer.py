"""Assemble a model bundle from three in-memory models: ONNX graphs, parity, eval JSONs, manifest.json.

The bundle is built in a hidden sibling folder and renamed into place only after every graph exported,
passed onnx.checker and passed parity, so a failed export never leaves a half bundle where the engine
looks. The manifest follows docs/interfaces.md ("Model bundle") and is written by `engine.bundle`, the
same module that reads and verifies it.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import onnx
import onnxruntime
import torch
from torch import nn

from engine.bundle import ESTIMATOR_KEY, FORMAT, FORMAT_VERSION, Defaults, write_manifest
from engine.instruments import install as install_estimator
from export.model_card import write_card
from export.onnx_export import DEFAULT_OPSET, export_graph
from export.parity import DEFAULT_CASES, check_parity
from export.wrappers import GraphWrapper, build_wrappers

log = logging.getLogger(__name__)

DEFAULT_SAMPLE_RATE = 16_000  # the model rate of every stage (docs/interfaces.md)


def model_config(model: nn.Module) -> dict[str, Any]:
    """asdict(model.config) when the model carries a config dataclass, else {}."""
    config = getattr(model, "config", None)
    return asdict(config) if dataclasses.is_dataclass(config) and not isinstance(config, type) else {}


def load_actions(path: str | Path | None, num_actions: int) -> list[dict[str, Any]]:
    """`[{id, name, description}]` for every action, from a LAM eval's actions.json when given.

    Accepts a list of entries or `{"actions": [...]}`; an entry's id may be `id` or `index`. Actions the file
    does not describe get the name `action_<id>` and an empty description.
    """
    described: dict[int, dict[str, Any]] = {}
    if path is not None:
        data = json.loads(Path(path).read_text())
        entries = data.get("actions", []) if isinstance(data, dict) else data
        for position, entry in enumerate(entries):
            index = int(entry.get("id", entry.get("index", position)))
            if not 0 <= index < num_actions:
                raise ValueError(f"{path}: action id {index} outside 0..{num_actions - 1}")
            described[index] = entry
    actions = []
    for i in range(num_actions):
        entry = described.get(i, {})
        actions.append(
            {
                "id": i,
                "name": str(entry.get("name") or f"action_{i}"),
                "description": str(entry.get("description", "")),
            }
        )
    names = [a["name"] for a in actions]
    if len(set(names)) != len(names):
        raise ValueError(f"{path}: action names must be unique, got {names}")
    return actions


def graph_entry(wrapper: GraphWrapper, file: str) -> dict[str, Any]:
    return {
        "file": file,
        "inputs": {s.name: list(s.dims) for s in wrapper.inputs()},
        "outputs": {s.name: list(s.dims) for s in wrapper.outputs()},
    }


def check_compatible(tokenizer: nn.Module, lam: nn.Module, dynamics: nn.Module) -> None:
    """The three models must agree on latent width, actions and instruments; raise ValueError."""
    d = int(tokenizer.latent_dim)
    problems = []
    for label, model in (("lam", lam), ("dynamics", dynamics)):
        width = getattr(model.config, "latent_dim", d)
        if width != d:
            problems.append(f"{label} latent_dim {width} != tokenizer latent_dim {d}")
    for key in ("num_actions", "num_instruments"):
        a, b = getattr(lam.config, key, 0) or 0, getattr(dynamics.config, key, None)
        if b is not None and (b or 0) != a:
            problems.append(f"dynamics {key} {b} != lam {key} {a}")
    patch, chunk = getattr(dynamics.config, "patch", 1), getattr(lam.config, "chunk_frames", 1)
    if chunk % patch:
        problems.append(f"dynamics patch {patch} does not divide the LAM's {chunk}-frame chunks")
    if problems:
        raise ValueError("models do not belong together: " + "; ".join(problems))


def _copy_evals(evals: Mapping[str, str | Path], eval_dir: Path) -> None:
    """Copy eval JSONs as eval/<key>.json (keys like "lam_actions")."""
    for key, src in evals.items():
        eval_dir.mkdir(exist_ok=True)
        shutil.copyfile(src, eval_dir / f"{key}.json")


def export_bundle(
    tokenizer: nn.Module,
    lam: nn.Module,
    dynamics: nn.Module,
    out_dir: str | Path,
    *,
    name: str | None = None,
    opset: int = DEFAULT_OPSET,
    fp16: bool = False,
    defaults: Defaults | None = None,
    actions_json: str | Path | None = None,
    configs: Mapping[str, dict[str, Any]] | None = None,
    evals: Mapping[str, str | Path] | None = None,
    command: str = "",
    training: Mapping[str, Any] | None = None,
    parity_cases: Sequence[tuple[int, int]] = DEFAULT_CASES,
    overwrite: bool = False,
    instrument_estimator: str | os.PathLike | None = None,
) -> Path:
    """Export the three (EMA) models to a verified bundle folder and return its path.

    Args:
        tokenizer, lam, dynamics: models following docs/interfaces.md (put in eval mode here).
        out_dir: the bundle folder; must not exist unless overwrite.
        configs: {"tokenizer", "lam", "dynamics"} config dicts; default asdict(model.config).
        evals: eval JSONs to copy, as {key: path} -> eval/<key>.json.
        training: the manifest's `training` record (training.record.training_record), for the card.
        parity_cases: (batch, length in chunks) pairs for the parity check.
        instrument_estimator: `musegenie train instruments` output (.npz) to ship in the bundle, so the
            engine hears who plays (and fills an instrument-conditioned model's context with it).
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not overwrite:
        raise FileExistsError(f"{out_dir} exists (pass overwrite / --force to replace it)")
    check_compatible(tokenizer, lam, dynamics)
    defaults = (defaults or Defaults()).check()
    wrappers = build_wrappers(tokenizer, lam, dynamics)
    lam_encoder = wrappers["lam_encoder"]
    num_actions, chunk_frames = lam_encoder.num_actions, lam_encoder.time_multiple
    actions = load_actions(actions_json, num_actions)
    instruments = list(getattr(lam.config, "instruments", ()) or ())
    if not instruments and lam_encoder.num_instruments:
        from training.data.annotations import INSTRUMENTS

        instruments = list(INSTRUMENTS[: lam_encoder.num_instruments])

    staging = out_dir.parent / f".{out_dir.name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        graphs, parity = {}, {}
        for graph_name, wrapper in wrappers.items():
            file = f"{graph_name}.onnx"
            export_graph(wrapper, staging / file, opset=opset, fp16=fp16)
            parity[graph_name] = check_parity(wrapper, staging / file, parity_cases, fp16=fp16)
            graphs[graph_name] = graph_entry(wrapper, file)
        _copy_evals(evals or {}, staging / "eval")
        estimator = (
            None
            if instrument_estimator is None
            else install_estimator(instrument_estimator, staging, instruments)
        )
        sample_rate = int(getattr(tokenizer.config, "sample_rate", DEFAULT_SAMPLE_RATE))
        hop = int(tokenizer.hop)
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "name": name or out_dir.name,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "sample_rate": sample_rate,
            "hop": hop,
            "latent_dim": int(tokenizer.latent_dim),
            "frame_rate": sample_rate / hop,
            "chunk_frames": chunk_frames,
            "audio_scale": float(tokenizer.config.audio_scale),
            "emphasis": float(getattr(tokenizer.config, "emphasis", 0.0)),
            "compand": float(getattr(tokenizer.config, "compand", 1.0)),
            "compand_bins": int(tokenizer.config.companding_bins),
            "compand_window": int(tokenizer.config.compand_window),
            "num_actions": num_actions,
            "actions": actions,
            "instruments": instruments,
            **({ESTIMATOR_KEY: estimator} if estimator else {}),
            "defaults": asdict(defaults),
            "graphs": graphs,
            "opset": opset,
            "configs": dict(configs)
            if configs is not None
            else {
                "tokenizer": model_config(tokenizer),
                "lam": model_config(lam),
                "dynamics": model_config(dynamics),
            },
            "parity": {g: r.as_manifest() for g, r in parity.items()},
            "command": command,
            "export": {
                "exporter": "torch.onnx.export(dynamo=True)",
                "torch": torch.__version__,
                "onnx": onnx.__version__,
                "onnxruntime": onnxruntime.__version__,
                "fp16": fp16,
                "parity_tolerance": max(r.tolerance for r in parity.values()),
                "parity_cases": {g: r.cases for g, r in parity.items()},
            },
        }
        if training is not None:
            manifest["training"] = dict(training)
        write_manifest(staging, manifest)
        write_card(staging)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        staging.rename(out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    log.info("bundle written: %s (%d actions, %d graphs)", out_dir, num_actions, len(graphs))
    return out_dir
