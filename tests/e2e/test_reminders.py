"""Reminders through the real mesh (issue 15): a mesh of its own with a one-minute lead, so slots a
member of staff opens a minute or two ahead have their reminders fall due during the test.

Its own database, event stream (subject prefix), consumer and sent ledger keep it apart from the
session's mesh; the SMTP sink is shared, the addresses are the test's own.
"""
from __future__ import annotations

import random
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import psycopg
import pytest

from booking_mesh.brochure_pdf import provision_brochure
from booking_mesh.embedded.envoy import EnvoyGateway
from booking_mesh.mailsink import read_messages
from booking_mesh.services import AppointmentService, NotificationService
from mesh_common.auth import KeyPair, Role, issue_token
from notification_svc.ics import booking_uid
from tests.e2e.admin.api import new_consultant, new_slot
from tests.e2e.helpers import a_customer, an_email
from tests.integration.booking_fixtures import booking_form
from tests.polling import wait_for

LEAD_SECONDS = 60


@dataclass
class ReminderMesh:
    database_url: str
    keys: KeyPair
    appointment: list[AppointmentService]
    notification: NotificationService
    gateway: EnvoyGateway
    maildir: Path

    def auth(self, sub: str, role: Role = Role.CUSTOMER) -> dict[str, str]:
        return {"Authorization": f"Bearer {issue_token(self.keys, sub, role)}"}

    def mail_to(self, address: str) -> list:
        return [m for m in read_messages(self.maildir) if address in m["X-Envelope-To"]]


@pytest.fixture(scope="module")
def reminder_mesh(backing, mesh_home, template_database):
    tag = uuid.uuid4().hex[:8]
    with psycopg.connect(backing["postgres"].url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "reminders_{tag}" TEMPLATE "{template_database}"')
    database_url = backing["postgres"].database_url(f"reminders_{tag}")
    home = mesh_home / f"reminders-{tag}"
    keys = KeyPair.load_or_create(home / "keys")
    env = {
        "DATABASE_URL": database_url,
        "REDIS_URL": backing["valkey"].url,
        "NATS_URL": backing["nats"].url,
        "EVENTS_STREAM": f"REMINDERS_{tag}",
        "EVENTS_DLQ_STREAM": f"REMINDERS_DLQ_{tag}",
        "EVENTS_SUBJECT_PREFIX": f"reminders-{tag}.",
        "JWT_JWKS_PATH": str(home / "keys" / "jwks.json"),
        "REMINDER_LEAD_MINUTES": str(LEAD_SECONDS // 60),
        "REMINDER_POLL_SECONDS": "0.3",
    }
    appointment = [AppointmentService(home / "run", env, log_dir=home / "logs", name=f"appointment_svc_{i}") for i in (1, 2)]
    for service in appointment:
        service.start()
    s3 = backing["s3"]
    provision_brochure(s3.url, s3.access_key, s3.secret_key, "brochures", "brochure.pdf")
    notification = NotificationService(
        home / "run",
        {
            **env,
            "SMTP_URL": backing["smtp"].url,
            "S3_ENDPOINT_URL": s3.url,
            "S3_ACCESS_KEY": s3.access_key,
            "S3_SECRET_KEY": s3.secret_key,
            "NOTIFICATION_DURABLE": f"reminders-{tag}",
            "NOTIFICATION_SENT_BUCKET": f"reminders_sent_{tag}",
            "NOTIFICATION_ORDER_BUCKET": f"reminders_order_{tag}",
            # The mail sink is the session's: the main mesh's tests find team alerts by reference
            # code, and this database numbers its references from the same start.
            "TEAM_EMAIL_DOMAIN": f"reminders-{tag}.example.co.uk",
            "NOTIFICATION_RETRY_BASE_SECONDS": "0.5",
            "NOTIFICATION_RETRY_MAX_SECONDS": "2",
            "NOTIFICATION_ACK_WAIT_SECONDS": "3",
        },
        log_dir=home / "logs",
    )
    notification.start()
    gateway = EnvoyGateway(
        home / "gateway", upstreams=[("127.0.0.1", s.port) for s in appointment], jwks_path=home / "keys" / "jwks.json"
    )
    gateway.start()
    yield ReminderMesh(database_url, keys, appointment, notification, gateway, backing["smtp"].maildir)
    gateway.stop()
    notification.stop()
    for service in appointment:
        service.stop()


@pytest.fixture
def http(reminder_mesh):
    with httpx.Client(base_url=reminder_mesh.gateway.url, timeout=10) as client:
        yield client


@pytest.fixture
def staff(reminder_mesh):
    return reminder_mesh.auth(f"staff-{uuid.uuid4().hex[:6]}", Role.ADMIN)


def whole_second(instant: datetime) -> datetime:
    return instant.replace(microsecond=0)


def book_soon(http, mesh: ReminderMesh, staff, starts_in: timedelta) -> dict:
    """A slot of a consultant of its own starting `starts_in` from now, booked by a new customer."""
    consultant_id, _ = new_consultant(http, staff)
    created = new_slot(http, staff, consultant_id, whole_second(datetime.now(timezone.utc) + starts_in), minutes=30)
    assert created.status_code == 201, created.text
    email = an_email()
    customer = a_customer()
    response = http.post("/v1/appointments", json=booking_form(created.json()["slotId"], email=email), headers=mesh.auth(customer))
    assert response.status_code == 201, response.text
    return {**response.json(), "email": email, "customer": customer}


def reminders_to(mesh: ReminderMesh, email: str) -> list:
    return [m for m in mesh.mail_to(email) if m["Subject"].startswith("Reminder")]


def reminder_events(mesh: ReminderMesh) -> list[str]:
    """The booking ids of the reminder events written to the outbox, one per event."""
    from booking.v1 import events_pb2

    with psycopg.connect(mesh.database_url) as connection:
        rows = connection.execute("SELECT payload FROM outbox WHERE subject = 'booking.reminder_due'").fetchall()
    return [events_pb2.BookingReminderDue.FromString(payload).appointment.booking_id for (payload,) in rows]


def calendar_of(message) -> str:
    (part,) = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    content = part.get_content()
    return content if isinstance(content, str) else content.decode()


def test_a_booking_just_outside_the_lead_gets_one_reminder_and_its_history_shows_it(reminder_mesh, http, staff):
    mesh = reminder_mesh
    outside = book_soon(http, mesh, staff, timedelta(seconds=LEAD_SECONDS + 20))
    cancelled = book_soon(http, mesh, staff, timedelta(seconds=LEAD_SECONDS + 20))
    inside = book_soon(http, mesh, staff, timedelta(seconds=LEAD_SECONDS - 20))
    # Inside the customer's notice window (CHANGE_NOTICE_HOURS): staff cancel it for them.
    cancel = http.post(
        f"/v1/admin/appointments/{cancelled['bookingId']}/cancel", json={"reason": "Designer ill"}, headers=staff
    )
    assert cancel.status_code == 200, cancel.text

    (reminder,) = wait_for(lambda: reminders_to(mesh, outside["email"]), timeout=LEAD_SECONDS, what="the reminder")
    assert outside["referenceCode"] in reminder["Subject"]
    body = reminder.get_body(preferencelist=("plain",)).get_content()
    assert outside["referenceCode"] in body and "hours before it starts" in body
    confirmation = [m for m in mesh.mail_to(outside["email"]) if m["Subject"].startswith("Booking request received")][0]
    uid = f"UID:{booking_uid(outside['bookingId'])}"
    assert uid in calendar_of(reminder) and uid in calendar_of(confirmation)

    details = http.get(f"/v1/admin/appointments/{outside['bookingId']}", headers=staff)
    assert details.status_code == 200, details.text
    entries = [h for h in details.json()["history"] if h.get("kind") == "REMINDER"]
    assert len(entries) == 1 and entries[0]["changedBy"] == "reminder-scheduler" and entries[0]["changedAt"]
    assert entries[0]["fromStatus"] == entries[0]["toStatus"] == "PENDING"
    assert {h["kind"] for h in details.json()["history"]} == {"STATUS_CHANGE", "REMINDER"}

    # The cancelled booking's reminder was due as soon as the one above: well past it now.
    time.sleep(3)
    assert len(reminders_to(mesh, outside["email"])) == 1
    assert reminders_to(mesh, cancelled["email"]) == [] and reminders_to(mesh, inside["email"]) == []
    assert sorted(reminder_events(mesh)).count(outside["bookingId"]) == 1
    assert {cancelled["bookingId"], inside["bookingId"]}.isdisjoint(reminder_events(mesh))


def test_killing_schedulers_and_the_notification_service_at_random_still_sends_each_reminder_once(reminder_mesh, http, staff):
    mesh = reminder_mesh
    rng = random.Random()
    # Due one after another over about half a minute, while the processes are killed and restarted.
    bookings = [book_soon(http, mesh, staff, timedelta(seconds=LEAD_SECONDS + 10 + 3 * i)) for i in range(10)]
    victims = [*mesh.appointment, mesh.notification]
    deadline = time.monotonic() + 45
    kills = 0
    try:
        while time.monotonic() < deadline:
            time.sleep(rng.uniform(0.2, 3.0))
            victim = rng.choice(victims)
            victim.kill()  # SIGKILL to its process group: no shutdown code runs
            kills += 1
            time.sleep(rng.uniform(0.0, 1.5))
            victim.start()
    finally:
        for service in victims:
            service.start()  # a no-op for one already running

    def everyone_reminded():
        return all(reminders_to(mesh, b["email"]) for b in bookings)

    wait_for(everyone_reminded, timeout=90, what="every booking's reminder")
    time.sleep(5)  # a repeat, if one were coming, is a redelivery within the ack wait (3 s)
    events = reminder_events(mesh)
    assert all(events.count(b["bookingId"]) == 1 for b in bookings), events
    counts = {b["referenceCode"]: len(reminders_to(mesh, b["email"])) for b in bookings}
    # A SIGKILL between the SMTP server's 250 and the sent-ledger write (notification_svc/consumer.py)
    # may re-send one email, with the same Message-ID; each such window needs a kill of its own.
    repeats = sum(n - 1 for n in counts.values())
    assert all(n >= 1 for n in counts.values()) and repeats <= 1, (counts, kills)
    for b in bookings:
        assert len({m["Message-ID"] for m in reminders_to(mesh, b["email"])}) == 1
