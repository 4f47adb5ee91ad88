"""deploy/k8s: the gateway's ConfigMaps (Envoy config, descriptor, OpenAPI, web app) are the ones
the sync script writes, mounted where the config reads them, and pass Envoy's validation."""
from __future__ import annotations

import difflib
import json
import shutil
import subprocess
import sys

import yaml

from booking_mesh.embedded.envoy import validate_config
from gateway.config import DEFAULT_DESCRIPTOR, DEFAULT_OPENAPI, without_source_info
from gateway.render import build_parser
from gateway.web import DEV_SIGN_IN_PATH, WEB_ROOT
from mesh_common.auth import KeyPair
from tests.tools.deploy.manifests import (
    DEPLOY,
    DESCRIPTOR_COPY,
    ENVOY_YAML,
    IN_CLUSTER_DESCRIPTOR,
    IN_CLUSTER_JWKS,
    IN_CLUSTER_OPENAPI,
    IN_CLUSTER_WEB,
    K8S,
    OPENAPI_COPY,
    RENDER_ARGS,
    RENDER_COMMAND,
    ROOT,
    SYNC,
    SYNC_COMMAND,
    WEB_COPY,
    by_name,
    config_env,
    containers,
    envoy_routes,
    generated,
    mounted_files,
)


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
    # The same services, methods and HTTP rules; only the comments stay behind (the apply limit).
    assert DESCRIPTOR_COPY.read_bytes() == without_source_info(DEFAULT_DESCRIPTOR.read_bytes()), (
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


def test_the_cluster_config_has_no_dev_sign_in():
    envoy = yaml.safe_load(ENVOY_YAML.read_text())
    matched = [route["match"].get("path") or route["match"].get("prefix") or "" for route in envoy_routes()]
    assert matched and not [path for path in matched if path.startswith("/dev/")]
    clusters = [cluster["name"] for cluster in envoy["static_resources"]["clusters"]]
    assert sorted(clusters) == ["booking_grpc", "envoy_admin"]  # the admin one serves the stats listener
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


def test_the_cluster_config_exposes_envoys_prometheus_stats_and_nothing_else_of_its_admin_interface():
    from tests.tools.deploy.manifests import envoy_listeners

    envoy = yaml.safe_load(ENVOY_YAML.read_text())
    stats = envoy_listeners()["stats"]["address"]["socket_address"]
    (c,) = containers(by_name("Deployment", "gateway"))
    assert {p["name"]: p["containerPort"] for p in c["ports"]}["stats"] == stats["port_value"]
    annotations = by_name("Deployment", "gateway")["spec"]["template"]["metadata"]["annotations"]
    assert (int(annotations["prometheus.io/port"]), annotations["prometheus.io/path"]) == (stats["port_value"], "/stats/prometheus")
    forwarded, refused = envoy_routes("stats")
    assert forwarded["match"]["path"] == "/stats/prometheus" and forwarded["route"]["cluster"] == "envoy_admin"
    assert refused == {"match": {"prefix": "/"}, "direct_response": {"status": 404}}
    (admin,) = [cl for cl in envoy["static_resources"]["clusters"] if cl["name"] == "envoy_admin"]
    address = admin["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]["socket_address"]
    assert address == envoy["admin"]["address"]["socket_address"] == {"address": "127.0.0.1", "port_value": 9901}
