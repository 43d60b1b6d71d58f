"""engine/ and osc_bridge/ must run on a box with onnxruntime alone: importing them never loads torch."""

from __future__ import annotations

import importlib.util
import pkgutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OPTIONAL = {"engine.cluster": "ray"}  # modules of an optional extra: checked where the extra is installed

BLOCK_TORCH = """
import importlib, importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "torchaudio", "librosa", "sklearn"):
            raise ImportError(f"{name} is blocked: the engine must not need it")
sys.meta_path.insert(0, Block())
for name in MODULES:
    importlib.import_module(name)
print("ok", len(MODULES))
"""


def modules(package: str) -> list[str]:
    found = [package]
    for info in pkgutil.walk_packages([str(ROOT / package)], prefix=package + "."):
        extra = OPTIONAL.get(info.name)
        if extra is None or importlib.util.find_spec(extra) is not None:
            found.append(info.name)
    return found


def test_engine_and_bridge_import_without_torch():
    names = modules("engine") + modules("osc_bridge")
    code = f"MODULES = {names!r}\n" + BLOCK_TORCH
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"ok {len(names)}"


def test_engine_cli_serves_help_without_torch():
    code = BLOCK_TORCH.replace("for name in MODULES:\n    importlib.import_module(name)\n", "") + (
        "from engine import cli\nassert cli.main(['--help']) == 0\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", "MODULES = []\n" + code], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
