"""Regenerate the Python modules of proto/ into consortia/protos/ (the one command).

    python scripts/gen_protos.py

protoc names a generated module after the .proto path, so `consortia/v1/x.proto`
becomes `consortia.v1.x_pb2`; we keep generated code under `consortia.protos`, so the
cross-module imports protoc writes (`from consortia.v1 import ...`) are rewritten to
`from consortia.protos.v1 import ...`. Nothing else is touched.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "proto"
OUT_DIR = ROOT / "consortia" / "protos"
_IMPORT = re.compile(rb"^(from|import) consortia\.v1", re.MULTILINE)


def _has_service(grpc_module: str) -> bool:
    proto = PROTO_DIR / "consortia" / "v1" / grpc_module.replace("_pb2_grpc.py", ".proto")
    return re.search(r"^service ", proto.read_text(), re.MULTILINE) is not None


def generate(out_dir: Path) -> list[Path]:
    """Write the generated modules to out_dir/v1/; return the files written."""
    from grpc_tools import protoc  # only needed by developers and the freshness test

    sources = sorted(str(p.relative_to(PROTO_DIR)) for p in PROTO_DIR.rglob("*.proto"))
    with tempfile.TemporaryDirectory() as tmp:
        args = [
            "protoc",
            f"-I{PROTO_DIR}",
            f"-I{Path(protoc.__file__).parent / '_proto'}",
            f"--python_out={tmp}",
            f"--pyi_out={tmp}",
            f"--grpc_python_out={tmp}",
            *sources,
        ]
        if protoc.main(args) != 0:
            raise SystemExit("protoc failed")
        generated = Path(tmp) / "consortia" / "v1"
        target = out_dir / "v1"
        target.mkdir(parents=True, exist_ok=True)
        written = []
        for path in sorted(generated.iterdir()):
            if path.name.endswith("_pb2_grpc.py") and not _has_service(path.name):
                continue  # protoc writes a module even for files that define no service
            text = _IMPORT.sub(rb"\1 consortia.protos.v1", path.read_bytes())
            dest = target / path.name
            dest.write_bytes(text)
            written.append(dest)
        init = target / "__init__.py"
        init.write_text('"""Generated from proto/consortia/v1 by scripts/gen_protos.py; do not edit."""\n')
        written.append(init)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="output folder (default consortia/protos)")
    args = parser.parse_args()
    if args.out == OUT_DIR and (OUT_DIR / "v1").exists():
        shutil.rmtree(OUT_DIR / "v1")
    for path in generate(args.out):
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    sys.exit(0)


if __name__ == "__main__":
    main()
