"""What `kubectl kustomize` renders from deploy/k8s and from the optional overlay
deploy/overlays/backing-services, validated offline against the Kubernetes API schemas.

kubernetes-validate ships the OpenAPI schemas of every Kubernetes release, so no cluster is needed.
It knows the core kinds only: CRD-based objects (the CloudNativePG Cluster) and the Helm values
files of the overlay are checked here for the fields the deployment relies on, which is as far as
an offline check can go (their operators and charts validate the rest at install time).
"""
from __future__ import annotations

import copy

import kubernetes_validate
import pytest
import yaml

from tests.tools.deploy.manifests import BACKING_SERVICES, K8S, WEB_COPY, kustomize_build

# The oldest release the manifests support (the kubelet's preStop `sleep` action is on by default
# from 1.30, PodDisruptionBudget.unhealthyPodEvictionPolicy is GA in 1.31) and a recent one, so
# neither a field too new nor an API since removed slips through.
KUBERNETES_VERSIONS = ("1.31", "1.35")
CORE_API_GROUPS = {"v1", "apps/v1", "batch/v1", "policy/v1", "autoscaling/v2", "networking.k8s.io/v1"}


def is_core(doc: dict) -> bool:
    return doc["apiVersion"] in CORE_API_GROUPS


def validation_errors(docs, version: str) -> list[str]:
    errors = []
    for doc in docs:
        try:
            # strict: an unknown field (a typo, or a field of a later release) is an error too.
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{doc['kind']}/{doc['metadata']['name']}: {exc.message} at {'.'.join(map(str, exc.path))}")
    return errors


def test_kustomize_builds_the_manifests():
    docs = kustomize_build(K8S)
    assert {doc["metadata"].get("namespace") for doc in docs if doc["kind"] != "Namespace"} == {"booking"}
    (descriptor,) = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("booking-descriptor-")]
    # Client-side apply copies the object into an annotation limited to 256 KiB in all.
    assert len(descriptor["binaryData"]["booking.pb"]) < 250_000
    (web,) = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("booking-web-")]
    assert sorted([*web.get("data", {}), *web.get("binaryData", {})]) == sorted(p.name for p in WEB_COPY.iterdir())
    images = {c["image"] for d in docs if d["kind"] in ("Deployment", "Job") for c in d["spec"]["template"]["spec"]["containers"]}
    assert {image.split(":")[0] for image in images} == {
        "registry.example.com/booking/appointment-svc", "registry.example.com/booking/notification-svc", "envoyproxy/envoy"}


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_rendered_manifest_passes_the_kubernetes_schema(version):
    docs = kustomize_build(K8S)
    assert all(is_core(doc) for doc in docs), "the base uses core kinds only, so all of it is validated"
    assert not validation_errors(docs, version)


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_the_overlays_core_manifests_pass_the_kubernetes_schema(version):
    docs = kustomize_build(BACKING_SERVICES)
    assert not validation_errors([doc for doc in docs if is_core(doc)], version)
    assert {doc["kind"] for doc in docs if not is_core(doc)} == {"Cluster"}


def test_the_schema_check_catches_a_misspelt_field():
    (deployment, *_) = [doc for doc in kustomize_build(K8S) if doc["kind"] == "Deployment"]
    broken = copy.deepcopy(deployment)
    broken["spec"]["template"]["spec"]["terminationGracePeriodSecond"] = 30
    assert validation_errors([broken], KUBERNETES_VERSIONS[0])
    broken = copy.deepcopy(deployment)
    broken["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"] = "1"
    assert validation_errors([broken], KUBERNETES_VERSIONS[0])


def _named(doc: dict) -> tuple:
    name = doc["metadata"]["name"]
    if doc["kind"] == "ConfigMap":  # generated: the content hash after the last dash changes with the content
        name = name.rsplit("-", 1)[0]
    return doc["kind"], doc["metadata"].get("namespace"), name


def _booking_config(docs) -> dict:
    (config,) = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("booking-config-")]
    return config["data"]


def test_the_overlay_keeps_three_copies_of_each_event_stream_and_the_base_one():
    assert _booking_config(kustomize_build(BACKING_SERVICES))["EVENTS_STREAM_REPLICAS"] == "3"
    assert "EVENTS_STREAM_REPLICAS" not in _booking_config(kustomize_build(K8S))  # the default, 1: one NATS server


def test_the_overlay_adds_the_backing_services_and_keeps_the_whole_base():
    base = {_named(d) for d in kustomize_build(K8S)}
    overlay = {_named(d) for d in kustomize_build(BACKING_SERVICES)}
    assert overlay - base == {("Namespace", None, "booking-data"), ("Cluster", "booking-data", "booking-pg")}
    assert base <= overlay


def _cluster() -> dict:
    (cluster,) = [doc for doc in kustomize_build(BACKING_SERVICES) if doc["kind"] == "Cluster"]
    return cluster


def test_the_postgres_cluster_is_three_cloudnativepg_instances_one_per_node_with_synchronous_commits():
    cluster = _cluster()
    assert cluster["apiVersion"] == "postgresql.cnpg.io/v1"
    spec = cluster["spec"]
    assert spec["instances"] == 3
    assert spec["bootstrap"]["initdb"] == {"database": "booking", "owner": "booking"}
    assert spec["affinity"]["enablePodAntiAffinity"] is True
    assert (spec["affinity"]["topologyKey"], spec["affinity"]["podAntiAffinityType"]) == ("kubernetes.io/hostname", "required")
    # A failover must not lose a committed booking.
    assert spec["postgresql"]["synchronous"] == {"method": "any", "number": 1, "dataDurability": "required"}
    assert spec["storage"]["size"]
    assert ":" in spec["imageName"] and not spec["imageName"].endswith(":latest")


def test_the_database_url_the_overlay_documents_names_the_clusters_primary_service():
    cluster = _cluster()
    text = (BACKING_SERVICES / "postgres-cluster.yaml").read_text()
    host = f"{cluster['metadata']['name']}-rw.{cluster['metadata']['namespace']}.svc:5432"  # CloudNativePG's read-write Service
    assert f"@{host}/{cluster['spec']['bootstrap']['initdb']['database']}" in text


def values(name: str) -> dict:
    return yaml.safe_load((BACKING_SERVICES / name).read_text())


def test_nats_runs_three_jetstream_servers_on_three_nodes():
    config = values("nats-values.yaml")
    assert config["config"]["cluster"] == {"enabled": True, "replicas": 3}
    jetstream = config["config"]["jetstream"]
    assert jetstream["enabled"] is True and jetstream["fileStore"]["enabled"] is True and jetstream["fileStore"]["pvc"]["enabled"] is True
    spread = config["podTemplate"]["topologySpreadConstraints"]["kubernetes.io/hostname"]
    assert spread == {"maxSkew": 1, "whenUnsatisfiable": "DoNotSchedule"}
    assert config["podDisruptionBudget"]["enabled"] is True
    # The password reaches the server from a Secret, never from the values file.
    password = config["config"]["merge"]["authorization"]["password"]
    assert password.startswith("<< $") and password.removeprefix("<< $").removesuffix(" >>") in config["container"]["env"]


def test_valkey_replicates_to_three_pods_under_sentinel_with_a_primary_service_for_our_plain_client():
    config = values("valkey-values.yaml")
    assert config["architecture"] == "replication"
    assert config["replica"]["replicaCount"] == 3 and config["replica"]["podAntiAffinityPreset"] == "hard"
    sentinel = config["sentinel"]
    assert sentinel["enabled"] is True and sentinel["quorum"] == 2
    # The services' redis client is not Sentinel-aware: it needs a Service that follows the primary,
    # which the chart can only move with the pods' API token and RBAC.
    assert sentinel["service"]["createPrimary"] is True
    assert config["rbac"]["create"] and config["serviceAccount"]["create"] and config["replica"]["automountServiceAccountToken"]
    assert config["replica"]["pdb"] == {"create": True, "maxUnavailable": 1}
    assert config["auth"]["enabled"] is True


def _egress_peers(policy: dict) -> dict[int, list[dict]]:
    return {port["port"]: rule.get("to", []) for rule in policy["spec"]["egress"] for port in rule["ports"]}


def test_the_overlay_narrows_the_backing_services_egress_to_their_pods_and_keeps_smtp_and_s3_open():
    policies = {d["metadata"]["name"]: d for d in kustomize_build(BACKING_SERVICES) if d["kind"] == "NetworkPolicy"}
    base = {d["metadata"]["name"]: d for d in kustomize_build(K8S) if d["kind"] == "NetworkPolicy"}
    engines = {5432: {"cnpg.io/cluster": _cluster()["metadata"]["name"]}, 6379: {"app.kubernetes.io/name": "valkey"},
               4222: {"app.kubernetes.io/name": "nats"}}  # fmt: skip
    for name in ("appointment-svc", "notification-svc", "appointment-migrate"):
        peers = _egress_peers(policies[name])
        assert set(peers) == set(_egress_peers(base[name])), f"{name}: the overlay changes which ports, not only where"
        for port, to in peers.items():
            if port in engines:
                assert to == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "booking-data"}},
                               "podSelector": {"matchLabels": engines[port]}}], (name, port)  # fmt: skip
            else:
                assert port in (25, 465, 587, 443, 4317) and to == [], (name, port)  # SMTP, S3, the trace collector
    for name in set(base) - {"appointment-svc", "notification-svc", "appointment-migrate"}:
        assert policies[name] == base[name], name
