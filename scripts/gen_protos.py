"""Regenerate the checked-in protobuf code and the gateway descriptor set.

    python scripts/gen_protos.py            # write booking/v1/*_pb2*.py, gateway/booking.pb, gateway/openapi.json
    python scripts/gen_protos.py --check    # exit 1 when the checked-in output is stale

The descriptor set includes google/rpc/status.proto and error_details.proto because
Envoy's transcoder needs them to render error details (else error bodies are empty).
It keeps the source info (comments), which gateway/openapi.py turns into descriptions.
"""
from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
import tempfile
from pathlib import Path

import grpc_tools
from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: import this tree's gateway package

from gateway import openapi  # noqa: E402

PROTOS = ROOT / "protos"
THIRD_PARTY = ROOT / "third_party" / "googleapis"
WELL_KNOWN = Path(grpc_tools.__file__).parent / "_proto"
PACKAGE_DIR = Path("booking") / "v1"
DESCRIPTOR = Path("gateway") / "booking.pb"
OPENAPI = Path("gateway") / "openapi.json"
EXTRA_DESCRIPTOR_PROTOS = ["google/rpc/status.proto", "google/rpc/error_details.proto"]


def _protoc(*args: str) -> None:
    includes = [f"-I{PROTOS}", f"-I{THIRD_PARTY}", f"-I{WELL_KNOWN}"]
    if protoc.main(["protoc", *includes, *args]) != 0:
        raise SystemExit(f"protoc failed: {' '.join(args)}")


def generate(out: Path) -> list[Path]:
    sources = sorted(str(p.relative_to(PROTOS)) for p in (PROTOS / PACKAGE_DIR).glob("*.proto"))
    (out / PACKAGE_DIR).mkdir(parents=True, exist_ok=True)
    (out / DESCRIPTOR.parent).mkdir(parents=True, exist_ok=True)
    _protoc(f"--python_out={out}", f"--pyi_out={out}", f"--grpc_python_out={out}", *sources)
    _protoc(
        "--include_imports",
        "--include_source_info",
        f"--descriptor_set_out={out / DESCRIPTOR}",
        *sources,
        *EXTRA_DESCRIPTOR_PROTOS,
    )
    (out / OPENAPI).write_text(openapi.render(out / DESCRIPTOR))
    return sorted(p.relative_to(out) for p in (out / PACKAGE_DIR).iterdir() if p.is_file()) + [DESCRIPTOR, OPENAPI]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="fail if checked-in code differs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        produced = generate(out)
        if args.check:
            stale = [str(p) for p in produced if not (ROOT / p).exists() or not filecmp.cmp(out / p, ROOT / p, shallow=False)]
            checked_in = {p.relative_to(ROOT) for p in (ROOT / PACKAGE_DIR).glob("*_pb2*.py*")}
            stale += [str(p) for p in checked_in - set(produced)]
            if stale:
                print("generated code is stale; run: python scripts/gen_protos.py\n  " + "\n  ".join(stale))
                return 1
            print("generated code is current")
            return 0
        for stale in (ROOT / PACKAGE_DIR).glob("*_pb2*.py*"):
            stale.unlink()
        for rel in produced:
            (ROOT / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(out / rel, ROOT / rel)
        (ROOT / "booking" / "__init__.py").touch()
        (ROOT / PACKAGE_DIR / "__init__.py").touch()
        print(f"wrote {len(produced)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
