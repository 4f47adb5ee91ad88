"""The real mesh for end-to-end tests: two appointment-service processes behind the real Envoy."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from booking_mesh.services import AppointmentService
from gateway.process import EnvoyGateway
from mesh_common.auth import KeyPair, Role, issue_token

CORS_ORIGIN = "https://shop.example.co.uk"


@dataclass
class Mesh:
    home: Path
    keys: KeyPair
    database_url: str
    env: dict[str, str]
    appointment: list[AppointmentService]
    gateway: EnvoyGateway

    @property
    def url(self) -> str:
        return self.gateway.url

    def token(self, sub: str, role: Role = Role.CUSTOMER, **kwargs) -> str:
        return issue_token(self.keys, sub, role, **kwargs)

    def auth(self, sub: str, role: Role = Role.CUSTOMER) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(sub, role)}"}


@pytest.fixture(scope="session")
def mesh(backing, mesh_home, template_database) -> Mesh:
    import psycopg

    with psycopg.connect(backing["postgres"].url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "e2e" TEMPLATE "{template_database}"')
    database_url = backing["postgres"].database_url("e2e")
    home = mesh_home / "e2e"
    keys = KeyPair.load_or_create(home / "keys")
    env = {
        "DATABASE_URL": database_url,
        "REDIS_URL": backing["valkey"].url,
        "NATS_URL": backing["nats"].url,
        "JWT_JWKS_PATH": str(home / "keys" / "jwks.json"),
        "LOG_LEVEL": "INFO",
    }
    services = [AppointmentService(home / "run", env, log_dir=home / "logs", name=f"appointment_svc_{i}") for i in (1, 2)]
    for service in services:
        service.start()
    gateway = EnvoyGateway(
        home / "gateway",
        upstreams=[("127.0.0.1", s.port) for s in services],
        jwks_path=home / "keys" / "jwks.json",
        cors_origins=[CORS_ORIGIN],
        access_log_path=str(home / "logs" / "access.log"),
    )
    gateway.start()
    yield Mesh(home, keys, database_url, env, services, gateway)
    gateway.stop()
    for service in services:
        service.stop()


@pytest.fixture
def http(mesh) -> httpx.Client:
    with httpx.Client(base_url=mesh.url, timeout=30) as client:
        yield client
