"""The model bundle: `manifest.json` + ONNX graphs + `eval/*.json`, written by `musegenie export`.

This module is the one reader (and the manifest writer) of the format in docs/interfaces.md ("Model
bundle"). It needs only json, hashlib and pathlib, so the engine can load and verify a bundle on a box
without torch or onnx. Every file the manifest lists is checked against its sha256 and size; a missing,
truncated or tampered file raises `BundleError` naming it.
"""

from __future__ import annotations

import hashlib
import json
import numbers
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from engine.decoder_space import DecoderSpace
from engine.published_file import atomic_write
from engine.sampling import METHODS, timesteps

FORMAT = "musegenie-bundle"
FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
CARD_NAME = (
    "MODEL_CARD.md"  # written from the manifest and eval/*.json (export/model_card.py): not checksummed
)
CACHE_DIR = "cache"  # machine-specific artefacts (TensorRT engines): never checksummed
TENSORRT_DIR = "tensorrt"  # cache/tensorrt: onnxruntime TensorRT EP engine and timing caches
TENSORRT_BUILD = "build.json"  # cache/tensorrt/build.json: fp16 flag and shape profiles of the built engines
GRAPH_NAMES = ("tokenizer_encoder", "tokenizer_decoder", "lam_encoder", "dynamics")
REQUIRED_KEYS = (
    "format",
    "format_version",
    "name",
    "created",
    "sample_rate",
    "hop",
    "latent_dim",
    "frame_rate",
    "chunk_frames",
    "audio_scale",
    "num_actions",
    "actions",
    "instruments",
    "defaults",
    "graphs",
    "files",
    "opset",
    "configs",
    "parity",
    "command",
)
ESTIMATOR_KEY = "instrument_estimator"  # optional: file of the instrument-activity estimator (.npz)
DEFAULT_KEYS = ("steps", "decoder_steps", "guidance", "sampler", "context_seconds", "crossfade_ms")
_CHUNK = 1 << 20


class BundleError(ValueError):
    """A bundle that cannot be used; the message names the bundle and each bad file."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or [message]


@dataclass(frozen=True)
class Action:
    id: int  # index fed to the dynamics graph (the null action is num_actions)
    name: str  # short label shown in the DAW
    description: str  # what its edits measurably do (`actions describe`), with the figures
    # What the name claims, each (descriptor key, +1 up / -1 down) relative to the other actions' edits of
    # the same region (engine.descriptors); empty for a bundle whose actions were never described.
    claims: tuple[tuple[str, int], ...] = ()
    name_fidelity: float | None = None  # share of the described edits in which every claim held


@dataclass(frozen=True)
class GraphSpec:
    name: str  # one of GRAPH_NAMES
    file: str  # path relative to the bundle folder
    inputs: dict[str, list[int | str]]  # input name -> dims (str = dynamic axis name)
    outputs: dict[str, list[int | str]]  # output name -> dims


@dataclass(frozen=True)
class Defaults:
    """A bundle's sampling defaults: `musegenie export` writes `Defaults()` (or the flags' values) into the
    manifest, and every edit, evaluation and training preview samples with the values read back here."""

    steps: int = 16  # dynamics sampling steps per edit (runtime-overridable)
    decoder_steps: int = 4  # tokenizer decoder sampling steps
    guidance: float = 2.0  # classifier-free guidance scale g (0 ignores actions, 1 plain conditional)
    sampler: str = "euler"  # engine.sampling method of the dynamics
    # Heun's 4 steps (7 network calls) beat Euler's 8 on held-out log-mel (0.615 vs 0.648, docs/tokenizer.md)
    decoder_sampler: str = "heun"  # engine.sampling method of the tokenizer decoder
    # 0.8 on the 1024-bin companded tokenizer: held-out log-mel 0.556 -> 0.543, MR-STFT 1.291 -> 1.296 (docs/tokenizer.md)
    decoder_shift: float = 0.8  # time shift of the decoder's levels: < 1 more steps at low noise, 1 even
    context_seconds: float = 4.0  # audio kept on each side of the edited region as context
    crossfade_ms: float = 30.0  # crossfade length at the region edges
    # An edit that asks who plays guides toward those instruments with its own scale (4: the instrument asked
    # for heard in 50% of held-out edits instead of 33%, one asked away gone in 100% instead of 73%; docs/experiments.md)
    # None in bundles made before it: such an edit guides with `guidance`.
    instrument_guidance: float | None = 4.0  # guidance toward the instruments an edit asks for
    # How close to the song an edit stays (engine.song_plan): 0 generates, 1 renders the song's own material
    # wherever the song has the asked-for actions (generated only where it has not). 1: on real songs the
    # song's material is nearer the original and indistinguishable from it, and even other actions' edits
    # fit their surroundings well (fit 0.54-0.99); a lower default sent most of those to the generator
    # (scripts/diagnostics/closeness_sweep.py on training songs, docs/experiments.md). Bundles made before
    # song-aware edits get it too.
    closeness: float = 1.0  # 0 generate freely .. 1 keep the song's material

    def check(self) -> Defaults:
        """These defaults, or a ValueError naming a setting no sampler can run. Export and the evaluations
        refuse such settings up front; a bundle that carries them still loads, and each edit says why not."""
        for name in ("sampler", "decoder_sampler"):
            if getattr(self, name) not in METHODS:
                raise ValueError(f"{name} must be one of {METHODS}, got {getattr(self, name)!r}")
        timesteps(self.decoder_steps, self.decoder_shift)  # refuses steps < 1 or a shift <= 0
        return self


def resolve_id(item: int | str, names: Sequence[str], what: str, id_limit: int | None = None) -> int:
    """The index of an action or instrument given by id (an int or a digit string) or by name in `names`.

    Raises KeyError with a message for the user. `id_limit` (default len(names)) bounds the ids accepted: a
    client whose list may be stale passes any id the wire can carry and leaves the range to the server.
    """
    if isinstance(item, numbers.Integral) or (isinstance(item, str) and item.isdigit()):
        index = int(item)
        if 0 <= index < (len(names) if id_limit is None else id_limit):
            return index
        raise KeyError(f"unknown {what} {index} (out of range: ids are 0..{len(names) - 1})")
    if item in names:
        return list(names).index(item)
    raise KeyError(f"unknown {what} {item!r} (known: {', '.join(names)})")


def file_digest(path: str | os.PathLike) -> dict[str, Any]:
    """`{"sha256", "bytes"}` of one file, streamed."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while block := fh.read(_CHUNK):
            digest.update(block)
            size += len(block)
    return {"sha256": digest.hexdigest(), "bytes": size}


def bundle_files(root: str | os.PathLike) -> list[str]:
    """Relative posix paths of every file in the bundle that the manifest checksums (sorted)."""
    root = Path(root)
    found = []
    for path in root.rglob("*"):
        rel = path.relative_to(root)
        if not path.is_file() or rel.as_posix() in (MANIFEST_NAME, CARD_NAME) or rel.parts[0] == CACHE_DIR:
            continue
        if any(part.startswith(".") for part in rel.parts):
            continue
        found.append(rel.as_posix())
    return sorted(found)


def verify_files(root: str | os.PathLike, files: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """One message per listed file that is missing, truncated, grown or tampered with ([] = all good)."""
    root = Path(root)
    problems = []
    for rel, expected in sorted(files.items()):
        path = root / rel
        if not path.is_file():
            problems.append(f"{rel}: missing")
            continue
        actual = file_digest(path)
        if actual["bytes"] < expected["bytes"]:
            problems.append(f"{rel}: truncated ({actual['bytes']} bytes, manifest says {expected['bytes']})")
        elif actual["bytes"] > expected["bytes"]:
            problems.append(
                f"{rel}: size changed ({actual['bytes']} bytes, manifest says {expected['bytes']})"
            )
        elif actual["sha256"] != expected["sha256"]:
            problems.append(f"{rel}: sha256 mismatch (file was modified)")
    return problems


def write_manifest(directory: str | os.PathLike, manifest: Mapping[str, Any]) -> Path:
    """Fill `files` with the sha256/size of every bundle file and write manifest.json atomically."""
    directory = Path(directory)
    full = dict(manifest)
    full.setdefault("format", FORMAT)
    full.setdefault("format_version", FORMAT_VERSION)
    full["files"] = {rel: file_digest(directory / rel) for rel in bundle_files(directory)}
    target = directory / MANIFEST_NAME
    with atomic_write(target, "w") as fh:
        json.dump(full, fh, indent=2, sort_keys=False)
        fh.write("\n")
    return target


def _action(entry: Mapping[str, Any]) -> Action:
    """One manifest `actions` entry: id, name, description and, once described, claims and fidelity."""
    claims = tuple(
        (str(c["descriptor"]), 1 if int(c["direction"]) > 0 else -1) for c in entry.get("claims", [])
    )
    fidelity = entry.get("name_fidelity")
    return Action(
        int(entry["id"]),
        str(entry["name"]),
        str(entry.get("description", "")),
        claims,
        None if fidelity is None else float(fidelity),
    )


def _value(data: Mapping[str, Any], key: str, kind: type, where: str, label: str = "manifest") -> Any:
    """data[key] as `kind` (int, float or str), or a BundleError naming the key and the value."""
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, (int, float) if kind is float else kind):
        raise BundleError(f"{where}: {label} {key} must be {kind.__name__}, got {value!r}")
    return kind(value)


def _table(data: Mapping[str, Any], key: str, where: str, kind: type = dict) -> Any:
    value = data[key]
    if not isinstance(value, kind):
        raise BundleError(f"{where}: manifest {key} must be a JSON {'object' if kind is dict else 'list'}")
    return value


def decoder_space(manifest: Mapping[str, Any]) -> DecoderSpace:
    """The tokenizer decoder's diffusion space; `emphasis` absent = 0, `compand` absent = 1 (linear) and
    `compand_window` absent = 1 in bundles made before them. Raises ValueError on settings it cannot run."""
    return DecoderSpace(
        float(manifest.get("emphasis", 0.0)),
        float(manifest["audio_scale"]),
        float(manifest.get("compand", 1.0)),
        int(manifest.get("compand_bins", 0)),
        int(manifest.get("compand_window", 1)),
    )


def _defaults(data: Mapping[str, Any], where: str) -> Defaults:
    missing = [k for k in DEFAULT_KEYS if k not in data]
    if missing:
        raise BundleError(f"{where}: manifest defaults lack {', '.join(missing)}")
    get = partial(_value, data, where=where, label="manifest defaults")
    return Defaults(
        steps=get("steps", int),
        decoder_steps=get("decoder_steps", int),
        guidance=get("guidance", float),
        sampler=get("sampler", str),
        decoder_sampler=get("decoder_sampler" if "decoder_sampler" in data else "sampler", str),
        decoder_shift=get("decoder_shift", float) if "decoder_shift" in data else 1.0,
        context_seconds=get("context_seconds", float),
        crossfade_ms=get("crossfade_ms", float),
        instrument_guidance=get("instrument_guidance", float) if "instrument_guidance" in data else None,
        closeness=get("closeness", float) if "closeness" in data else Defaults.closeness,
    )


def _graphs(data: Mapping[str, Any], files: Mapping[str, Any], where: str) -> dict[str, GraphSpec]:
    graphs = {}
    for name in GRAPH_NAMES:
        graph = data.get(name)
        if graph is None:
            raise BundleError(f"{where}: graph {name!r} missing from the manifest")
        if graph.get("file") not in files:
            raise BundleError(f"{where}: graph {name!r} file {graph.get('file')!r} is not listed in files")
    for name, graph in data.items():
        try:
            graphs[name] = GraphSpec(name, str(graph["file"]), dict(graph["inputs"]), dict(graph["outputs"]))
        except (KeyError, TypeError, ValueError) as err:
            raise BundleError(f"{where}: graph {name!r} needs file, inputs and outputs ({err!r})") from err
    return graphs


_M = TypeVar("_M", bound="Manifest")


@dataclass(frozen=True, eq=False)
class Manifest:
    """manifest.json, parsed and checked once (`Manifest.parse`); docs/interfaces.md ("Model bundle")
    describes each key. Mappings are the parsed JSON's own (not deep-frozen): treat them as read-only."""

    format_version: int
    name: str
    created: str
    sample_rate: int
    hop: int  # audio samples per latent frame
    latent_dim: int
    frame_rate: float  # latent frames per second (sample_rate / hop)
    chunk_frames: int  # latent frames per LAM action chunk (k)
    audio_scale: float  # level of the decoder's space before companding
    decoder_space: DecoderSpace  # where the tokenizer decoder's flow runs (engine.decoder_space)
    num_actions: int
    actions: list[Action]
    instruments: list[str]  # the conditioning vocabulary an edit may ask for ([] = not conditioned)
    estimator: str | None  # file of the instrument-activity estimator (engine/instruments.py), if any
    defaults: Defaults
    graphs: Mapping[str, GraphSpec]
    files: Mapping[str, Mapping[str, Any]]  # relpath -> {sha256, bytes}
    opset: int
    configs: Mapping[str, Mapping[str, Any]]  # {tokenizer, lam, dynamics}: asdict(model config)
    parity: Mapping[str, Mapping[str, float]]  # graph -> {max_abs, max_rel}
    command: str
    manifest: Mapping[str, Any]  # the JSON object as read (bundle info --json, rewriting the training record)

    @classmethod
    def parse(cls: type[_M], data: Mapping[str, Any], where: str = "bundle", **extra: Any) -> _M:
        """Check format, version, keys, types and consistency; raise BundleError naming what is wrong.
        `extra` are a subclass's own fields (a Bundle's path)."""
        if data.get("format") != FORMAT:
            raise BundleError(f"{where}: format is {data.get('format')!r}, expected {FORMAT!r}")
        if data.get("format_version") != FORMAT_VERSION:
            raise BundleError(
                f"{where}: format_version {data.get('format_version')!r} is not supported "
                f"(this musegenie reads version {FORMAT_VERSION})"
            )
        missing = [k for k in REQUIRED_KEYS if k not in data]
        if missing:
            raise BundleError(f"{where}: manifest lacks {', '.join(missing)}")
        get = partial(_value, data, where=where)
        num_actions = get("num_actions", int)
        entries = _table(data, "actions", where, list)
        ids = [a.get("id") if isinstance(a, dict) else None for a in entries]
        if ids != list(range(num_actions)):
            raise BundleError(f"{where}: actions must have ids 0..{num_actions - 1}, got {ids}")
        if any("name" not in a for a in entries):
            raise BundleError(f"{where}: every action needs a name")
        try:
            actions = [_action(a) for a in entries]
        except (KeyError, TypeError, ValueError) as err:
            raise BundleError(f"{where}: actions: malformed claims or name_fidelity ({err})") from err
        try:
            space = decoder_space(data)
        except (ValueError, TypeError) as err:
            raise BundleError(f"{where}: decoder space: {err}") from err
        files = _table(data, "files", where)
        estimator = data.get(ESTIMATOR_KEY)
        if estimator is not None and estimator not in files:
            raise BundleError(f"{where}: {ESTIMATOR_KEY} file {estimator!r} is not listed in files")
        return cls(
            format_version=FORMAT_VERSION,
            name=get("name", str),
            created=get("created", str),
            sample_rate=get("sample_rate", int),
            hop=get("hop", int),
            latent_dim=get("latent_dim", int),
            frame_rate=get("frame_rate", float),
            chunk_frames=get("chunk_frames", int),
            audio_scale=get("audio_scale", float),
            decoder_space=space,
            num_actions=num_actions,
            actions=actions,
            instruments=[str(i) for i in _table(data, "instruments", where, list)],
            estimator=None if estimator is None else str(estimator),
            defaults=_defaults(_table(data, "defaults", where), where),
            graphs=_graphs(_table(data, "graphs", where), files, where),
            files=files,
            opset=get("opset", int),
            configs=_table(data, "configs", where),
            parity=_table(data, "parity", where),
            command=get("command", str),
            manifest=data,
            **extra,
        )

    @property
    def chunk_samples(self) -> int:
        return self.chunk_frames * self.hop

    @property
    def null_action(self) -> int:
        """The id that means "no action" (classifier-free guidance): num_actions."""
        return self.num_actions

    @property
    def num_instruments(self) -> int:
        return len(self.instruments)


@dataclass(frozen=True, eq=False)
class Bundle(Manifest):
    """A loaded bundle: its parsed manifest and the folder its files are in."""

    path: Path

    @property
    def estimator_path(self) -> Path | None:
        """The instrument-activity estimator's file, if the bundle has one."""
        return None if self.estimator is None else self.path / self.estimator

    def graph_path(self, name: str) -> Path:
        """Absolute path of a graph's ONNX file."""
        if name not in self.graphs:
            raise BundleError(f"{self.path}: no graph {name!r} (has {', '.join(self.graphs)})")
        return self.path / self.graphs[name].file

    def action_id(self, action: int | str) -> int:
        """Resolve an action given by id (int or digit string) or by name; raise KeyError otherwise."""
        return resolve_id(action, [a.name for a in self.actions], "action")

    def instrument_id(self, instrument: int | str) -> int:
        """Index into `instruments` of one given by id or name; raise KeyError otherwise."""
        return resolve_id(instrument, self.instruments, "instrument")

    @property
    def cache_dir(self) -> Path:
        """Where machine-specific caches (TensorRT engines) go; not part of the checksummed bundle."""
        return self.path / CACHE_DIR

    def tensorrt_options(self, graph: str) -> dict[str, str]:
        """onnxruntime TensorRT EP options for one graph's session.

        Engines are cached in cache/tensorrt. When `musegenie export --tensorrt` built them it left
        cache/tensorrt/build.json; its fp16 flag and this graph's shape profile are passed too, so a
        session reuses the cached engine instead of spending minutes rebuilding it.
        """
        path = self.cache_dir / TENSORRT_DIR
        options = {
            "trt_engine_cache_enable": "True",
            "trt_engine_cache_path": str(path),
            "trt_timing_cache_enable": "True",
            "trt_timing_cache_path": str(path),
        }
        build = path / TENSORRT_BUILD
        if build.is_file():
            info = json.loads(build.read_text())
            options["trt_fp16_enable"] = str(bool(info.get("fp16", False)))
            profile = info.get("profiles", {}).get(graph)
            if profile:
                options["trt_profile_min_shapes"] = profile["min"]
                options["trt_profile_opt_shapes"] = profile["opt"]
                options["trt_profile_max_shapes"] = profile["max"]
        return options

    def verify(self) -> None:
        """Check every listed file's size and sha256; raise BundleError naming each bad file."""
        problems = verify_files(self.path, self.files)
        if problems:
            raise BundleError(f"{self.path}: corrupted bundle: " + "; ".join(problems), problems)

    def __repr__(self) -> str:
        return f"Bundle({str(self.path)!r}, name={self.name!r}, actions={self.num_actions})"


def read_manifest(path: str | os.PathLike) -> dict[str, Any]:
    """Parse manifest.json of a bundle folder (or the manifest file itself), raising BundleError."""
    path = Path(path)
    manifest_path = path if path.is_file() else path / MANIFEST_NAME
    if not manifest_path.is_file():
        raise BundleError(f"{path}: not a model bundle ({MANIFEST_NAME} not found)")
    try:
        manifest = json.loads(manifest_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise BundleError(f"{manifest_path}: unreadable manifest ({err})") from err
    if not isinstance(manifest, dict):
        raise BundleError(f"{manifest_path}: manifest is not a JSON object")
    return manifest


def validate_manifest(manifest: Mapping[str, Any], where: str = "bundle") -> None:
    """Check format, version, required keys and internal consistency; raise BundleError."""
    Manifest.parse(manifest, where)


def open_bundle(root: str | os.PathLike, manifest: Mapping[str, Any]) -> Bundle:
    """The Bundle of a folder and its manifest (not verified); BundleError if the manifest is invalid."""
    return Bundle.parse(manifest, str(root), path=Path(root))


def load_bundle(path: str | os.PathLike, verify: bool = True) -> Bundle:
    """Load and validate a bundle folder; with verify, check every file's sha256 and size too."""
    path = Path(path)
    manifest = read_manifest(path)
    bundle = open_bundle(path if path.is_dir() else path.parent, manifest)
    if verify:
        bundle.verify()
    return bundle
