"""One Envoy and one fake upstream for the whole folder (they start in a few seconds; the tests only
read). The gateway gets a second, dead endpoint as well, so every test also shows that a dead
appointment-service process is skipped."""
from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from booking_mesh.embedded.envoy import EnvoyGateway
from mesh_common.auth import KeyPair, Role, issue_token
from tests.integration.edge.helpers import ALLOWED_ORIGIN, dead_port
from tests.integration.gateway_fakes import FakeBookingUpstream


@pytest.fixture(scope="package")
def keys(tmp_path_factory) -> KeyPair:
    pair = KeyPair.generate()
    pair.save(tmp_path_factory.mktemp("gateway-keys"))
    return pair


@pytest.fixture(scope="package")
def jwks_path(keys, tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("jwks")
    keys.save(directory)
    return directory / "jwks.json"


@pytest.fixture(scope="package")
def fake():
    server = FakeBookingUpstream()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="package")
def gateway_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("gateway")


@pytest.fixture(scope="package")
def gateway(fake, jwks_path, gateway_home) -> EnvoyGateway:
    gw = EnvoyGateway(
        gateway_home / "envoy",
        upstreams=[("127.0.0.1", fake.port), ("127.0.0.1", dead_port())],
        jwks_path=jwks_path,
        cors_origins=[ALLOWED_ORIGIN],
        access_log_path=str(gateway_home / "access.log"),
        # Every test of the folder shares this gateway: the brochure limit (tested in test_hostile on
        # gateways of its own) must not turn one test's requests into another's 429.
        brochure_limit_per_client=10_000,
        brochure_limit_global=10_000,
    )
    gw.start()
    yield gw
    gw.stop()


@pytest.fixture(scope="package")
def client(gateway) -> httpx.Client:
    with httpx.Client(base_url=gateway.url, timeout=10) as c:
        yield c


@pytest.fixture
def upstream(fake) -> FakeBookingUpstream:
    fake.clear()
    return fake


@pytest.fixture(scope="package")
def customer(keys) -> str:
    return issue_token(keys, "user-1", Role.CUSTOMER)


@pytest.fixture(scope="package")
def admin(keys) -> str:
    return issue_token(keys, "admin-1", Role.ADMIN)
