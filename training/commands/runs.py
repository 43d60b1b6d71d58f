"""Opening a training run named on the command line, with errors a user can act on."""

from __future__ import annotations

from pathlib import Path

from engine.errors import CommandError
from training.loop.checkpoint import RunInfo, load_run


def run_of_kind(path: Path, kind: str, label: str) -> RunInfo:
    """The run (or checkpoint) at `path`, which must hold a `kind` model; `label` names it in errors."""
    try:
        info = load_run(path)
    except (FileNotFoundError, ValueError) as err:
        raise CommandError(f"{label}: not a training run ({err})") from err
    if info.kind != kind:
        raise CommandError(f"{label} holds a {info.kind} model, not a {kind}")
    return info
