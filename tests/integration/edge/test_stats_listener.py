"""The stats-only listener (gateway.render --stats-port): Prometheus reads Envoy's metrics there,
and nothing else of the admin interface (which can drain or stop Envoy) is reachable through it."""
from __future__ import annotations

import httpx
import pytest

from booking_mesh.embedded.envoy import EnvoyGateway
from booking_mesh.embedded.ports import free_port
from tests.gateway_rendering import render


@pytest.fixture(scope="module")
def stats_gateway(fake, jwks_path, tmp_path_factory):
    admin_port, stats_port = free_port(), free_port()
    gateway = EnvoyGateway(
        tmp_path_factory.mktemp("stats-gateway"), upstreams=[("127.0.0.1", fake.port)], jwks_path=jwks_path,
        admin_port=admin_port, stats_port=stats_port,
    )  # fmt: skip
    gateway.start()
    yield gateway, f"http://127.0.0.1:{stats_port}"
    gateway.stop()


def test_the_stats_listener_serves_envoys_prometheus_metrics(stats_gateway):
    _, stats = stats_gateway
    reply = httpx.get(f"{stats}/stats/prometheus", timeout=5)
    assert reply.status_code == 200 and "envoy_cluster_upstream_cx_total" in reply.text


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/stats"), ("GET", "/clusters"), ("GET", "/config_dump"), ("POST", "/quitquitquit"),
     ("POST", "/drain_listeners"), ("POST", "/stats/prometheus"), ("GET", "/stats/prometheus/../../config_dump"),
     ("GET", "/stats//prometheus/../../quitquitquit"), ("POST", "/logging?level=trace")],
)  # fmt: skip
def test_nothing_else_of_the_admin_interface_is_reachable_through_it(stats_gateway, method, path):
    gateway, stats = stats_gateway
    reply = httpx.request(method, f"{stats}{path}", timeout=5)
    assert reply.status_code in (400, 404), (path, reply.status_code, reply.text[:200])
    assert gateway.is_running() and httpx.get(f"{gateway.admin_url}/ready", timeout=5).text.strip() == "LIVE"


def test_a_stats_listener_needs_a_fixed_admin_port(jwks_path):
    with pytest.raises(ValueError, match="admin port"):
        render(jwks_path, admin_port=0, stats_port=9902)
