"""Helpers that put consultants and slots straight into a test's own database."""
from __future__ import annotations

import itertools
import random
import uuid
from datetime import datetime, timedelta, timezone

import psycopg

from appointment_svc.adapters.unit_of_work import SqlUnitOfWork
from appointment_svc.bootstrap import event_handlers
from appointment_svc.service_layer.messagebus import MessageBus


def units_of_work(engine, cache, lock):
    """The service's unit-of-work factory, with bootstrap's handlers reacting through `cache` and `lock`."""
    bus = MessageBus(event_handlers(cache, lock))
    return lambda: SqlUnitOfWork(engine, bus)


def add_consultant(
    database_url: str, name: str | None = None, categories=("KITCHEN", "BEDROOM"), postcode_areas=()
) -> uuid.UUID:
    consultant_id = uuid.uuid4()
    with psycopg.connect(database_url) as connection:
        connection.execute(
            "INSERT INTO consultants (id, name, avatar_url, categories, postcode_areas) VALUES (%s, %s, %s, %s, %s)",
            (
                consultant_id, name or f"Consultant {consultant_id.hex[:6]}", f"https://avatars.example/{consultant_id}.png",
                list(categories), list(postcode_areas),
            ),
        )  # fmt: skip
    return consultant_id


_DEFAULT_SPAN_HOURS = 700 * 24
_DEFAULT_HOURS = itertools.count(random.randrange(_DEFAULT_SPAN_HOURS))


def add_slot(
    database_url: str,
    consultant_id: uuid.UUID,
    starts_at: datetime | None = None,
    kind: str = "SHOWROOM_VISIT",
    minutes: int = 60,
    blocked: bool = False,
) -> uuid.UUID:
    slot_id = uuid.uuid4()
    if starts_at is None:
        # Successive whole hours from a random one, within the booking horizon (730 days): default
        # slots never overlap (the database forbids it for one consultant) and stay bookable.
        base = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
        starts_at = base + timedelta(days=2, hours=next(_DEFAULT_HOURS) % _DEFAULT_SPAN_HOURS)
    with psycopg.connect(database_url) as connection:
        connection.execute(
            "INSERT INTO time_slots (id, consultant_id, type, starts_at, ends_at, is_blocked) VALUES (%s, %s, %s, %s, %s, %s)",
            (slot_id, consultant_id, kind, starts_at, starts_at + timedelta(minutes=minutes), blocked),
        )
    return slot_id


def appointment_has_started(database_url: str, slot_id: uuid.UUID) -> None:
    """Let time pass: the slot (and so its booking's appointment) began in the past, at a whole
    hour of its own, so one consultant's slots moved there never overlap (the database forbids it)."""
    hours_ago = 2 + uuid.UUID(str(slot_id)).int % 100_000
    with psycopg.connect(database_url) as connection:
        connection.execute(
            "UPDATE time_slots SET starts_at = date_trunc('hour', now()) - make_interval(hours => %s),"
            " ends_at = date_trunc('hour', now()) - make_interval(hours => %s - 1) WHERE id = %s",
            (hours_ago, hours_ago, slot_id),
        )


def active_bookings(database_url: str, slot_id: uuid.UUID) -> int:
    with psycopg.connect(database_url) as connection:
        return connection.execute(
            "SELECT count(*) FROM bookings WHERE slot_id = %s AND status IN ('PENDING','CONFIRMED')", (slot_id,)
        ).fetchone()[0]


def live_holds(database_url: str, slot_id: uuid.UUID) -> int:
    with psycopg.connect(database_url) as connection:
        return connection.execute(
            "SELECT count(*) FROM slot_holds WHERE slot_id = %s AND expires_at > now()", (slot_id,)
        ).fetchone()[0]


def each_slot_has_at_most_one_booking_or_hold(database_url: str) -> bool:
    """The invariant of issue 14: no slot has more than one active booking or live hold in all."""
    with psycopg.connect(database_url) as connection:
        return connection.execute("""
            SELECT count(*) FROM time_slots s
            WHERE (SELECT count(*) FROM bookings b WHERE b.slot_id = s.id AND b.status IN ('PENDING','CONFIRMED'))
                + (SELECT count(*) FROM slot_holds h WHERE h.slot_id = s.id AND h.expires_at > now()) > 1
        """).fetchone()[0] == 0


def outbox_subjects(database_url: str) -> list[str]:
    with psycopg.connect(database_url) as connection:
        return [r[0] for r in connection.execute("SELECT subject FROM outbox ORDER BY created_at")]


def reference_counter(database_url: str, day) -> int | None:
    """The last reference number taken on this London day (None before the first)."""
    with psycopg.connect(database_url) as connection:
        row = connection.execute("SELECT last_value FROM reference_counters WHERE day = %s", (day,)).fetchone()
    return None if row is None else row[0]


def set_reference_counter(database_url: str, day, value: int | None) -> None:
    """As if `value` bookings had been numbered on this London day (None: none yet)."""
    with psycopg.connect(database_url) as connection:
        if value is None:
            connection.execute("DELETE FROM reference_counters WHERE day = %s", (day,))
            return
        connection.execute(
            "INSERT INTO reference_counters (day, last_value) VALUES (%s, %s) ON CONFLICT (day) DO UPDATE SET last_value = %s",
            (day, value, value),
        )


def booking_form(slot_id, **overrides) -> dict:
    form = {
        "type": "SHOWROOM_VISIT",
        "forKitchen": True,
        "forBedroom": False,
        "firstName": "Jane",
        "lastName": "Doe",
        # A mailbox per slot: the per-address email limit must not couple unrelated tests, and a
        # retried form must stay identical.
        "email": f"jane.{str(slot_id).replace('-', '')[:16]}@example.com",
        "phone": "07700 900123",
        "postcode": "SW1A 1AA",
        "address": "10 Downing Street, London",
        "slotId": str(slot_id),
    }
    form.update(overrides)
    return form
