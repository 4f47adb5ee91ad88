"""The rendered Envoy configuration is accepted by the real Envoy binary (--mode validate)."""
from __future__ import annotations

import pytest

from booking_mesh.embedded.binaries import envoy_binary
from booking_mesh.embedded.envoy import GatewayError, validate_config
from tests.gateway_rendering import endpoints, jwks_file, render  # noqa: F401 (jwks_file is the jwks_path fixture)


def test_the_envoy_binary_is_the_packaged_one():
    assert envoy_binary().is_file()


@pytest.mark.parametrize(
    "upstreams",
    [[("127.0.0.1", 50051)], [("127.0.0.1", 50051), ("127.0.0.1", 50052)]],
    ids=["one-upstream", "two-upstreams"],
)
def test_rendered_config_passes_envoy_validate(jwks_path, upstreams):
    text = render(jwks_path, upstreams=upstreams, listen_port=18080, admin_port=18081,
                  access_log_path="/tmp/access.log")  # fmt: skip
    validate_config(text)

    assert endpoints(text) == upstreams
    assert "lb_policy: ROUND_ROBIN" in text
    admin = text.split("admin:", 1)[1].split("static_resources:", 1)[0]
    assert "address: 127.0.0.1" in admin


def test_hostnames_and_no_cors_origins_validate_too(jwks_path):
    text = render(jwks_path, upstreams=[("localhost", 50051), ("127.0.0.1", 50052)], cors_origins=[])
    validate_config(text)
    assert "type: STRICT_DNS" in text
    assert "envoy.filters.http.cors.v3.CorsPolicy" not in text


def test_validate_config_reports_envoys_message(jwks_path):
    broken = render(jwks_path).replace("lb_policy: ROUND_ROBIN", "lb_policy: SIDEWAYS")
    with pytest.raises(GatewayError, match="SIDEWAYS"):
        validate_config(broken)


@pytest.mark.parametrize("collector", [("127.0.0.1", 4317), ("otel-collector.observability", 4317)], ids=["ip", "hostname"])
def test_a_config_that_traces_to_a_collector_validates(jwks_path, collector):
    text = render(jwks_path, otlp_collector=collector)
    validate_config(text)
    assert "envoy.tracers.opentelemetry" in text and f'address: "{collector[0]}"' in text.split("- name: otlp_collector", 1)[1]


def test_without_a_collector_nothing_is_traced(jwks_path):
    text = render(jwks_path)
    assert "tracing:" not in text and "otlp_collector" not in text
