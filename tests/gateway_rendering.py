"""The gateway's Envoy configuration rendered for tests: a fresh key set, local defaults, and readers
for the parts the tests check."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from gateway.config import DEFAULT_DESCRIPTOR, render_envoy_config
from mesh_common.auth import KeyPair


@pytest.fixture(scope="module", name="jwks_path")
def jwks_file(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("keys")
    KeyPair.generate().save(directory)
    return directory / "jwks.json"


def render(jwks_path: Path, **overrides) -> str:
    args = dict(
        listen_port=0,
        admin_port=0,
        upstreams=[("127.0.0.1", 50051)],
        descriptor_path=DEFAULT_DESCRIPTOR,
        jwks_path=jwks_path,
        issuer="booking-mesh",
        audience="booking-api",
        cors_origins=["https://shop.example.co.uk"],
        access_log_path=None,
    )
    return render_envoy_config(**{**args, **overrides})


def endpoints(text: str) -> list[tuple[str, int]]:
    cluster = text.split("clusters:", 1)[1]
    return [(host, int(port)) for host, port in
            re.findall(r'socket_address: \{address: "([^"]+)", port_value: (\d+)\}', cluster)]  # fmt: skip


def http_filters(text: str) -> list[str]:
    chain = text.split("http_filters:", 1)[1].split("clusters:", 1)[0]
    return re.findall(r"^          - name: envoy\.filters\.http\.([\w.]+)$", chain, flags=re.M)
