"""Refresh deploy/k8s/ from the tree: run it after changing web/, gateway/ or the protos.

    python scripts/sync_deploy.py           # copy the files, re-render envoy.yaml, list the web files
    python scripts/sync_deploy.py --check   # exit 1, naming what, when anything there is stale

kustomize's configMapGenerator only reads files below the kustomization, so deploy/k8s/gateway/
holds copies: gateway/booking.pb, gateway/openapi.json and every file of web/ (in web/). The
booking-web generator of deploy/k8s/kustomization.yaml lists the web files, and
deploy/k8s/gateway/envoy.yaml is what deploy/README.md's render command prints (RENDER_COMMAND).
tests/tools/deploy/ fails while any of it is stale.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: import this tree's gateway package

from gateway.config import DEFAULT_DESCRIPTOR, DEFAULT_OPENAPI, without_source_info  # noqa: E402
from gateway.render import build_parser, render  # noqa: E402
from gateway.web import WEB_ROOT, web_assets  # noqa: E402

K8S = ROOT / "deploy" / "k8s"
KUSTOMIZATION = K8S / "kustomization.yaml"
GATEWAY_DIR = K8S / "gateway"
ENVOY_YAML = GATEWAY_DIR / "envoy.yaml"
WEB_COPY = GATEWAY_DIR / "web"

# Where the gateway pod mounts each ConfigMap (deploy/k8s/gateway.yaml).
IN_CLUSTER_JWKS = "/etc/booking/jwks/jwks.json"
IN_CLUSTER_DESCRIPTOR = "/etc/booking/descriptor/booking.pb"
IN_CLUSTER_OPENAPI = "/etc/booking/openapi/openapi.json"
IN_CLUSTER_WEB = "/etc/booking/web"
RENDER_ARGS = [
    "--listen-port", "8080",
    "--stats-port", "9902",
    "--upstream", "appointment-svc:50051",
    "--jwks", IN_CLUSTER_JWKS,
    "--descriptor", IN_CLUSTER_DESCRIPTOR,
    "--openapi", IN_CLUSTER_OPENAPI,
    "--web-root", IN_CLUSTER_WEB,
    "--cors-origin", "https://www.example.co.uk",
]  # fmt: skip
RENDER_COMMAND = " ".join(["python -m gateway.render", *RENDER_ARGS, ">", "deploy/k8s/gateway/envoy.yaml"])

# The booking-web generator's file list: the lines after its `files:` (and comments).
_WEB_LIST = re.compile(r"(^- name: booking-web\n  files:\n(?:  #.*\n)*)((?:  - .*\n)*)", re.M)


def web_files() -> list[str]:
    """Names of the files the gateway serves from web/ (web_assets refuses anything it cannot)."""
    return [asset.path.name for asset in web_assets(WEB_ROOT)]


def kustomization_text(current: str) -> str:
    match = _WEB_LIST.search(current)
    if match is None:
        raise SystemExit(f"{KUSTOMIZATION}: no `- name: booking-web` generator with a `files:` list")
    listed = "".join(f"  - gateway/web/{name}\n" for name in web_files())
    return current[: match.start(2)] + listed + current[match.end(2) :]


def wanted() -> dict[Path, bytes]:
    """Every file under deploy/k8s this script owns, as it should be."""
    files = {
        GATEWAY_DIR / "booking.pb": without_source_info(DEFAULT_DESCRIPTOR.read_bytes()),
        GATEWAY_DIR / "openapi.json": DEFAULT_OPENAPI.read_bytes(),
        ENVOY_YAML: render(build_parser().parse_args(RENDER_ARGS)).encode(),
        KUSTOMIZATION: kustomization_text(KUSTOMIZATION.read_text()).encode(),
    }
    files |= {WEB_COPY / name: (WEB_ROOT / name).read_bytes() for name in web_files()}
    return files


def stale(files: dict[Path, bytes]) -> list[Path]:
    differ = [path for path, data in files.items() if not path.is_file() or path.read_bytes() != data]
    extra = [path for path in sorted(WEB_COPY.glob("*")) if path not in files] if WEB_COPY.is_dir() else []
    return differ + extra


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only report what is stale")
    args = parser.parse_args()
    files = wanted()
    outdated = stale(files)
    if args.check:
        if outdated:
            names = "\n  ".join(str(path.relative_to(ROOT)) for path in outdated)
            print(f"deploy/k8s is stale; run: python scripts/sync_deploy.py\n  {names}")
            return 1
        print("deploy/k8s is current")
        return 0
    WEB_COPY.mkdir(parents=True, exist_ok=True)
    for path in outdated:
        if path in files:
            path.write_bytes(files[path])
        else:
            path.unlink()
    print(f"updated {len(outdated)} files under deploy/k8s" if outdated else "deploy/k8s was current")
    return 0


if __name__ == "__main__":
    sys.exit(main())
