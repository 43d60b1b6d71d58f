"""Model kinds -> (module, config class, model class), imported only when a kind is asked for.

Checkpoints store `kind` and `asdict(config)`; `build(kind, config_dict)` rebuilds the model from them, so
sampling, evaluation and export need no flags. Tests register toy models with `register()`.
"""

from __future__ import annotations

import dataclasses
import importlib
import typing
from typing import Any

import torch

MODELS: dict[str, tuple[str, str, str]] = {
    "tokenizer": ("training.models.tokenizer", "TokenizerConfig", "Tokenizer"),
    "lam": ("training.models.lam", "LAMConfig", "LatentActionModel"),
    "dynamics": ("training.models.dynamics", "DynamicsConfig", "DynamicsModel"),
}


def register(kind: str, module: str, config_class: str, model_class: str) -> None:
    """Add (or replace) a kind; the classes are looked up by name in `module` when first built."""
    MODELS[kind] = (module, config_class, model_class)


def classes(kind: str) -> tuple[type, type[torch.nn.Module]]:
    """(ConfigClass, ModelClass) for a kind."""
    if kind not in MODELS:
        raise KeyError(f"unknown model kind {kind!r}; known: {', '.join(sorted(MODELS))}")
    module_name, config_name, model_name = MODELS[kind]
    module = importlib.import_module(module_name)
    return getattr(module, config_name), getattr(module, model_name)


def config_from_dict(config_class: type, values: dict[str, Any]) -> Any:
    """Rebuild a config dataclass from `asdict` output read back from JSON (lists -> tuples where typed so)."""
    hints = typing.get_type_hints(config_class)
    known = {f.name for f in dataclasses.fields(config_class)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"{config_class.__name__} has no fields {unknown}")
    fixed = {}
    for name, value in values.items():
        origin = typing.get_origin(hints[name])
        if isinstance(value, list) and (origin is tuple or hints[name] is tuple):
            value = tuple(tuple(v) if isinstance(v, list) else v for v in value)
        fixed[name] = value
    return config_class(**fixed)


def build(kind: str, config: dict[str, Any]) -> tuple[torch.nn.Module, Any]:
    """A freshly initialised model of `kind` from a config dict, and the config object."""
    config_class, model_class = classes(kind)
    config_obj = config_from_dict(config_class, config)
    return model_class(config_obj), config_obj
