"""deploy/k8s: each Deployment scales (HorizontalPodAutoscaler), survives voluntary disruption
(PodDisruptionBudget), spreads over nodes, and drains inside its grace period: the numbers of the
manifests are checked against the shutdown steps of the code they run, and the gateway's preStop
hook is run against the packaged Envoy."""
from __future__ import annotations

import http.client
import inspect
import re
import subprocess

import pytest
import yaml

from appointment_svc.adapters.outbox import OutboxRelay
from appointment_svc.entrypoints import server
from booking_mesh.embedded.binaries import envoy_binary
from booking_mesh.embedded.ports import free_port
from mesh_common.config import AppointmentSettings
from mesh_common.lifecycle import stop_tasks
from notification_svc.service import NotificationService
from tests.polling import wait_for
from tests.tools.deploy.manifests import (
    ENVOY_YAML,
    K8S,
    by_name,
    config_env,
    containers,
    deployment_ids,
    envoy_routes,
    of_kind,
    pod_spec,
)

# How long a removed endpoint may still get new traffic: kube-proxy/ingress controllers follow the
# EndpointSlice within a second or two, Envoy re-resolves a STRICT_DNS name every 5 s by default.
ENDPOINT_PROPAGATION_SECONDS = 5


def autoscaler(name: str) -> dict:
    (hpa,) = [h for h in of_kind("HorizontalPodAutoscaler") if h["spec"]["scaleTargetRef"]["name"] == name]
    return hpa


def cores(quantity: str) -> float:
    return float(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity)


def budget(name: str) -> dict:
    (pdb,) = [p for p in of_kind("PodDisruptionBudget") if p["metadata"]["name"] == name]
    return pdb


@pytest.mark.parametrize("name", deployment_ids())
def test_every_deployment_is_scaled_by_a_cpu_autoscaler_that_owns_its_replica_count(name):
    hpa = autoscaler(name)
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
    (metric,) = hpa["spec"]["metrics"]
    assert metric["type"] == "Resource" and metric["resource"]["name"] == "cpu"
    # Scale out when pods average 50-80 % of the CPU a pod can use at most (its limit): a
    # percentage of the request would tie scaling to a number sized for scheduling an idle pod.
    assert metric["resource"]["target"]["type"] == "AverageValue"
    (c,) = containers(by_name("Deployment", name))
    target, limit = cores(metric["resource"]["target"]["averageValue"]), cores(c["resources"]["limits"]["cpu"])
    assert 0.5 * limit <= target <= 0.8 * limit, (target, limit)
    # A count in the manifest would reset the autoscaler's on every apply.
    assert "replicas" not in by_name("Deployment", name)["spec"]
    assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]


@pytest.mark.parametrize("name", ["appointment-svc", "gateway", "notification-svc"])
def test_every_service_keeps_two_replicas_at_least(name):
    assert autoscaler(name)["spec"]["minReplicas"] >= 2


def test_notification_svc_runs_several_replicas_now_that_they_keep_each_bookings_order():
    spec = autoscaler("notification-svc")["spec"]
    assert 2 <= spec["minReplicas"] < spec["maxReplicas"]
    text = (K8S / "notification-svc.yaml").read_text()
    assert "ordering.py" in text and "Held at ONE" not in text, "say what keeps the order across replicas"


@pytest.mark.parametrize("name", deployment_ids())
def test_every_deployment_has_a_disruption_budget_that_lets_one_pod_go_at_a_time(name):
    pdb = budget(name)
    assert pdb["apiVersion"] == "policy/v1"
    assert pdb["spec"]["selector"]["matchLabels"] == by_name("Deployment", name)["spec"]["selector"]["matchLabels"]
    # maxUnavailable 1: a node drain always proceeds (even with one replica), one pod at a time;
    # with two replicas at least, one keeps serving.
    assert pdb["spec"]["maxUnavailable"] == 1 and "minAvailable" not in pdb["spec"]
    assert pdb["spec"]["unhealthyPodEvictionPolicy"] == "AlwaysAllow"
    assert autoscaler(name)["spec"]["minReplicas"] >= 2 or autoscaler(name)["spec"]["maxReplicas"] == 1


@pytest.mark.parametrize("name", deployment_ids())
def test_every_deployment_spreads_its_pods_over_nodes(name):
    deployment = by_name("Deployment", name)
    (spread,) = pod_spec(deployment)["topologySpreadConstraints"]
    assert spread["topologyKey"] == "kubernetes.io/hostname" and spread["maxSkew"] == 1
    assert spread["labelSelector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]
    # A hard constraint would leave pods Pending on a cluster with fewer nodes than replicas.
    assert spread["whenUnsatisfiable"] == "ScheduleAnyway"


def _literal_seconds(source: str, pattern: str) -> list[float]:
    found = [float(n) for n in re.findall(pattern, source)]
    assert found, f"{pattern!r} not found: the drain arithmetic below needs updating"
    return found


def _default(function, parameter: str) -> float:
    return inspect.signature(function).parameters[parameter].default


def appointment_shutdown_seconds() -> float:
    """The worst case of appointment_svc's shutdown after SIGTERM: in-flight RPCs, then the relay."""
    (rpc_grace,) = _literal_seconds(inspect.getsource(server.serve), r"server\.stop\(grace=(\d+(?:\.\d+)?)\)")
    relay = _default(OutboxRelay.stop, "grace") + _default(stop_tasks, "cancel_wait") + _default(OutboxRelay.__init__, "publish_timeout")
    return rpc_grace + relay


def notification_shutdown_seconds() -> float:
    """The worst case of notification_svc's: the message in hand, its cancellation, SMTP and NATS."""
    grace = float(config_env()["NOTIFICATION_SHUTDOWN_GRACE_SECONDS"])
    closing = _literal_seconds(inspect.getsource(NotificationService.stop), r"asyncio\.timeout\((\d+(?:\.\d+)?)\)")
    return grace + _default(stop_tasks, "cancel_wait") + sum(closing)


def grace_period(name: str) -> int:
    return pod_spec(by_name("Deployment", name))["terminationGracePeriodSeconds"]


def pre_stop(name: str) -> dict | None:
    (c,) = containers(by_name("Deployment", name))
    return c.get("lifecycle", {}).get("preStop")


def test_appointment_svc_pauses_before_sigterm_and_finishes_its_shutdown_inside_the_grace_period():
    pause = pre_stop("appointment-svc")["sleep"]["seconds"]
    # Endpoint removal and SIGTERM are simultaneous: keep serving while Envoy still resolves the pod.
    assert pause >= 2 * ENDPOINT_PROPAGATION_SECONDS
    # Every in-flight RPC ends by its deadline, within the server's grace.
    (rpc_grace,) = _literal_seconds(inspect.getsource(server.serve), r"server\.stop\(grace=(\d+(?:\.\d+)?)\)")
    deadline = config_env().get("RPC_DEADLINE_SECONDS", AppointmentSettings.model_fields["rpc_deadline_seconds"].default)
    assert float(deadline) < rpc_grace
    assert pause + appointment_shutdown_seconds() < grace_period("appointment-svc")


def test_notification_svc_needs_no_pause_and_finishes_its_shutdown_inside_the_grace_period():
    assert pre_stop("notification-svc") is None, "nothing routes requests to it, so nothing to wait for"
    assert notification_shutdown_seconds() < grace_period("notification-svc")
    # The message in hand may take one SMTP exchange; a cut-short one is redelivered, never lost.
    assert float(config_env()["NOTIFICATION_SHUTDOWN_GRACE_SECONDS"]) >= 5


def _route_timeouts() -> list[float]:
    timeouts = [route["route"]["timeout"] for route in envoy_routes() if "timeout" in route.get("route", {})]
    assert timeouts
    return [float(t.removesuffix("s")) for t in timeouts]


def gateway_hook() -> str:
    command = pre_stop("gateway")["exec"]["command"]
    assert command[:2] == ["/bin/bash", "-c"]
    return command[2]


def test_the_gateway_drains_for_longer_than_its_slowest_route_and_exits_inside_the_grace_period():
    (pause,) = _literal_seconds(gateway_hook(), r"sleep (\d+)\s*$")
    assert pause >= ENDPOINT_PROPAGATION_SECONDS + max(_route_timeouts())
    # Envoy exits at once on the SIGTERM that follows the hook; a second is plenty.
    assert pause + 1 < grace_period("gateway")
    (c,) = containers(by_name("Deployment", "gateway"))
    assert c["args"][c["args"].index("--drain-strategy") + 1] == "immediate"


def test_the_gateway_hook_talks_to_the_admin_port_of_the_rendered_config():
    admin = yaml.safe_load(ENVOY_YAML.read_text())["admin"]["address"]["socket_address"]
    assert f"/dev/tcp/{admin['address']}/{admin['port_value']}" in gateway_hook()


def test_the_gateway_hook_makes_the_packaged_envoy_drain_and_keep_running(tmp_path):
    admin_port, listen_port = free_port(), free_port()
    config = tmp_path / "envoy.yaml"
    config.write_text(yaml.safe_dump({
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": admin_port}}},
        "static_resources": {"listeners": [{
            "name": "public",
            "address": {"socket_address": {"address": "127.0.0.1", "port_value": listen_port}},
            "filter_chains": [{"filters": [{
                "name": "envoy.filters.network.http_connection_manager",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                    "stat_prefix": "public",
                    "route_config": {"virtual_hosts": [{"name": "all", "domains": ["*"], "routes": [
                        {"match": {"prefix": "/"}, "direct_response": {"status": 200}}]}]},
                    "http_filters": [{"name": "envoy.filters.http.router", "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}],
                },
            }]}],
        }]},
    }))  # fmt: skip
    (c,) = containers(by_name("Deployment", "gateway"))
    drain = c["args"][c["args"].index("--drain-strategy"):][:2]
    envoy = subprocess.Popen([str(envoy_binary()), "-c", str(config), "--disable-hot-restart", "-l", "warning", *drain],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip

    def get() -> dict[str, str] | None:
        """The response headers of a keep-alive request (urllib would ask to close itself)."""
        connection = http.client.HTTPConnection("127.0.0.1", listen_port, timeout=2)
        try:
            connection.request("GET", "/")
            response = connection.getresponse()
            response.read()
            return {k.lower(): v for k, v in response.getheaders()}
        except OSError:
            return None
        finally:
            connection.close()

    try:
        assert "close" not in (wait_for(get, timeout=30, what="Envoy listening") or {}).get("connection", "")
        # The manifest's very command, pointed at this Envoy's admin port, without the wait.
        hook = gateway_hook().replace("/127.0.0.1/9901", f"/127.0.0.1/{admin_port}")
        hook = re.sub(r"sleep \d+\s*$", "sleep 0", hook)
        assert hook != gateway_hook()
        subprocess.run(["/bin/bash", "-c", hook], check=True, timeout=30)
        # Draining: a request still arriving (from a balancer not yet updated) is served, and told to close.
        headers = wait_for(lambda: (h := get()) and h.get("connection") == "close" and h, timeout=10, what="drain")
        assert headers["connection"] == "close"
        assert envoy.poll() is None, "skip_exit: Envoy keeps running until the kubelet's SIGTERM"
    finally:
        envoy.terminate()
        envoy.wait(timeout=30)


def test_the_readme_states_the_grace_periods_the_manifests_set():
    text = (K8S.parent / "README.md").read_text()
    section = text.split("## Graceful drain", 1)[1].split("\n## ", 1)[0]
    for name in deployment_ids():
        (row,) = [line for line in section.splitlines() if line.startswith(f"| `{name}` |")]
        assert row.rstrip(" |").endswith(f"| {grace_period(name)}"), row
