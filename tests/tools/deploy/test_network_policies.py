"""deploy/k8s/network-policies.yaml: everything is denied unless allowed; only the gateway reaches
appointment-svc's gRPC port, Prometheus the metrics ports, the world the gateway's http port; each
workload reaches only its backing services' ports and DNS. A small evaluator answers "may A reach
B on port P" from the policies, the way the NetworkPolicy API defines it (the union of the
policies that select a pod), for pods of this namespace."""
from __future__ import annotations

import pytest

from tests.tools.deploy.manifests import DEPLOY, by_name, config_env, containers, of_kind, workloads

SCRAPER_LABEL = {"booking-mesh/metrics-scraper": "true"}
KUBE_DNS = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}  # fmt: skip
# What each workload must reach outside the namespace, by port (its backing services).
# 4317: OTLP/gRPC to a trace collector (mesh_common/tracing.py), for the three that send spans.
BACKING_PORTS = {
    "appointment-svc": {5432, 6379, 4222, 4317},
    "notification-svc": {4222, 25, 465, 587, 443, 4317},
    "appointment-migrate": {5432},
    "gateway": {4317},
}


def policies() -> list[dict]:
    return of_kind("NetworkPolicy")


def pod_labels(name: str) -> dict[str, str]:
    (w,) = [w for w in workloads() if w["metadata"]["name"] == name]
    return w["spec"]["template"]["metadata"]["labels"]


def selects(selector: dict, labels: dict[str, str]) -> bool:
    assert set(selector) <= {"matchLabels"}, "the evaluator knows matchLabels only"
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def selecting(labels: dict[str, str], direction: str) -> list[dict]:
    return [p for p in policies() if direction in p["spec"]["policyTypes"] and selects(p["spec"]["podSelector"], labels)]


def named_port(workload: str, port: int | str) -> int:
    if isinstance(port, int):
        return port
    (c,) = [c for c in containers(by_name(*_kind_name(workload))) if port in {p["name"] for p in c.get("ports", [])}]
    return {p["name"]: p["containerPort"] for p in c["ports"]}[port]


def _kind_name(workload: str) -> tuple[str, str]:
    (w,) = [w for w in workloads() if w["metadata"]["name"] == workload]
    return w["kind"], workload


def ingress_allowed(source: dict, target: str, port: int) -> bool:
    """May `source` ({"pod": labels} in this namespace, {"namespace": labels} anywhere, or {} for
    an address outside the cluster) open a TCP connection to `target`'s pods on `port`?"""
    for policy in selecting(pod_labels(target), "Ingress"):
        for rule in policy["spec"].get("ingress", []):
            ports = {named_port(target, p["port"]) for p in rule.get("ports", [])}
            if ports and port not in ports:
                continue
            peers = rule.get("from")
            if peers is None:
                return True
            for peer in peers:
                if set(peer) == {"podSelector"} and "pod" in source and selects(peer["podSelector"], source["pod"]):
                    return True
                if set(peer) == {"namespaceSelector"} and "namespace" in source and selects(peer["namespaceSelector"], source["namespace"]):
                    return True
    return False


def egress_ports(workload: str) -> dict[int, list[dict]]:
    """Port -> the peers a workload may reach on it ([] means any address)."""
    allowed: dict[int, list[dict]] = {}
    for policy in selecting(pod_labels(workload), "Egress"):
        for rule in policy["spec"].get("egress", []):
            for port in rule["ports"]:
                assert port.get("protocol", "TCP") in ("TCP", "UDP")
                allowed.setdefault(port["port"], []).extend(rule.get("to", [{}]))
    return allowed


def test_everything_in_the_namespace_is_denied_both_ways_unless_allowed():
    deny = by_name("NetworkPolicy", "default-deny")
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


@pytest.mark.parametrize("name", list(BACKING_PORTS))
def test_every_workload_is_selected_by_its_own_policy_in_both_directions(name):
    own = [p for p in policies() if p["spec"]["podSelector"] == {"matchLabels": pod_labels(name)}]
    assert len(own) == 1 and own[0]["metadata"]["name"] == name
    assert set(own[0]["spec"]["policyTypes"]) == {"Ingress", "Egress"}


def test_only_the_gateway_reaches_appointment_svcs_grpc_port():
    grpc = int(config_env()["GRPC_PORT"])
    assert ingress_allowed({"pod": pod_labels("gateway")}, "appointment-svc", grpc)
    for other in ("notification-svc", "appointment-migrate"):
        assert not ingress_allowed({"pod": pod_labels(other)}, "appointment-svc", grpc), other
    assert not ingress_allowed({}, "appointment-svc", grpc)
    assert not ingress_allowed({"namespace": SCRAPER_LABEL}, "appointment-svc", grpc)
    # And the gateway may go there: its egress names those pods on that port.
    assert egress_ports("gateway")["grpc"] == [{"podSelector": {"matchLabels": pod_labels("appointment-svc")}}]


def test_prometheus_reaches_the_metrics_ports_and_nothing_else():
    scraper = {"namespace": SCRAPER_LABEL}
    metrics = {
        "appointment-svc": int(config_env()["METRICS_PORT"]),
        "notification-svc": int(config_env()["HEALTH_PORT"]),
        "gateway": named_port("gateway", "stats"),  # Envoy's stats-only listener
    }
    for name, port in metrics.items():
        assert ingress_allowed(scraper, name, port), name
        annotations = by_name("Deployment", name)["spec"]["template"]["metadata"]["annotations"]
        assert int(annotations["prometheus.io/port"]) == port, "the policy opens the port Prometheus is told to scrape"
        assert not ingress_allowed({"namespace": {"kubernetes.io/metadata.name": "elsewhere"}}, name, port)
        assert not ingress_allowed({}, name, port)
    assert not ingress_allowed(scraper, "appointment-svc", int(config_env()["GRPC_PORT"]))
    assert not ingress_allowed(scraper, "gateway", 9901), "Envoy's admin port is loopback-only and stays closed"


def test_the_gateway_is_reachable_from_anywhere_on_its_http_port_only():
    http = named_port("gateway", "http")
    assert ingress_allowed({}, "gateway", http)
    assert ingress_allowed({"namespace": {"kubernetes.io/metadata.name": "ingress-nginx"}}, "gateway", http)
    assert not ingress_allowed({}, "gateway", 9901)
    assert not ingress_allowed({}, "gateway", named_port("gateway", "stats")), "only Prometheus reads the stats"


def test_nothing_reaches_the_notification_service_or_the_migration_job_but_prometheus():
    for name in ("notification-svc", "appointment-migrate"):
        for port in (8081, 50051, 9464, 8080):
            assert not ingress_allowed({"pod": pod_labels("gateway")}, name, port), (name, port)
            assert not ingress_allowed({}, name, port), (name, port)


@pytest.mark.parametrize("name", list(BACKING_PORTS))
def test_each_workload_reaches_only_its_backing_services_and_dns(name):
    allowed = egress_ports(name)
    dns = {port: peers for port, peers in allowed.items() if port == 53}
    assert dns == {53: [KUBE_DNS, KUBE_DNS]}, "UDP and TCP 53, to the cluster DNS only"
    numeric = {port for port in allowed if isinstance(port, int)} - {53}
    assert numeric == BACKING_PORTS[name]
    # By port, to any address: the backing services may live outside the cluster (see the file's header).
    assert all(allowed[port] == [{}] for port in numeric)
    assert {port for port in allowed if isinstance(port, str)} == ({"grpc"} if name == "gateway" else set())


def test_the_secret_urls_use_ports_the_policies_open():
    """The example URLs' ports are the ones opened (a TLS port change must move the policy too)."""
    text = (DEPLOY / "k8s" / "secret.example.yaml").read_text()
    assert ":5432/" in text and ":6379/" in text and ":4222" in text and ":587" in text
    assert 5432 in egress_ports("appointment-svc") and 587 in egress_ports("notification-svc")


def test_the_readme_and_the_policies_name_the_same_scraper_label_and_every_allowed_port():
    (key, value), = SCRAPER_LABEL.items()
    readme = (DEPLOY / "README.md").read_text()
    assert f"`{key}: \"{value}\"`" in readme and f"{key}={value}" in readme
    assert f"{key}: \"{value}\"" in (DEPLOY / "k8s" / "network-policies.yaml").read_text()
    table = readme.split("## Network policies", 1)[1].split("\n## ", 1)[0]
    for name, ports in BACKING_PORTS.items():
        for port in ports:
            assert str(port) in table, (name, port)
