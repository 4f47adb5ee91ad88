"""Issue 9 against the real PostgreSQL: per-customer booking and per-address email limits hold
under concurrency and without Redis, and a refused request writes nothing."""
from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace

import psycopg
import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import create_async_engine

from appointment_svc.adapters.cache import AvailabilityCache
from appointment_svc.adapters.slot_lock import RedisSlotLock
from appointment_svc.domain.errors import BookingLimitReached, RateLimitExceeded
from appointment_svc.domain.limits import BookingLimits
from appointment_svc.domain.model import AppointmentType, BookSlot
from appointment_svc.domain.validation import Contact
from appointment_svc.service_layer.admin import AdminService
from appointment_svc.service_layer.booking import BookingService
from booking_mesh.embedded.ports import free_port
from mesh_common.auth import Principal, Role
from mesh_common.config import sqlalchemy_url
from tests.integration.booking_fixtures import add_consultant, add_slot, units_of_work

LIMITS = BookingLimits(max_active_bookings=3, max_emails_per_day=10)
STAFF = Principal("staff-1", Role.ADMIN)


def command(slot_id, user: str, email: str = "jane@example.com") -> BookSlot:
    return BookSlot(
        user_id=user, type=AppointmentType.SHOWROOM_VISIT, for_kitchen=True, for_bedroom=False,
        contact=Contact("Jane", "Doe", email, "07700900123", "SW1A 1AA", "1 High Street"), slot_id=slot_id,
    )  # fmt: skip


@pytest.fixture(params=["redis up", "redis down"])
async def services(request, database_url, redis_url):
    # Nothing listens on a fresh free port: every Redis call fails, as when Valkey is down.
    url = redis_url if request.param == "redis up" else f"redis://127.0.0.1:{free_port()}/0"
    engine = create_async_engine(sqlalchemy_url(database_url), pool_size=40, max_overflow=10)
    redis = Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
    uow = units_of_work(engine, AvailabilityCache(redis), RedisSlotLock(redis))
    yield BookingService(uow, RedisSlotLock(redis), limits=LIMITS), AdminService(uow, limits=LIMITS)
    await redis.aclose()
    await engine.dispose()


def count(database_url: str, sql: str, *params) -> int:
    with psycopg.connect(database_url) as connection:
        return connection.execute(sql, params).fetchone()[0]


def slots(database_url: str, n: int) -> list[uuid.UUID]:
    consultant = add_consultant(database_url)
    return [add_slot(database_url, consultant) for _ in range(n)]


async def test_twenty_concurrent_bookings_by_one_customer_make_at_most_three(services, database_url):
    bookings, _ = services
    results = await asyncio.gather(
        *(bookings.book(command(s, "greedy", f"g{i}@example.com")) for i, s in enumerate(slots(database_url, 20))),
        return_exceptions=True,
    )
    assert sum(not isinstance(r, Exception) for r in results) == 3
    assert all(isinstance(r, BookingLimitReached) for r in results if isinstance(r, Exception))
    active = "SELECT count(*) FROM bookings WHERE user_id = %s AND status IN ('PENDING','CONFIRMED')"
    assert count(database_url, active, "greedy") == 3
    assert count(database_url, "SELECT count(*) FROM outbox WHERE subject = 'booking.created'") == 3


async def test_a_cancelled_booking_frees_a_place_for_the_customer(services, database_url):
    bookings, _ = services
    first, second, third, fourth = slots(database_url, 4)
    made = [await bookings.book(command(s, "carol")) for s in (first, second, third)]
    with pytest.raises(BookingLimitReached, match="cancel one"):
        await bookings.book(command(fourth, "carol"))
    await bookings.cancel(made[0].id, Principal("carol", Role.CUSTOMER), "")
    await bookings.book(command(fourth, "carol"))


async def test_concurrent_bookings_to_one_mailbox_keep_room_for_every_cancellation_notice(services, database_url):
    bookings, _ = services
    name = f"victim{uuid.uuid4().hex[:6]}"
    spellings = [f"{name}+{i}@gmail.com" if i % 2 else f"{name[:2]}.{name[2:]}@googlemail.com" for i in range(25)]
    results = await asyncio.gather(
        *(bookings.book(command(s, f"attacker-{i}", spellings[i])) for i, s in enumerate(slots(database_url, 25))),
        return_exceptions=True,
    )
    refused = [r for r in results if isinstance(r, Exception)]
    # Each booking sends a confirmation and may still send a cancellation notice: five fill ten.
    assert len(results) - len(refused) == 5
    assert all(isinstance(r, RateLimitExceeded) and 1 <= r.retry_after_seconds <= 24 * 3600 for r in refused)
    assert count(database_url, "SELECT count(*) FROM booking_emails WHERE recipient = %s", f"{name}@gmail.com") == 5
    assert count(database_url, "SELECT count(*) FROM outbox WHERE subject = 'booking.created'") == 5
    assert count(database_url, "SELECT count(*) FROM bookings WHERE recipient = %s", f"{name}@gmail.com") == 5


async def test_booking_and_cancelling_in_a_loop_stops_at_ten_emails_and_cancelling_always_works(services, database_url):
    bookings, _ = services
    email = f"loop-{uuid.uuid4().hex[:6]}@example.com"
    looper = Principal("looper", Role.CUSTOMER)
    kept = await bookings.book(command(add_slot(database_url, add_consultant(database_url)), "looper", email))
    for _ in range(4):  # book and cancel: two emails a round, nine with the one kept
        made = await bookings.book(command(add_slot(database_url, add_consultant(database_url)), "looper", email))
        await bookings.cancel(made.id, looper, "")
    assert count(database_url, "SELECT count(*) FROM booking_emails") == 9
    outbox_before = count(database_url, "SELECT count(*) FROM outbox")
    with pytest.raises(RateLimitExceeded):
        await bookings.book(command(add_slot(database_url, add_consultant(database_url)), "looper", email))
    assert count(database_url, "SELECT count(*) FROM outbox") == outbox_before  # the refusal wrote nothing
    await bookings.cancel(kept.id, looper, "changed my mind")  # the notice it was promised
    assert count(database_url, "SELECT count(*) FROM booking_emails") == 10
    assert count(database_url, "SELECT count(*) FROM bookings WHERE id = %s AND status = 'CANCELLED'", kept.id) == 1


async def test_staff_actions_past_the_limit_still_happen_and_are_counted(services, database_url):
    bookings, admin = services
    email = f"busy-{uuid.uuid4().hex[:6]}@example.com"
    made = [await bookings.book(command(s, f"household-{i}", email)) for i, s in enumerate(slots(database_url, 5))]
    await admin.confirm(made[0].id, STAFF)
    await admin.cancel_on_behalf(made[1].id, STAFF, "designer ill")
    assert count(database_url, "SELECT count(*) FROM booking_emails WHERE kind <> 'booking-confirmation'") == 2
    assert count(database_url, "SELECT count(*) FROM outbox WHERE subject IN ('booking.confirmed','booking.cancelled')") == 2


async def test_emails_older_than_a_day_no_longer_count(services, database_url):
    bookings, _ = services
    email = f"patient-{uuid.uuid4().hex[:6]}@example.com"
    for i, s in enumerate(slots(database_url, 5)):
        await bookings.book(command(s, f"p-{i}", email))
    with pytest.raises(RateLimitExceeded):
        await bookings.book(command(add_slot(database_url, add_consultant(database_url)), "p-early", email))
    with psycopg.connect(database_url) as connection:
        connection.execute("UPDATE booking_emails SET sent_at = sent_at - interval '24 hours 1 minute'")
    await bookings.book(command(add_slot(database_url, add_consultant(database_url)), "p-late", email))
    # The expired rows of that address were pruned when the new one was written.
    assert count(database_url, "SELECT count(*) FROM booking_emails") == 1


async def test_a_retried_request_is_answered_even_when_the_customer_is_at_the_limit(services, database_url):
    bookings, _ = services
    first, second, third = slots(database_url, 3)
    await bookings.book(command(first, "dora"))
    await bookings.book(command(second, "dora"))
    retried = replace(command(third, "dora"), request_id="tap-twice")
    results = await asyncio.gather(*(bookings.book(retried) for _ in range(5)), return_exceptions=True)
    assert {r.id for r in results} == {results[0].id}, results
