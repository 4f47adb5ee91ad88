"""Session-wide real servers (started once) and per-test data isolation."""
from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from booking_mesh.embedded.mesh import start_all, stop_all
from booking_mesh.embedded.process import EmbeddedServer


@pytest.fixture(scope="session")
def mesh_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("mesh")


@pytest.fixture(scope="session")
def backing(mesh_home) -> dict[str, EmbeddedServer]:
    """Real PostgreSQL, Valkey, NATS JetStream, SMTP sink and S3 on free ports, for the whole session."""
    servers = start_all(mesh_home)
    yield servers
    stop_all(servers)


@pytest.fixture(scope="session")
def template_database(backing) -> str:
    """A migrated database that per-test databases are cloned from (cheap, and keeps tests apart)."""
    from appointment_svc.adapters.migrate import upgrade_to_head

    url = backing["postgres"].create_database("booking_template")
    upgrade_to_head(url)
    return "booking_template"


@pytest.fixture
def database_url(backing, template_database) -> str:
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(backing["postgres"].url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"')
    return backing["postgres"].database_url(name)


@pytest.fixture
def redis_url(backing) -> str:
    # Keys are namespaced by random ids in the tests; one logical db keeps the cache realistic.
    return backing["valkey"].url
