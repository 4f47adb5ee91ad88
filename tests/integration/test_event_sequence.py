"""Booking events are numbered 1, 2, 3, ... per booking in PostgreSQL, in the transaction that writes
their outbox rows, with no gap and no repeat even when changes of one booking race."""
from __future__ import annotations

import asyncio

import psycopg

from appointment_svc.domain.errors import DomainError
from mesh_common.auth import Principal, Role
from mesh_common.events import decode_event
from tests.integration.booking_fixtures import add_consultant, add_slot
from tests.integration.test_booking_transaction import command

STAFF = Principal("staff-1", Role.ADMIN)
ALICE = Principal("alice", Role.CUSTOMER)


def published(database_url: str, booking_id) -> list[tuple[str, int]]:
    """(subject, sequence) of the booking's outbox rows, in the order the relay publishes them."""
    with psycopg.connect(database_url) as connection:
        rows = connection.execute("SELECT subject, payload FROM outbox ORDER BY created_at").fetchall()
    events = [(subject, decode_event(subject, bytes(payload))) for subject, payload in rows if subject.startswith("booking.")]
    return [(subject, e.sequence) for subject, e in events if e.appointment.booking_id == str(booking_id)]


def stored_sequence(database_url: str, booking_id) -> int:
    with psycopg.connect(database_url) as connection:
        return connection.execute("SELECT event_sequence FROM bookings WHERE id = %s", (booking_id,)).fetchone()[0]


async def test_each_published_step_of_a_booking_takes_the_next_number(service, admin, database_url):
    consultant = add_consultant(database_url)
    first, second = add_slot(database_url, consultant), add_slot(database_url, consultant)
    booking = await service.book(command(first))
    assert stored_sequence(database_url, booking.id) == 1  # written by the booking's own INSERT
    await service.reschedule(booking.id, ALICE, second)
    await admin.confirm(booking.id, STAFF)
    await service.cancel(booking.id, ALICE, "Moving house")
    assert published(database_url, booking.id) == [
        ("booking.created", 1), ("booking.rescheduled", 2), ("booking.confirmed", 3), ("booking.cancelled", 4),
    ]  # fmt: skip
    assert stored_sequence(database_url, booking.id) == 4


async def test_racing_changes_of_one_booking_number_their_events_without_gaps_or_repeats(service, admin, database_url):
    consultant = add_consultant(database_url)
    booking = await service.book(command(add_slot(database_url, consultant)))
    changes = [admin.confirm(booking.id, STAFF), service.cancel(booking.id, ALICE, "changed my mind"),
               admin.cancel_on_behalf(booking.id, STAFF, "consultant ill"), admin.confirm(booking.id, STAFF)] * 3  # fmt: skip
    results = await asyncio.gather(*changes, return_exceptions=True)
    assert all(isinstance(r, DomainError) for r in results if isinstance(r, Exception)), results
    numbers = [sequence for _, sequence in published(database_url, booking.id)]
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) >= 2
    assert stored_sequence(database_url, booking.id) == numbers[-1]
