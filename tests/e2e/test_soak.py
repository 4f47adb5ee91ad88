"""Soak (not in the default run: `python -m pytest -m soak tests/e2e/test_soak.py`; SOAK_SECONDS, default
180): `booking-mesh up --replicas 2` books and cancels continuously while one replica of each
service is SIGKILLed at random, then the database and the mail sink are audited: no slot booked
twice, and every booking's emails arrived, each once (bar the one documented repeat per kill of a
notification replica), confirmation before cancellation."""
from __future__ import annotations

import os
import random
import signal
import threading
import time
import uuid
from datetime import date, datetime, timedelta, timezone

import httpx
import psutil
import psycopg
import pytest

from booking_mesh.mailsink import read_messages
from tests.e2e.helpers import slot_problems
from tests.e2e.test_up_supervision import COMPONENTS, _token_minter, runs
from tests.e2e.up_process import Up, gateway_port
from tests.polling import wait_for

pytestmark = pytest.mark.soak

SOAK_SECONDS = float(os.environ.get("SOAK_SECONDS", "180"))
WORKERS = 4
# Four kills of one process within the supervisor's minute would be a crash loop: never that close.
KILL_EVERY = (15.0, 25.0)
SERVICES = ("appointment_svc", "notification_svc")
CONFIRMATION, CANCELLATION = "booking-confirmation", "booking-cancellation"


def bookable_slots(url: str) -> list[tuple[str, str]]:
    """Kitchen slots far enough ahead for a customer to cancel (CHANGE_NOTICE_HOURS, 24)."""
    earliest = datetime.now(timezone.utc) + timedelta(hours=30)
    slots = []
    for offset in range(2, 12):
        day = (date.today() + timedelta(days=offset)).isoformat()
        for kind in ("SHOWROOM_VISIT", "VIDEO_CONSULTATION"):
            grid = httpx.get(f"{url}/v1/appointments/availability", params={"type": kind, "date": day, "category": "KITCHEN"}, timeout=30)
            slots += [(s["slotId"], kind) for s in grid.json()["slots"] if datetime.fromisoformat(s["startsAt"].replace("Z", "+00:00")) > earliest]
    return slots


class Churn:
    """Workers that each book one of their own slots as a new customer, cancel it, and go on to the
    next (a cancelled slot is free again), retrying a 5xx or a dropped connection as a client should."""

    def __init__(self, url: str, token, slots: list[tuple[str, str]]):
        self._url, self._token = url, token
        self._stop = threading.Event()
        self.booked: dict[str, str] = {}  # booking id -> customer address
        self.cancelled: set[str] = set()
        self.failures: list[str] = []
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(slots[i::WORKERS],), daemon=True) for i in range(WORKERS)]

    def __enter__(self):
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for thread in self._threads:
            thread.join(90)
        assert not any(t.is_alive() for t in self._threads), "the churn did not stop"

    def _call(self, client: httpx.Client, method: str, path: str, customer: str, body: dict) -> httpx.Response | None:
        for _ in range(200):
            if self._stop.is_set():
                return None
            try:
                answer = client.request(method, path, json=body, headers={"Authorization": f"Bearer {self._token(customer)}"})
            except httpx.TransportError:
                self._stop.wait(0.2)
                continue
            if answer.status_code < 500:
                return answer
            self._stop.wait(0.2)
        return None

    def _run(self, slots: list[tuple[str, str]]) -> None:
        with httpx.Client(base_url=self._url, timeout=30) as client:
            while not self._stop.is_set():
                for slot, kind in slots:
                    customer = f"soak-{uuid.uuid4().hex[:12]}"
                    form = {"type": kind, "forKitchen": True, "forBedroom": False, "firstName": "Soak", "lastName": "Customer",
                            "email": f"{customer}@example.com", "phone": "07700 900123", "postcode": "SW1A 1AA",
                            "address": "1 High St", "slotId": slot, "requestId": str(uuid.uuid4())}  # fmt: skip
                    made = self._call(client, "POST", "/v1/appointments", customer, form)
                    if made is None:
                        return
                    if made.status_code != 201:
                        continue  # a lock a killed process left, or the slot's cancellation still on its way
                    booking = made.json()["bookingId"]
                    with self._lock:
                        self.booked[booking] = f"{customer}@example.com"
                    gone = self._call(client, "PATCH", f"/v1/appointments/{booking}/cancel", customer, {"reason": "soak"})
                    if gone is None:
                        return
                    if gone.status_code == 200 or gone.json().get("code") == "BOOKING_ALREADY_CANCELLED":
                        with self._lock:
                            self.cancelled.add(booking)
                    else:
                        self.failures.append(f"cancel {gone.status_code} {gone.text[:200]}")


def replicas_of(up: Up, service: str) -> list[psutil.Process]:
    return [p for p in psutil.Process(up.process.pid).children() if runs(p, COMPONENTS[service])]


def kill_at_random(up: Up, stop: threading.Event, kills: list[str]) -> None:
    rng = random.Random()
    while not stop.wait(rng.uniform(*KILL_EVERY)):
        service = SERVICES[len(kills) % 2]  # one of each in turn; which replica is chance
        running = replicas_of(up, service)
        if len(running) < 2:
            continue  # the last victim is still being restarted
        rng.choice(running).send_signal(signal.SIGKILL)
        kills.append(service)


def audit_database(database_url: str, churn: Churn) -> None:
    with psycopg.connect(database_url) as conn:
        problems = slot_problems(conn)
        rows = dict(conn.execute("SELECT id::text, status FROM bookings WHERE email LIKE 'soak-%'").fetchall())
        numbered = dict(conn.execute("SELECT id::text, event_sequence FROM bookings WHERE email LIKE 'soak-%'").fetchall())
    assert problems == []
    assert set(churn.booked) <= set(rows)
    assert all(rows[b] == "CANCELLED" and numbered[b] == 2 for b in churn.cancelled)


def audit_mail(maildir, churn: Churn, notification_kills: int) -> None:
    expected = {address: [CONFIRMATION, CANCELLATION] if booking in churn.cancelled else [CONFIRMATION]
                for booking, address in churn.booked.items()}  # fmt: skip

    def received() -> dict[str, list[tuple[str, str]]]:
        seen: dict[str, list[tuple[str, str]]] = {}
        for message in read_messages(maildir):
            if message["To"] in expected:
                message_id = message["Message-ID"]
                seen.setdefault(message["To"], []).append((message_id, message_id.strip("<>").split(".")[1]))
        return seen

    def complete():
        seen = received()
        return all(len({m for m, _ in seen.get(a, [])}) >= len(kinds) for a, kinds in expected.items()) and seen

    seen = wait_for(complete, timeout=180, what="every booking's emails")
    print(f"soak: {len(churn.booked)} bookings, {len(churn.cancelled)} cancelled, notification kills {notification_kills}")
    repeats = 0
    out_of_order = {}
    for address, kinds in expected.items():
        first_arrivals = list(dict.fromkeys(seen[address]))
        repeats += len(seen[address]) - len(first_arrivals)
        if [kind for _, kind in first_arrivals] != kinds:
            out_of_order[address] = first_arrivals
    assert out_of_order == {}
    # A kill between SMTP's 250 and the ledger write repeats that one email (same Message-ID).
    assert repeats <= notification_kills, repeats


@pytest.mark.timeout(SOAK_SECONDS + 600)
def test_booking_and_cancelling_while_replicas_are_killed_loses_nothing_and_keeps_each_bookings_order(tmp_path_factory):
    home = tmp_path_factory.mktemp("soak")
    up = Up(home, gateway_port(), args=("--replicas", "2"))
    try:
        database_url = up.wait_for("  postgres").split("started ", 1)[1].split()[0].rsplit("/", 1)[0] + "/booking"
        url = up.wait_for("booking-mesh is up:").split("up:", 1)[1].strip()
        slots = bookable_slots(url)
        assert len(slots) >= 4 * WORKERS
        stop, kills = threading.Event(), []
        killer = threading.Thread(target=kill_at_random, args=(up, stop, kills), daemon=True)
        with Churn(url, _token_minter(up), slots) as churn:
            killer.start()
            deadline = time.monotonic() + SOAK_SECONDS
            while time.monotonic() < deadline:
                assert up.process.poll() is None, "the mesh stopped:\n" + "\n".join(up.lines[-20:])
                time.sleep(1)  # the load runs in its threads; this only watches the clock
            stop.set()
            killer.join(30)
        wait_for(lambda: all(len(replicas_of(up, s)) == 2 for s in SERVICES), timeout=60, what="every replica back")
        assert set(SERVICES) <= set(kills), kills
        assert len(churn.booked) >= 50 and churn.failures == [], churn.failures[:5]
        audit_database(database_url, churn)
        audit_mail(home / "mail", churn, kills.count("notification_svc"))
    finally:
        assert up.stop() == 0
