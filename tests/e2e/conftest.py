"""The real mesh for end-to-end tests: two appointment-service processes behind the real Envoy and
two notification-service processes on one durable consumer (`booking-mesh up --replicas 2`), so
every race, fault and email test runs with N = 2."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from booking_mesh.brochure_pdf import provision_brochure
from booking_mesh.embedded.envoy import EnvoyGateway
from booking_mesh.mailsink import read_messages
from booking_mesh.services import AppointmentService, NotificationService
from gateway.web import DevSignIn
from mesh_common.auth import KeyPair, Role, issue_token
from tests.otlp_receiver import OtlpReceiver

CORS_ORIGIN = "https://shop.example.co.uk"


@dataclass
class Mesh:
    home: Path
    keys: KeyPair
    database_url: str
    env: dict[str, str]
    appointment: list[AppointmentService]
    notification: list[NotificationService]
    gateway: EnvoyGateway
    maildir: Path
    otlp: OtlpReceiver  # every span of the mesh: Envoy's and both services'

    def mail_to(self, address: str) -> list:
        return [m for m in read_messages(self.maildir) if address in m["X-Envelope-To"]]

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
    otlp = OtlpReceiver(mesh_home)
    env = {
        "DATABASE_URL": database_url,
        "REDIS_URL": backing["valkey"].url,
        "NATS_URL": backing["nats"].url,
        "JWT_JWKS_PATH": str(home / "keys" / "jwks.json"),
        "LOG_LEVEL": "INFO",
        # Tests move appointments years into the past (booking_fixtures.appointment_has_started):
        # retention must not anonymise other tests' bookings under them (its own test is integration).
        "RETENTION_DAYS": "36500",
        # Traced as in a cluster with a collector; spans leave every 0.1 s instead of every 5 s.
        "OTEL_EXPORTER_OTLP_ENDPOINT": otlp.endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "100",
    }
    services = [AppointmentService(home / "run", env, log_dir=home / "logs", name=f"appointment_svc_{i}") for i in (1, 2)]
    for service in services:
        service.start()
    s3 = backing["s3"]
    provision_brochure(s3.url, s3.access_key, s3.secret_key, "brochures", "brochure.pdf")
    notification_env = {
        **env,
        "SMTP_URL": backing["smtp"].url,
        "S3_ENDPOINT_URL": s3.url,
        "S3_ACCESS_KEY": s3.access_key,
        "S3_SECRET_KEY": s3.secret_key,
        "NOTIFICATION_RETRY_BASE_SECONDS": "0.5",
        "NOTIFICATION_RETRY_MAX_SECONDS": "2",
    }
    notification = [
        NotificationService(home / "run", notification_env, log_dir=home / "logs", name=f"notification_svc_{i}") for i in (1, 2)
    ]
    for replica in notification:
        replica.start()
    sign_in = DevSignIn(keys).start()
    gateway = EnvoyGateway(
        home / "gateway",
        dev_sign_in=sign_in.address,
        upstreams=[("127.0.0.1", s.port) for s in services],
        jwks_path=home / "keys" / "jwks.json",
        cors_origins=[CORS_ORIGIN],
        access_log_path=str(home / "logs" / "access.log"),
        otlp_collector=("127.0.0.1", otlp.port),
    )
    gateway.start()
    yield Mesh(home, keys, database_url, env, services, notification, gateway, backing["smtp"].maildir, otlp)
    gateway.stop()
    sign_in.stop()
    for replica in notification:
        replica.stop()
    for service in services:
        service.stop()
    otlp.stop()


@pytest.fixture
def staff_sub() -> str:
    """A member of staff of the test's own."""
    return f"staff-{uuid.uuid4().hex[:6]}"


@pytest.fixture
def staff(mesh, staff_sub) -> dict[str, str]:
    """Authorization headers of `staff_sub` with the ADMIN role."""
    return mesh.auth(staff_sub, Role.ADMIN)


@pytest.fixture
def http(mesh) -> httpx.Client:
    with httpx.Client(base_url=mesh.url, timeout=30) as client:
        yield client
