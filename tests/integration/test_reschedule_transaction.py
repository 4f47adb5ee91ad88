"""Rescheduling against the real PostgreSQL and Valkey (issue 14): one transaction takes the new slot
with a new booking's guards and frees the old one; races leave one consistent diary."""
from __future__ import annotations

import asyncio
import uuid

import psycopg
import pytest

from appointment_svc.domain.errors import (
    BookingNotFound,
    ChangeWindowClosed,
    Forbidden,
    InvalidStatusTransition,
    SlotUnavailable,
    ValidationFailed,
)
from appointment_svc.domain.model import BookingStatus
from booking.v1 import events_pb2
from mesh_common.auth import Principal, Role
from tests.integration.booking_fixtures import active_bookings, add_consultant, add_slot, outbox_subjects
from tests.integration.test_booking_transaction import command

STAFF = Principal("staff-1", Role.ADMIN)


def owner(user: str) -> Principal:
    return Principal(user, Role.CUSTOMER)


def slot_flags(database_url, *slot_ids) -> list[bool]:
    with psycopg.connect(database_url) as connection:
        return [connection.execute("SELECT is_booked FROM time_slots WHERE id = %s", (s,)).fetchone()[0] for s in slot_ids]


def stored(database_url, booking_id) -> tuple:
    with psycopg.connect(database_url) as connection:
        return connection.execute(
            "SELECT slot_id, status, reschedule_count, slot_starts_at = (SELECT starts_at FROM time_slots WHERE id = slot_id)"
            " FROM bookings WHERE id = %s",
            (booking_id,),
        ).fetchone()


def diary_is_consistent(database_url) -> None:
    """Each slot at most one active booking; every active booking's slot flagged; no other slot flagged."""
    with psycopg.connect(database_url) as connection:
        doubles = connection.execute(
            "SELECT slot_id FROM bookings WHERE status IN ('PENDING','CONFIRMED') GROUP BY slot_id HAVING count(*) > 1"
        ).fetchall()
        unflagged = connection.execute(
            "SELECT b.id FROM bookings b JOIN time_slots s ON s.id = b.slot_id WHERE b.status IN ('PENDING','CONFIRMED') AND NOT s.is_booked"
        ).fetchall()
        orphans = connection.execute(
            "SELECT s.id FROM time_slots s WHERE s.is_booked AND NOT EXISTS"
            " (SELECT 1 FROM bookings b WHERE b.slot_id = s.id AND b.status <> 'CANCELLED')"
        ).fetchall()
    assert (doubles, unflagged, orphans) == ([], [], [])


async def test_a_move_keeps_the_booking_takes_the_new_slot_frees_the_old_and_publishes_one_event(service, database_url):
    consultant = add_consultant(database_url)
    old, new = add_slot(database_url, consultant), add_slot(database_url, consultant)
    booking = await service.book(command(old))
    moved, previous = await service.reschedule(booking.id, owner("alice"), new)
    assert (moved.id, moved.reference_code, moved.status, moved.slot.id, previous.id) == (
        booking.id, booking.reference_code, BookingStatus.PENDING, new, old,
    )
    assert stored(database_url, booking.id) == (new, "PENDING", 1, True)
    assert slot_flags(database_url, old, new) == [False, True]
    assert outbox_subjects(database_url) == ["booking.created", "booking.rescheduled"]
    with psycopg.connect(database_url) as connection:
        payload = connection.execute("SELECT payload FROM outbox WHERE subject = 'booking.rescheduled'").fetchone()[0]
        history = connection.execute(
            "SELECT from_status, to_status, changed_by FROM booking_status_history WHERE booking_id = %s ORDER BY id", (booking.id,)
        ).fetchall()
        kinds = [r[0] for r in connection.execute("SELECT kind FROM booking_emails ORDER BY sent_at")]
    event = events_pb2.BookingRescheduled.FromString(payload)
    assert (event.appointment.slot.slot_id, event.previous_slot.slot_id, event.appointment.reschedule_count) == (str(new), str(old), 1)
    assert event.appointment.reference_code == booking.reference_code and event.rescheduled_by == "alice"
    assert history == [(None, "PENDING", "alice"), ("PENDING", "PENDING", "alice")]
    assert kinds == ["booking-confirmation", "booking-rescheduled"]
    # The old slot is anyone's again.
    await service.book(command(old, user="bob", email="bob@example.com"))
    diary_is_consistent(database_url)


async def test_a_move_onto_a_taken_slot_is_409_and_changes_nothing(service, database_url):
    consultant = add_consultant(database_url)
    mine, theirs = add_slot(database_url, consultant), add_slot(database_url, consultant)
    booking = await service.book(command(mine))
    await service.book(command(theirs, user="bob", email="bob@example.com"))
    with pytest.raises(SlotUnavailable):
        await service.reschedule(booking.id, owner("alice"), theirs)
    assert stored(database_url, booking.id) == (mine, "PENDING", 0, True)
    assert outbox_subjects(database_url) == ["booking.created", "booking.created"]


async def test_the_unique_index_refuses_a_move_the_slot_flag_missed(service, database_url):
    consultant = add_consultant(database_url)
    mine, theirs = add_slot(database_url, consultant), add_slot(database_url, consultant)
    booking = await service.book(command(mine))
    await service.book(command(theirs, user="bob", email="bob@example.com"))
    with psycopg.connect(database_url) as connection:
        connection.execute("UPDATE time_slots SET is_booked = false WHERE id = %s", (theirs,))  # the injected fault
    with pytest.raises(SlotUnavailable):
        await service.reschedule(booking.id, owner("alice"), theirs)
    assert stored(database_url, booking.id) == (mine, "PENDING", 0, True)
    assert slot_flags(database_url, mine, theirs) == [True, False]


async def test_the_new_slot_must_suit_the_booking(service, database_url):
    consultant = add_consultant(database_url)
    booking = await service.book(command(add_slot(database_url, consultant)))
    video = add_slot(database_url, consultant, kind="VIDEO_CONSULTATION")
    kitchen_only = add_slot(database_url, add_consultant(database_url, categories=("KITCHEN",)))  # the booking wants both
    for target in (video, kitchen_only):
        with pytest.raises(ValidationFailed):
            await service.reschedule(booking.id, owner("alice"), target)
    assert slot_flags(database_url, video, kitchen_only) == [False, False]


async def test_who_may_move_what(service, database_url):
    consultant = add_consultant(database_url)
    booking = await service.book(command(add_slot(database_url, consultant)))
    target = add_slot(database_url, consultant)
    with pytest.raises(Forbidden):
        await service.reschedule(booking.id, owner("mallory"), target)
    with pytest.raises(BookingNotFound):
        await service.reschedule(uuid.uuid4(), owner("alice"), target)
    await service.cancel(booking.id, owner("alice"), "")
    with pytest.raises(InvalidStatusTransition):
        await service.reschedule(booking.id, STAFF, target)
    assert slot_flags(database_url, target) == [False]


async def test_inside_the_window_the_customer_is_refused_and_staff_are_not(service, database_url):
    from datetime import datetime, timedelta, timezone

    consultant = add_consultant(database_url)
    soon = add_slot(database_url, consultant, datetime.now(timezone.utc).replace(microsecond=0) + timedelta(hours=3))
    booking = await service.book(command(soon))
    target = add_slot(database_url, consultant)
    with pytest.raises(ChangeWindowClosed):
        await service.reschedule(booking.id, owner("alice"), target)
    with pytest.raises(ChangeWindowClosed):
        await service.cancel(booking.id, owner("alice"), "")
    moved, _ = await service.reschedule(booking.id, STAFF, target)
    assert moved.slot.id == target and slot_flags(database_url, soon, target) == [False, True]


async def test_fifty_bookings_racing_onto_one_slot_leave_exactly_one_moved(service, database_url):
    consultant = add_consultant(database_url)
    target = add_slot(database_url, consultant)
    bookings = [
        await service.book(command(add_slot(database_url, consultant), user=f"u{i}", email=f"u{i}@example.com")) for i in range(50)
    ]
    results = await asyncio.gather(
        *(service.reschedule(b.id, owner(f"u{i}"), target) for i, b in enumerate(bookings)), return_exceptions=True
    )
    winners = [r for r in results if not isinstance(r, Exception)]
    assert len(winners) == 1
    assert all(isinstance(r, SlotUnavailable) for r in results if isinstance(r, Exception)), results
    assert active_bookings(database_url, target) == 1
    for booking, result in zip(bookings, results, strict=True):
        slot, status, count, _ = stored(database_url, booking.id)
        assert (slot, count) == ((target, 1) if not isinstance(result, Exception) else (booking.slot.id, 0))
    assert outbox_subjects(database_url).count("booking.rescheduled") == 1
    diary_is_consistent(database_url)


async def test_a_move_racing_a_cancel_of_the_same_booking_ends_in_one_consistent_state(service, database_url):
    consultant = add_consultant(database_url)
    for _ in range(10):
        old, target = add_slot(database_url, consultant), add_slot(database_url, consultant)
        booking = await service.book(command(old, user="racer", email=f"r{uuid.uuid4().hex[:6]}@example.com"))
        with psycopg.connect(database_url) as connection:
            connection.execute("DELETE FROM outbox")
        moved, cancelled = await asyncio.gather(
            service.reschedule(booking.id, owner("racer"), target), service.cancel(booking.id, owner("racer"), ""),
            return_exceptions=True,
        )
        slot, status, count, _ = stored(database_url, booking.id)
        assert status == "CANCELLED" and not isinstance(cancelled, Exception), cancelled
        if isinstance(moved, Exception):
            # The cancel won: the move saw a cancelled booking and did nothing.
            assert isinstance(moved, InvalidStatusTransition)
            assert (slot, count) == (old, 0) and outbox_subjects(database_url) == ["booking.cancelled"]
        else:
            # The move won, then the cancel gave back the slot it moved to.
            assert (slot, count) == (target, 1)
            assert outbox_subjects(database_url) == ["booking.rescheduled", "booking.cancelled"]
        assert slot_flags(database_url, old, target) == [False, False]
        diary_is_consistent(database_url)
