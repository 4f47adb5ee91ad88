"""The reminder scheduler against the real PostgreSQL (issue 15): however many schedulers run at once,
each due booking gets exactly one booking.reminder_due event in the outbox, written with its
history row; cancelled bookings and bookings made inside the lead get none; a moved booking is
reminded of its new time only."""
from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone

import psycopg
import pytest
from redis.asyncio import Redis
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from appointment_svc.adapters.cache import AvailabilityCache
from appointment_svc.adapters.periodic import Job, JobRunner
from appointment_svc.adapters.slot_lock import RedisSlotLock
from appointment_svc.domain.notice import NO_NOTICE
from appointment_svc.domain.reminders import ReminderLead
from appointment_svc.service_layer.booking import BookingService
from appointment_svc.service_layer.reminders import SCHEDULER, ReminderService
from booking.v1 import events_pb2
from mesh_common.auth import Principal, Role
from mesh_common.config import sqlalchemy_url
from tests.integration.booking_fixtures import add_consultant, add_slot, units_of_work
from tests.integration.test_booking_transaction import command

LEAD = ReminderLead(120)
STAFF = Principal("staff-1", Role.ADMIN)
# The tests' slots are a minute long and start BASE + i minutes (i < 60): when the schedulers run
# at DUE, every one of them is due its reminder and none has started.
BASE = datetime.now(timezone.utc).replace(second=0, microsecond=0) + timedelta(hours=3)
DUE = BASE - timedelta(minutes=59)


def soon_slot(database_url, consultant, i: int):
    return add_slot(database_url, consultant, BASE + timedelta(minutes=i), minutes=1)


@pytest.fixture
async def services(database_url, redis_url):
    """A factory of (BookingService, ReminderService) pairs, each on an engine of its own: one per
    replica of the appointment service."""
    made = []

    def make(clock=lambda: datetime.now(timezone.utc), batch_size=100):
        engine = create_async_engine(sqlalchemy_url(database_url), pool_size=5, max_overflow=0)
        redis = Redis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
        made.append((engine, redis))
        uow = units_of_work(engine, AvailabilityCache(redis), RedisSlotLock(redis))
        # No notice window: the tests' customers change bookings hours before they start.
        bookings = BookingService(uow, RedisSlotLock(redis), notice=NO_NOTICE, reminder=LEAD)
        return bookings, ReminderService(uow, clock=clock, batch_size=batch_size)

    yield make
    for engine, redis in made:
        await redis.aclose()
        await engine.dispose()


def reminder_events(database_url) -> list[events_pb2.BookingReminderDue]:
    with psycopg.connect(database_url) as connection:
        rows = connection.execute("SELECT payload FROM outbox WHERE subject = 'booking.reminder_due' ORDER BY created_at").fetchall()
    return [events_pb2.BookingReminderDue.FromString(payload) for (payload,) in rows]


def reminder_history(database_url, booking_id) -> list[tuple]:
    with psycopg.connect(database_url) as connection:
        return connection.execute(
            "SELECT kind, from_status, to_status, changed_by FROM booking_status_history WHERE booking_id = %s ORDER BY id",
            (booking_id,),
        ).fetchall()


async def drain(runner: JobRunner, job: Job) -> int:
    """Passes until one finds nothing due; a failed pass fails the test."""
    total = 0
    while True:
        touched = await runner.run_pass(job)
        assert touched is not None, "a scheduler pass failed"
        if touched == 0:
            return total
        total += touched


async def test_two_schedulers_at_once_queue_exactly_one_reminder_per_due_booking(services, database_url):
    booking, _ = services()
    consultant = add_consultant(database_url)
    due = [
        await booking.book(command(soon_slot(database_url, consultant, i), user=f"u{i}", email=f"u{i}@example.com"))
        for i in range(56)
    ]
    cancelled = await booking.book(command(soon_slot(database_url, consultant, 56), user="c", email="c@example.com"))
    await booking.cancel(cancelled.id, Principal("c", Role.CUSTOMER), "")
    moved = await booking.book(command(soon_slot(database_url, consultant, 57), user="m", email="m@example.com"))
    new_slot = soon_slot(database_url, consultant, 58)
    await booking.reschedule(moved.id, STAFF, new_slot)
    soon = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(minutes=30)
    inside = await booking.book(command(add_slot(database_url, consultant, soon), user="s", email="s@example.com"))

    # Small batches, so the two keep meeting over the same rows for many passes.
    _, first = services(clock=lambda: DUE, batch_size=7)
    _, second = services(clock=lambda: DUE, batch_size=7)
    jobs = [Job("reminders", first.queue_due, 0.01, batch_size=7), Job("reminders", second.queue_due, 0.01, batch_size=7)]
    runners = [JobRunner([job]) for job in jobs]
    counts = await asyncio.wait_for(asyncio.gather(drain(runners[0], jobs[0]), drain(runners[1], jobs[1])), 60)

    events = reminder_events(database_url)
    per_booking = Counter(e.appointment.booking_id for e in events)
    expected = {str(b.id) for b in due} | {str(moved.id)}
    assert sum(counts) == len(events) == len(expected)
    assert set(per_booking) == expected and set(per_booking.values()) == {1}
    assert all(counts), f"one scheduler did all the work: {counts}"
    (moved_event,) = [e for e in events if e.appointment.booking_id == str(moved.id)]
    assert moved_event.appointment.slot.slot_id == str(new_slot) and moved_event.appointment.reschedule_count == 1
    assert ("REMINDER", "PENDING", "PENDING", SCHEDULER) in reminder_history(database_url, due[0].id)
    for none_due in (cancelled, inside):
        assert str(none_due.id) not in per_booking
        assert all(kind != "REMINDER" for kind, *_ in reminder_history(database_url, none_due.id))
    with psycopg.connect(database_url) as connection:
        left, sent, emails = connection.execute(
            "SELECT count(*) FILTER (WHERE reminder_due_at IS NOT NULL AND status <> 'CANCELLED'), count(reminder_sent_at),"
            " (SELECT count(*) FROM booking_emails WHERE kind = 'booking-reminder') FROM bookings"
        ).fetchone()
    assert (left, sent, emails) == (0, len(expected), len(expected))


async def test_a_booking_reminded_then_moved_is_reminded_again_for_its_new_time_only(services, database_url):
    consultant = add_consultant(database_url)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    clock = {"now": now}
    booking, reminders = services(clock=lambda: clock["now"])
    made = await booking.book(command(add_slot(database_url, consultant, now + timedelta(hours=3))))
    assert await reminders.queue_due() == 0  # due only two hours before the start
    clock["now"] = now + timedelta(hours=1, minutes=1)
    assert await reminders.queue_due() == 1
    assert await reminders.queue_due() == 0
    later = add_slot(database_url, consultant, now + timedelta(days=3))
    await booking.reschedule(made.id, STAFF, later)
    assert await reminders.queue_due() == 0
    clock["now"] = now + timedelta(days=3) - timedelta(minutes=119)
    assert await reminders.queue_due() == 1
    first, second = reminder_events(database_url)
    assert (first.appointment.reschedule_count, second.appointment.slot.slot_id) == (0, str(later))
    kinds = [kind for kind, *_ in reminder_history(database_url, made.id)]
    assert kinds == ["STATUS", "REMINDER", "MOVE", "REMINDER"]


async def test_a_reminder_that_fell_due_while_no_scheduler_ran_is_dropped_once_the_appointment_started(services, database_url):
    consultant = add_consultant(database_url)
    booking, _ = services()
    made = await booking.book(command(soon_slot(database_url, consultant, 0)))
    _, late = services(clock=lambda: BASE)
    assert await late.queue_due() == 1
    assert reminder_events(database_url) == []
    assert [kind for kind, *_ in reminder_history(database_url, made.id)] == ["STATUS"]
    with psycopg.connect(database_url) as connection:
        assert connection.execute("SELECT reminder_due_at, reminder_sent_at FROM bookings").fetchall() == [(None, None)]
    assert await late.queue_due() == 0


async def test_a_scheduler_whose_transaction_dies_leaves_its_claims_to_the_next_pass(services, database_url):
    consultant = add_consultant(database_url)
    booking, _ = services()
    made = [
        await booking.book(command(soon_slot(database_url, consultant, i), user=f"k{i}", email=f"k{i}@example.com"))
        for i in range(5)
    ]
    _, reminders = services(clock=lambda: DUE)
    hold = asyncio.Event()
    release = asyncio.Event()
    original = reminders._uow

    class Dying:
        """A unit of work whose connection is killed after the claim, before the commit."""

        def __init__(self):
            self.uow = original()

        async def __aenter__(self):
            inner = await self.uow.__aenter__()
            claim = inner.bookings.claim_due_reminders

            async def claim_then_stall(now, limit):
                claimed = await claim(now, limit)
                hold.set()
                await release.wait()
                return claimed

            inner.bookings.claim_due_reminders = claim_then_stall
            return inner

        async def __aexit__(self, *exc):
            return await self.uow.__aexit__(*exc)

    reminders._uow = Dying
    dying = asyncio.create_task(reminders.queue_due())
    await asyncio.wait_for(hold.wait(), 10)
    # Another replica meanwhile finds every due booking claimed, and skips rather than waits.
    _, rival = services(clock=lambda: DUE)
    assert await asyncio.wait_for(rival.queue_due(), 5) == 0
    with psycopg.connect(database_url, autocommit=True) as connection:
        killed = connection.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'"
        ).fetchone()[0]
    assert killed >= 1
    release.set()
    with pytest.raises(DBAPIError):  # its connection is gone: the claim is rolled back with it
        await asyncio.wait_for(dying, 10)
    assert reminder_events(database_url) == []
    assert await asyncio.wait_for(rival.queue_due(), 5) == len(made)
    assert sorted(e.appointment.booking_id for e in reminder_events(database_url)) == sorted(str(b.id) for b in made)


def test_the_migration_marks_earlier_moves_as_moves_in_the_append_only_history(backing):
    from alembic import command as alembic

    from appointment_svc.adapters.migrate import alembic_config, upgrade_to_head

    database_url = backing["postgres"].create_database(f"migrate_{uuid.uuid4().hex[:10]}")
    alembic.upgrade(alembic_config(database_url), "0008_slot_holds")
    consultant = add_consultant(database_url)
    slot = add_slot(database_url, consultant)
    booking_id = uuid.uuid4()
    with psycopg.connect(database_url) as connection:
        connection.execute(
            "INSERT INTO bookings (id, reference_code, user_id, type, for_kitchen, for_bedroom, first_name, last_name,"
            " email, phone, postcode, address, slot_id, status, slot_starts_at)"
            " VALUES (%s, 'BK-20260101-0001', 'u', 'SHOWROOM_VISIT', true, false, 'J', 'D', 'j@example.com',"
            " '07700900123', 'SW1A 1AA', '1 High St', %s, 'CONFIRMED', now())",
            (booking_id, slot),
        )
        for from_status, to_status in ((None, "PENDING"), ("PENDING", "PENDING"), ("PENDING", "CONFIRMED")):
            connection.execute(
                "INSERT INTO booking_status_history (booking_id, from_status, to_status, changed_by) VALUES (%s, %s, %s, 'u')",
                (booking_id, from_status, to_status),
            )
    upgrade_to_head(database_url)
    assert [kind for kind, *_ in reminder_history(database_url, booking_id)] == ["STATUS", "MOVE", "STATUS"]
    with psycopg.connect(database_url) as connection, pytest.raises(psycopg.errors.RaiseException, match="append-only"):
        connection.execute("UPDATE booking_status_history SET kind = 'REMINDER'")  # still append-only afterwards
    with psycopg.connect(database_url) as connection:
        assert connection.execute("SELECT reminder_due_at FROM bookings").fetchall() == [(None,)]
