"""Regenerate the Python gRPC stubs from `protos/musegenie/v1/*.proto`.

    python protos/generate.py            # write the stubs next to the .proto files
    python protos/generate.py --out DIR  # write them elsewhere (the up-to-date test compares the two)

protoc writes `from musegenie.v1 import engine_pb2` into the service stub; the script rewrites it to
`from protos.musegenie.v1 import ...` so the stubs import from the repository root and from an install.
The committed stubs are this script's output and nothing else.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent
PACKAGE_DIR = ROOT / "musegenie" / "v1"


def generate(out_dir: Path = PACKAGE_DIR) -> list[Path]:
    """Run protoc on every proto of the package; returns the stub files written (sorted)."""
    import grpc_tools

    include = str(Path(grpc_tools.__file__).parent / "_proto")
    protos = sorted(p.relative_to(ROOT).as_posix() for p in PACKAGE_DIR.glob("*.proto"))
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        for proto in protos:
            args = [
                "grpc_tools.protoc",
                f"-I{ROOT}",
                f"-I{include}",
                f"--python_out={tmp}",
                f"--grpc_python_out={tmp}",
            ]
            if protoc.main([*args, proto]) != 0:
                raise RuntimeError(f"protoc failed on {proto}")
            for produced in sorted((Path(tmp) / Path(proto).parent).glob(Path(proto).stem + "_pb2*.py")):
                text = re.sub(
                    r"^from musegenie\.v1 import",
                    "from protos.musegenie.v1 import",
                    produced.read_text(),
                    flags=re.M,
                )
                target = out_dir / produced.name
                target.write_text(text)
                written.append(target)
    return sorted(written)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=PACKAGE_DIR, help="folder for the generated stubs")
    args = parser.parse_args()
    for path in generate(args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
