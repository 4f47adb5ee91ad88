"""`booking-mesh up --replicas 2` heals itself: SIGKILL any one component (one replica of a service)
during a booking burst and the mesh restarts it, keeps serving, and the audit finds every booking
whole and its email sent."""
from __future__ import annotations

import json
import signal
import threading
import uuid
from datetime import date, timedelta
from email import policy
from email.parser import BytesParser

import httpx
import psutil
import psycopg
import pytest

from tests.e2e.helpers import slot_problems
from tests.e2e.up_process import Up, gateway_port
from tests.polling import wait_for

# What each component runs: a Python module, or a binary.
COMPONENTS = {
    "appointment_svc": "-m appointment_svc",
    "notification_svc": "-m notification_svc",
    "valkey": "valkey-server",
    "nats": "nats-server",
    "smtp": "-m booking_mesh.mailsink",
}


def runs(process: psutil.Process, what: str) -> bool:
    argv = process.cmdline()
    if what.startswith("-m "):
        return what.split() == argv[1:3]
    # Valkey rewrites its title to "<path>/valkey-server <address>": one argument with a space.
    return bool(argv) and argv[0].split(" ")[0].rsplit("/", 1)[-1] == what


def component_process(up: Up, name: str) -> psutil.Process:
    # Each service runs two replicas here: the victim is the first of them.
    found = [p for p in psutil.Process(up.process.pid).children() if runs(p, COMPONENTS[name])]
    assert found, f"no {name} process"
    return found[0]


class Burst:
    """Customers booking free slots one after another, each retrying a failed attempt with the same
    requestId (as a client told 503 should), until stopped."""

    def __init__(self, url: str, token, slots: list[tuple[str, str]]):
        self._url, self._token, self._slots = url, token, slots
        self._stop = threading.Event()
        self.booked: list[dict] = []
        self.statuses: list[int] = []
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(60)
        assert not self._thread.is_alive(), "the burst did not stop"

    def _run(self) -> None:
        with httpx.Client(base_url=self._url, timeout=30) as client:
            for slot, kind in self._slots:
                self._stop.wait(0.1)  # a steady stream that spans the kill and the restart
                customer = f"burst-{uuid.uuid4().hex[:10]}"
                form = {"type": kind, "forKitchen": True, "forBedroom": False, "firstName": "Burst",
                        "lastName": "Customer", "email": f"{customer}@example.com", "phone": "07700 900123",
                        "postcode": "SW1A 1AA", "address": "1 High St", "slotId": slot, "requestId": str(uuid.uuid4())}
                for _ in range(100):
                    if self._stop.is_set():
                        return
                    try:
                        answer = client.post("/v1/appointments", json=form, headers={"Authorization": f"Bearer {self._token(customer)}"})
                    except httpx.TransportError:
                        self.statuses.append(0)
                        self._stop.wait(0.2)
                        continue
                    self.statuses.append(answer.status_code)
                    if answer.status_code == 201:
                        self.booked.append(answer.json())
                        break
                    if answer.status_code < 500:
                        break  # 409: a lock left by a killed process, or a race; that slot is not ours
                    self._stop.wait(0.2)

    def count(self) -> int:
        return len(self.booked)


def free_kitchen_slots(url: str, days: int) -> list[tuple[str, str]]:
    slots = []
    for offset in range(1, days + 1):
        day = (date.today() + timedelta(days=offset)).isoformat()
        for kind in ("SHOWROOM_VISIT", "VIDEO_CONSULTATION"):
            grid = httpx.get(f"{url}/v1/appointments/availability", params={"type": kind, "date": day, "category": "KITCHEN"}, timeout=30)
            slots += [(s["slotId"], kind) for s in grid.json()["slots"]]
    return slots


def audit(database_url: str, booked: list[dict], maildir) -> None:
    with psycopg.connect(database_url) as conn:
        problems = slot_problems(conn)
        without_history = conn.execute(
            "SELECT b.id FROM bookings b WHERE NOT EXISTS (SELECT 1 FROM booking_status_history h WHERE h.booking_id = b.id)"
        ).fetchall()
        references = {r[0] for r in conn.execute("SELECT reference_code FROM bookings")}
    assert problems == [] and without_history == []
    assert {b["referenceCode"] for b in booked} <= references

    def confirmations() -> dict[str, int]:
        parser = BytesParser(policy=policy.default)
        counts: dict[str, int] = {}
        for path in maildir.glob("*.eml"):
            message = parser.parsebytes(path.read_bytes())
            if message["To"] and message["To"].startswith("burst-"):
                counts[message["Message-ID"]] = counts.get(message["Message-ID"], 0) + 1
        return counts

    # One confirmation per booking; a kill between SMTP's acceptance and the ledger write (the
    # notification service's, or NATS's holding the ledger) may repeat one email, never more.
    counts = wait_for(lambda: (c := confirmations()) and len(c) >= len(booked) and c, timeout=90, what="every confirmation")
    assert len(counts) == len(booked)
    assert sum(counts.values()) - len(counts) <= 2, counts


@pytest.mark.parametrize("victim", list(COMPONENTS))
def test_a_killed_component_is_restarted_and_the_burst_carries_on_with_nothing_lost(tmp_path_factory, victim):
    home = tmp_path_factory.mktemp(f"supervised-{victim}")
    up = Up(home, gateway_port(), args=("--replicas", "2"))
    try:
        database_url = up.wait_for("  postgres").split("started ", 1)[1].split()[0].rsplit("/", 1)[0] + "/booking"
        url = up.wait_for("booking-mesh is up:").split("up:", 1)[1].strip()
        listed = json.loads((home / "endpoints.json").read_text())
        # Two of each service, each replica with a metrics port of its own, and Envoy's stats.
        assert len(listed["grpc"]) == 2 and len(set(listed["metrics"])) == 5, listed
        token = _token_minter(up)
        with Burst(url, token, free_kitchen_slots(url, 13)) as burst:
            wait_for(lambda: burst.count() >= 3, timeout=60, what="bookings before the kill")
            component_process(up, victim).send_signal(signal.SIGKILL)
            up.wait_for(f"  {victim}")  # "... stopped unexpectedly; restarting in 0.5 s"
            up.wait_for("restarted", timeout=60)
            after = burst.count()
            wait_for(lambda: burst.count() >= after + 3, timeout=60, what=f"bookings after the restart ({burst.statuses[-10:]})")
        assert up.process.poll() is None, "the mesh stopped"
        audit(database_url, burst.booked, home / "mail")
    finally:
        assert up.stop() == 0


def _token_minter(up: Up):
    """Tokens signed with the running mesh's key, without a process per token."""
    from mesh_common.auth import KeyPair, issue_token

    keys = KeyPair.load(up.home / "keys")
    return lambda sub: issue_token(keys, sub)
