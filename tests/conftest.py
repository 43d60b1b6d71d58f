"""Session fixtures shared by the engine, OSC bridge and export tests.

`tiny_models`: untrained `tiny` tokenizer, LAM and dynamics model (seed 0). AdaLN-Zero makes an untrained
decoder and dynamics model output exactly zero, which would make every parity check and every edit
trivially pass, so each parameter gets a small seeded perturbation: outputs then depend on every input.
`tiny_bundle`: those models exported (with named actions) into a temp folder. Exporting takes tens of
seconds on a busy CPU, so the bundle is cached in .pytest_cache under a key hashing the model, export and
bundle sources, this file and the torch/onnx/onnxruntime versions; any change re-exports. A cache hit is
checksum-verified and copied, so tests may modify their copy. torch is imported only on a cache miss.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
CACHE_SOURCES = ("training/models/*.py", "export/*.py", "engine/bundle.py", "tests/conftest.py")

TINY_LATENT_DIM = 8  # the tiny tokenizer's D
TINY_CHUNK_FRAMES = 4  # LAM chunk k (hop 32 -> 4 ms chunks: lengths stay short)
TINY_NUM_ACTIONS = 4  # A
TINY_ACTIONS = [
    {"id": 0, "name": "louder", "description": "dynamics up across the chunk"},
    {"id": 1, "name": "softer", "description": "dynamics down"},
    {"id": 2, "name": "solo", "description": "a new soloist enters"},
    {"id": 3, "name": "drop", "description": "the drums drop out"},
]


@dataclass
class TinyModels:
    tokenizer: Any  # training.models.tokenizer.Tokenizer
    lam: Any  # training.models.lam.LatentActionModel
    dynamics: Any  # training.models.dynamics.DynamicsModel


def build_tiny_models(seed: int = 0, num_instruments: int = 0, perturb: float = 0.05) -> TinyModels:
    """Tiny presets wired together (D, A, I agree), perturbed away from zero-init, in eval mode."""
    import torch

    from training.models import dynamics, lam, tokenizer

    torch.manual_seed(seed)
    tok = tokenizer.build("tiny")
    lam_model = lam.LatentActionModel(
        lam.lam_config(
            "tiny",
            latent_dim=tok.latent_dim,
            chunk_frames=TINY_CHUNK_FRAMES,
            num_actions=TINY_NUM_ACTIONS,
            num_instruments=num_instruments,
        )
    )
    dyn = dynamics.DynamicsModel(
        dynamics.preset(
            "tiny", latent_dim=tok.latent_dim, num_actions=TINY_NUM_ACTIONS, num_instruments=num_instruments
        )
    )
    gen = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for model in (tok, lam_model, dyn):
            for p in model.parameters():
                p.add_(perturb * torch.randn(p.shape, generator=gen))
            model.eval()
    return TinyModels(tok, lam_model, dyn)


@pytest.fixture(scope="session")
def tiny_models() -> TinyModels:
    return build_tiny_models()


@pytest.fixture(scope="session")
def tiny_actions_json(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("lam_eval") / "actions.json"
    path.write_text(json.dumps({"actions": TINY_ACTIONS}))
    return path


def tiny_bundle_key() -> str:
    """Hash of everything that decides the tiny bundle's bytes (sources and library versions)."""
    digest = hashlib.sha256()
    for pattern in CACHE_SOURCES:
        for path in sorted(ROOT.glob(pattern)):
            digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    for package in ("torch", "onnx", "onnxruntime", "onnxscript"):
        digest.update(f"{package}=={version(package)}".encode())
    return digest.hexdigest()[:16]


def export_tiny_bundle(out: Path, actions_json: Path) -> Path:
    """Export freshly built tiny models to `out` (quick parity: two cases per graph)."""
    from export.bundle_writer import export_bundle
    from export.parity import QUICK_CASES

    models = build_tiny_models()
    return export_bundle(
        models.tokenizer,
        models.lam,
        models.dynamics,
        out,
        name="tiny-test",
        actions_json=actions_json,
        evals={"lam_actions": actions_json},
        command="pytest tests/conftest.py::tiny_bundle",
        parity_cases=QUICK_CASES,
    )


def tiny_estimator(path: Path, seed: int = 0) -> Path:
    """A random-weight instrument estimator over the synthetic corpus's vocabulary (tests need its
    plumbing, not its accuracy; training/instruments.py is tested on real pieces)."""
    import numpy as np

    from engine.instruments import N_MELS, InstrumentEstimator
    from training.data.annotations import INSTRUMENTS

    rng = np.random.default_rng(seed)
    features = 4 * N_MELS
    return InstrumentEstimator(
        names=INSTRUMENTS,
        mean=np.full(features, -60.0, np.float32),
        scale=np.full(features, 20.0, np.float32),
        weights=(0.3 * rng.standard_normal((features, len(INSTRUMENTS))).astype(np.float32),),
        biases=(np.zeros(len(INSTRUMENTS), np.float32),),
    ).save(path)


@pytest.fixture(scope="session")
def tiny_instrument_bundle(tiny_actions_json: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny bundle whose LAM and dynamics are conditioned on 3 instruments, with an estimator."""
    from export.bundle_writer import export_bundle
    from export.parity import QUICK_CASES

    folder = tmp_path_factory.mktemp("instrument_bundle")
    models = build_tiny_models(num_instruments=3)
    return export_bundle(
        models.tokenizer,
        models.lam,
        models.dynamics,
        folder / "tiny-instruments",
        name="tiny-instruments",
        actions_json=tiny_actions_json,
        command="pytest tests/conftest.py::tiny_instrument_bundle",
        parity_cases=QUICK_CASES,
        instrument_estimator=tiny_estimator(folder / "estimator.npz"),
    )


@pytest.fixture(scope="session")
def tiny_bundle(
    tiny_actions_json: Path, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Path:
    """A bundle folder of the tiny models, private to this session (cached across sessions)."""
    from engine.bundle import BundleError, load_bundle

    out = tmp_path_factory.mktemp("bundles") / "tiny"
    if getattr(request.config, "cache", None) is None:  # pytest -p no:cacheprovider
        return export_tiny_bundle(out, tiny_actions_json)
    cache_root = Path(request.config.cache.mkdir("musegenie_tiny_bundle"))
    cached = cache_root / tiny_bundle_key()
    if cached.is_dir():
        try:
            load_bundle(cached)
            return Path(shutil.copytree(cached, out))
        except BundleError:
            shutil.rmtree(cached, ignore_errors=True)
    export_tiny_bundle(out, tiny_actions_json)
    for stale in cache_root.iterdir():  # other keys are outdated; hidden folders are others' staging
        if not stale.name.startswith("."):
            shutil.rmtree(stale, ignore_errors=True)
    staging = cache_root / f".tmp-{os.getpid()}"
    shutil.copytree(out, staging)
    try:
        staging.rename(cached)  # atomic: a parallel session sees the whole bundle or none
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
    return out
