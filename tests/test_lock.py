"""The lock: every dependency the project names is pinned in constraints.txt, and this environment (made
with `make setup`, as CI makes it) holds exactly the pinned versions, so a fresh machine gets what was tested."""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep, f"constraints.txt: {line!r} is not a NAME==VERSION pin"
            pins[_canonical(name)] = version
    return pins


def _requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = list(project["dependencies"])
    for extra, items in project["optional-dependencies"].items():
        if extra != "gpu":  # onnxruntime-gpu replaces onnxruntime on a GPU box, with its own constraints
            names.extend(items)
    return [Requirement(r) for r in names]


def test_every_dependency_is_pinned_within_its_range():
    pins = _pins()
    for req in _requirements():
        if req.marker is not None and not req.marker.evaluate():
            continue  # not installed on this Python (tomli below 3.11), so the lock holds no version of it
        name = _canonical(req.name)
        assert name in pins, f"{req.name} is not pinned in constraints.txt: run make lock"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"constraints.txt pins {req.name}=={pins[name]}, outside pyproject's {req.specifier}"
        )


def test_installed_versions_are_the_locked_ones():
    pins = _pins()
    installed = {_canonical(d.metadata["Name"]): d.version for d in metadata.distributions()}
    if "pytest" in installed and installed.get("pytest") != pins.get("pytest"):
        pytest.skip("this environment was not installed from the lock (make setup installs from it)")
    wrong = {
        name: (installed[name], version)
        for name, version in pins.items()
        if name in installed and installed[name].split("+")[0] != version
    }
    assert not wrong, f"installed (version, locked version) differ: {wrong}; run make setup"
