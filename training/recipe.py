"""Training recipes: a trained configuration is a small TOML file, not a command line.

A recipe has one table per config dataclass of its kind (`SECTIONS`): `[task]` (the task config, with the
model `preset`), `[model]` (fields of the model config that differ from the preset), `[flow]` or `[mask]`,
and `[train]` (`TrainConfig`). Only the keys a recipe sets are stored; the rest keep the dataclass
defaults. Every recipe of a kind starts from that kind's `default.toml` (what `musegenie train KIND` does
without `--recipe`), then from the recipe it `extends`, if any, so a fine-tune or a later stage of a staged
run is a few lines. Named recipes live in `training/recipes/<kind>/`; any other `.toml` path works too.

Resolution order (later wins): dataclass defaults < default.toml < `extends` chain < the file < `--set
SECTION.KEY=VALUE` < explicit run options (`--max-steps`, `--device`, ...). Unknown sections or keys and
values of the wrong type raise `RecipeError` naming the file and the key. A run writes the fully resolved
recipe to RUN/recipe.toml, which is itself a recipe that reproduces the run.
"""

from __future__ import annotations

import dataclasses
import difflib
import sys
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from engine.cli_args import base_type
from engine.errors import CommandError
from training.diffusion import FlowConfig
from training.loop.train_config import TrainConfig
from training.models.dynamics import DynamicsConfig
from training.models.lam import LAMConfig
from training.models.lam import MaskConfig as LAMMaskConfig
from training.models.tokenizer import TokenizerConfig
from training.tasks.dynamics import DynamicsTaskConfig
from training.tasks.dynamics import MaskConfig as DynamicsMaskConfig
from training.tasks.lam import LAMTaskConfig
from training.tasks.tokenizer import TokenizerTaskConfig

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - python 3.10 reads TOML with the tomli backport (pyproject's train extra)
    import tomli as tomllib

RECIPES = Path(__file__).parent / "recipes"
DEFAULT = "default"  # the recipe every other one of its kind starts from
TOP_LEVEL = ("extends", "kind", "resolved_from")  # keys outside the tables

SECTIONS: dict[str, dict[str, type]] = {
    "tokenizer": {
        "task": TokenizerTaskConfig,
        "model": TokenizerConfig,
        "flow": FlowConfig,
        "train": TrainConfig,
    },
    "lam": {"task": LAMTaskConfig, "model": LAMConfig, "mask": LAMMaskConfig, "train": TrainConfig},
    "dynamics": {
        "task": DynamicsTaskConfig,
        "model": DynamicsConfig,
        "mask": DynamicsMaskConfig,
        "train": TrainConfig,
    },
}
# Model fields the data or the task decide (the latent cache's width, the LAM's actions): not recipe keys.
DERIVED: dict[str, tuple[str, ...]] = {
    "tokenizer": (),
    "lam": ("latent_dim", "chunk_frames", "num_actions", "num_instruments"),
    "dynamics": ("latent_dim", "num_actions", "num_instruments"),
}


class RecipeError(CommandError, ValueError):
    """A recipe that cannot be used; the message names the file (or --set) and the key."""


def recipe_names(kind: str) -> list[str]:
    """Names of the recipes shipped for `kind` (files in training/recipes/<kind>/)."""
    return sorted(p.stem for p in (RECIPES / kind).glob("*.toml"))


def recipe_path(kind: str, name_or_file: str | Path, relative_to: Path | None = None) -> Path:
    """The file a recipe name or path means: a shipped name, or a .toml path (relative to `relative_to`)."""
    text = str(name_or_file)
    if text.endswith(".toml") or "/" in text or Path(text).is_file():
        path = Path(text).expanduser()
        if not path.is_absolute() and relative_to is not None and (relative_to / path).is_file():
            path = relative_to / path  # an `extends` path is relative to the file that names it
        if not path.is_file():
            raise RecipeError(f"recipe {text}: no such file")
        return path
    path = RECIPES / kind / f"{text}.toml"
    if not path.is_file():
        raise RecipeError(f"no {kind} recipe named {text!r}; shipped: {', '.join(recipe_names(kind))}")
    return path


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise RecipeError(f"recipe {path}: unreadable ({err})") from err


def _type_name(kind: Any) -> str:
    return getattr(kind, "__name__", str(kind))


def coerce(kind: Any, value: Any, where: str) -> Any:
    """`value` as the dataclass field type `kind` (int -> float allowed; bool never counts as a number)."""
    kind = base_type(kind)
    origin = typing.get_origin(kind)
    if origin in (tuple, list):
        inner = typing.get_args(kind)[0]
        if not isinstance(value, list | tuple):
            raise RecipeError(f"{where} must be a list of {_type_name(inner)}, got {value!r}")
        return tuple(coerce(inner, v, where) for v in value)
    if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if kind in (int, str, bool) and type(value) is kind:
        return value
    raise RecipeError(f"{where} must be {_type_name(kind)}, got {value!r}")


def _check_table(kind: str, section: str, table: Any, where: str) -> dict[str, Any]:
    """The table's values, each a known field of the section's dataclass, coerced to the field's type."""
    if not isinstance(table, dict):
        raise RecipeError(f"{where}: {section} must be a table ([{section}]), got {table!r}")
    cls = SECTIONS[kind][section]
    hints = typing.get_type_hints(cls)
    derived = DERIVED[kind] if section == "model" else ()
    checked = {}
    for key, value in table.items():
        if key in derived:
            raise RecipeError(f"{where}: {section}.{key} is set by the data or the task, not by a recipe")
        if key not in hints:
            close = difflib.get_close_matches(key, list(hints), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise RecipeError(
                f"{where}: [{section}] has no key {key!r}{hint}; {cls.__name__} has {', '.join(hints)}"
            )
        checked[key] = coerce(hints[key], value, f"{where}: {section}.{key}")
    return checked


def parse_set(kind: str, assignment: str) -> tuple[str, str, Any]:
    """`SECTION.KEY=VALUE` -> (section, key, value); VALUE is read as TOML, else taken as a string."""
    where = f"--set {assignment}"
    target, sep, text = assignment.partition("=")
    section, dot, key = target.strip().partition(".")
    if not sep or not dot or not key:
        raise RecipeError(f"{where}: expected SECTION.KEY=VALUE, e.g. train.lr=2e-4")
    if section not in SECTIONS[kind]:
        raise RecipeError(f"{where}: no section {section!r}; {kind} recipes have {', '.join(SECTIONS[kind])}")
    try:
        value = tomllib.loads(f"v = {text.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = text.strip()  # a bare word: tiny, 0:2, cuda:1
    checked = _check_table(kind, section, {key.strip(): value}, where)
    return section, key.strip(), checked[key.strip()]


@dataclass(frozen=True)
class Recipe:
    """A resolved recipe: the values set per section (the rest are the dataclass defaults)."""

    kind: str
    name: str  # the shipped name or the file it came from
    values: Mapping[str, Mapping[str, Any]]  # section -> {key: typed value}
    sets: tuple[str, ...] = ()  # the --set assignments and run options applied on top, as given

    def section(self, section: str) -> dict[str, Any]:
        return dict(self.values.get(section, {}))

    def build(self, section: str) -> Any:
        """The section's dataclass; a value its __post_init__ refuses raises RecipeError."""
        try:
            return SECTIONS[self.kind][section](**self.section(section))
        except ValueError as err:
            raise RecipeError(f"recipe {self.name}: [{section}] {err}") from err

    def with_values(self, section: str, values: Mapping[str, Any], label: Iterable[str]) -> Recipe:
        """A copy with `values` (already typed, e.g. from argparse) set in `section`."""
        if not values:
            return self
        merged = {**{k: dict(v) for k, v in self.values.items()}}
        merged.setdefault(section, {}).update(_check_table(self.kind, section, dict(values), self.name))
        return Recipe(self.kind, self.name, merged, (*self.sets, *label))

    def record(self) -> dict[str, Any]:
        """What a checkpoint keeps of the recipe: its name, the changes on top, the values it set."""
        return {
            "name": self.name,
            "sets": list(self.sets),
            "values": {k: dict(v) for k, v in self.values.items()},
        }

    def resolved_toml(self, model_config: Mapping[str, Any]) -> str:
        """Every section in full (the model's actual config, not only the keys set), as RUN/recipe.toml."""
        document: dict[str, Any] = {"kind": self.kind, "resolved_from": " ".join([self.name, *self.sets])}
        for section in SECTIONS[self.kind]:
            if section == "model":
                table = {k: v for k, v in model_config.items() if k not in DERIVED[self.kind]}
            else:
                table = dataclasses.asdict(self.build(section))
            document[section] = {k: _toml_value(v) for k, v in table.items() if v is not None}
        header = f"# The resolved {self.kind} recipe of this run: pass it to --recipe to train it again.\n"
        return header + tomli_w.dumps(document)


def _toml_value(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _chain(kind: str, path: Path, seen: tuple[Path, ...] = ()) -> list[tuple[Path, dict[str, Any]]]:
    """(file, document) from the kind's default through the `extends` chain to `path`, parents first."""
    path = path.resolve()
    if path in seen:
        raise RecipeError(f"recipe {path}: extends itself ({' -> '.join(p.name for p in (*seen, path))})")
    document = _read(path)
    unknown = [k for k, v in document.items() if not isinstance(v, dict) and k not in TOP_LEVEL]
    if unknown:
        raise RecipeError(f"recipe {path}: unknown top-level keys {unknown}; allowed: {', '.join(TOP_LEVEL)}")
    if document.get("kind", kind) != kind:
        raise RecipeError(f"recipe {path} is a {document['kind']} recipe, not a {kind} one")
    if "extends" in document:
        parent = recipe_path(kind, document["extends"], path.parent)
    else:
        default = recipe_path(kind, DEFAULT).resolve()
        parent = None if path == default else default
    parents = _chain(kind, parent, (*seen, path)) if parent is not None else []
    return [*parents, (path, document)]


def load_recipe(kind: str, name_or_file: str | Path = DEFAULT, sets: Iterable[str] = ()) -> Recipe:
    """Resolve a recipe (shipped name or .toml path) with its defaults, parents and --set assignments."""
    if kind not in SECTIONS:
        raise RecipeError(f"no recipes for {kind!r}; kinds: {', '.join(SECTIONS)}")
    values: dict[str, dict[str, Any]] = {}
    for path, document in _chain(kind, recipe_path(kind, name_or_file)):
        for section, table in document.items():
            if section in TOP_LEVEL:
                continue
            if section not in SECTIONS[kind]:
                raise RecipeError(
                    f"recipe {path}: unknown section [{section}]; {kind} recipes have "
                    + ", ".join(SECTIONS[kind])
                )
            values.setdefault(section, {}).update(_check_table(kind, section, table, f"recipe {path}"))
    sets = tuple(sets)
    for assignment in sets:
        section, key, value = parse_set(kind, assignment)
        values.setdefault(section, {})[key] = value
    name = str(name_or_file)
    return Recipe(kind, name, values, tuple(f"--set {s}" for s in sets))
