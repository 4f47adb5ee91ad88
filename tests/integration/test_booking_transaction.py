"""The booking transaction against the real PostgreSQL and Valkey: no double booking, whatever races."""
from __future__ import annotations

import asyncio
import math
import uuid
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import psycopg
import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import create_async_engine

from appointment_svc.adapters.cache import AvailabilityCache
from appointment_svc.adapters.slot_lock import RedisSlotLock
from appointment_svc.domain.errors import (
    BookingAlreadyCancelled,
    Forbidden,
    RateLimitExceeded,
    RequestIdConflict,
    SlotInPast,
    SlotNotFound,
    SlotUnavailable,
)
from appointment_svc.domain.model import AppointmentType, BookingStatus, BookSlot, london_date, london_day_bounds
from appointment_svc.domain.validation import Contact
from appointment_svc.service_layer.booking import BookingService
from mesh_common.auth import Principal, Role
from mesh_common.config import sqlalchemy_url
from tests.integration.booking_fixtures import (
    active_bookings,
    add_consultant,
    add_slot,
    outbox_subjects,
    reference_counter,
    set_reference_counter,
    units_of_work,
)
from tests.polling import eventually


def command(slot_id, user="alice", request_id=None, **contact_overrides) -> BookSlot:
    contact = Contact("Jane", "Doe", "jane@example.com", "07700900123", "SW1A 1AA", "1 High Street")
    return BookSlot(
        user_id=user,
        type=AppointmentType.SHOWROOM_VISIT,
        for_kitchen=True,
        for_bedroom=True,
        contact=replace(contact, **contact_overrides),
        slot_id=slot_id,
        request_id=request_id,
    )


@pytest.fixture
def slot(database_url):
    return add_slot(database_url, add_consultant(database_url))


async def test_booking_a_free_slot_creates_a_pending_booking_with_its_event(service, database_url, slot):
    booking = await service.book(command(slot))
    assert booking.status is BookingStatus.PENDING
    assert booking.reference_code.startswith("BK-") and len(booking.reference_code) == 16
    assert active_bookings(database_url, slot) == 1
    assert outbox_subjects(database_url) == ["booking.created"]


async def test_reference_codes_are_a_per_day_sequence(service, database_url):
    consultant = add_consultant(database_url)
    codes = [(await service.book(command(add_slot(database_url, consultant)))).reference_code for _ in range(3)]
    assert [int(c[-4:]) for c in codes] == [1, 2, 3]


async def test_fifty_racers_for_one_slot_get_exactly_one_booking(service, database_url, slot):
    results = await asyncio.gather(*(service.book(command(slot, user=f"u{i}")) for i in range(50)), return_exceptions=True)
    winners = [r for r in results if not isinstance(r, Exception)]
    assert len(winners) == 1
    assert all(isinstance(r, SlotUnavailable) for r in results if isinstance(r, Exception))
    assert active_bookings(database_url, slot) == 1
    assert outbox_subjects(database_url) == ["booking.created"]


async def test_without_redis_racers_still_get_exactly_one_booking(database_url, slot):
    engine = create_async_engine(sqlalchemy_url(database_url), pool_size=60)
    dead_redis = Redis.from_url("redis://127.0.0.1:9/0", socket_timeout=0.2, socket_connect_timeout=0.2)
    service = BookingService(units_of_work(engine, AvailabilityCache(dead_redis), RedisSlotLock(dead_redis)), RedisSlotLock(dead_redis))
    try:
        results = await asyncio.gather(*(service.book(command(slot, user=f"u{i}")) for i in range(50)), return_exceptions=True)
    finally:
        await engine.dispose()
    assert sum(not isinstance(r, Exception) for r in results) == 1
    assert all(isinstance(r, SlotUnavailable) for r in results if isinstance(r, Exception))
    assert active_bookings(database_url, slot) == 1


async def test_a_lock_that_expires_mid_transaction_still_cannot_double_book(database_url, redis_url, slot):
    """Hold the slot row from outside; while each lock holder waits for it, its lease expires and
    the next racer takes a fresh one. Then let them all go: PostgreSQL alone decides."""
    engine = create_async_engine(sqlalchemy_url(database_url), pool_size=30)
    redis = Redis.from_url(redis_url)
    service = BookingService(units_of_work(engine, AvailabilityCache(redis), RedisSlotLock(redis)), RedisSlotLock(redis))
    blocker = await psycopg.AsyncConnection.connect(database_url)
    watcher = await psycopg.AsyncConnection.connect(database_url, autocommit=True)
    racers = []
    try:
        await blocker.execute("SELECT 1 FROM time_slots WHERE id = %s FOR UPDATE", (slot,))
        for i in range(5):
            # Each its own mailbox, so every holder waits for the slot row, not for another's email lock.
            racers.append(asyncio.create_task(service.book(command(slot, user=f"u{i}", email=f"u{i}@example.com"))))
            await eventually(lambda: transactions_waiting_for_a_lock(watcher, len(racers)), message=f"{len(racers)} waiting")
            assert await redis.delete(RedisSlotLock.key(slot)) == 1  # the injected fault: the holder's lease expires
        await blocker.rollback()
        results = await asyncio.gather(*racers, return_exceptions=True)
    finally:
        await blocker.close()
        await watcher.close()
        await redis.aclose()
        await engine.dispose()
    assert sum(not isinstance(r, Exception) for r in results) == 1
    assert all(isinstance(r, SlotUnavailable) for r in results if isinstance(r, Exception))
    assert active_bookings(database_url, slot) == 1


async def transactions_waiting_for_a_lock(watcher: psycopg.AsyncConnection, count: int) -> bool:
    cursor = await watcher.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    return (await cursor.fetchone())[0] >= count


async def test_the_lock_is_released_on_success_and_on_failure(service, redis_url, database_url, slot):
    redis = Redis.from_url(redis_url)
    try:
        await service.book(command(slot))
        with pytest.raises(SlotUnavailable):
            await service.book(command(slot, user="bob"))
        assert await redis.exists(RedisSlotLock.key(slot)) == 0
    finally:
        await redis.aclose()


async def test_a_committed_booking_leaves_a_short_lived_mark_that_its_cancellation_removes(service, redis_url, slot):
    from appointment_svc.adapters.slot_lock import BOOKED_MARK_SECONDS

    redis = Redis.from_url(redis_url)
    try:
        booking = await service.book(command(slot))
        assert 0 < await redis.ttl(RedisSlotLock.booked_key(slot)) <= BOOKED_MARK_SECONDS
        with pytest.raises(SlotUnavailable):
            await service.book(command(slot, user="bob"))
        await service.cancel(booking.id, Principal("alice", Role.CUSTOMER), "")
        assert await redis.exists(RedisSlotLock.booked_key(slot)) == 0
        assert (await service.book(command(slot, user="carol"))).status is BookingStatus.PENDING  # free again, at once
    finally:
        await redis.aclose()


async def test_unknown_slot_is_not_found(service):
    with pytest.raises(SlotNotFound):
        await service.book(command(uuid.uuid4()))


async def test_a_slot_that_has_started_cannot_be_booked(service, database_url):
    past = add_slot(database_url, add_consultant(database_url), starts_at=datetime.now(timezone.utc) - timedelta(minutes=5))
    with pytest.raises(SlotInPast):
        await service.book(command(past))


async def test_a_blocked_slot_is_unavailable(service, database_url):
    blocked = add_slot(database_url, add_consultant(database_url), blocked=True)
    with pytest.raises(SlotUnavailable):
        await service.book(command(blocked))


async def test_retrying_with_the_same_request_id_returns_the_first_booking(service, database_url, slot):
    first = await service.book(command(slot, request_id="req-1"))
    again = await service.book(command(slot, request_id="req-1"))
    assert (again.id, again.reference_code) == (first.id, first.reference_code)
    assert active_bookings(database_url, slot) == 1


async def test_concurrent_retries_of_one_request_make_one_booking(service, database_url, slot):
    results = await asyncio.gather(*(service.book(command(slot, request_id="same")) for _ in range(10)), return_exceptions=True)
    ids = {r.id for r in results if not isinstance(r, Exception)}
    assert len(ids) == 1
    assert active_bookings(database_url, slot) == 1


async def test_a_request_id_reused_for_a_different_request_is_rejected(service, database_url, slot):
    await service.book(command(slot, request_id="req-2"))
    with pytest.raises(RequestIdConflict):
        await service.book(command(slot, request_id="req-2", first_name="Someone"))


async def test_cancelling_frees_the_slot_for_anyone(service, database_url, slot):
    booking = await service.book(command(slot))
    cancelled = await service.cancel(booking.id, Principal("alice", Role.CUSTOMER), "changed my mind")
    assert cancelled.status is BookingStatus.CANCELLED and cancelled.cancel_reason == "changed my mind"
    rebooked = await service.book(command(slot, user="bob"))
    assert rebooked.status is BookingStatus.PENDING
    assert active_bookings(database_url, slot) == 1
    assert outbox_subjects(database_url) == ["booking.created", "booking.cancelled", "booking.created"]


async def test_only_the_owner_can_cancel(service, slot):
    booking = await service.book(command(slot))
    with pytest.raises(Forbidden):
        await service.cancel(booking.id, Principal("mallory", Role.CUSTOMER), "")


async def test_cancelling_twice_is_a_conflict(service, slot):
    booking = await service.book(command(slot))
    await service.cancel(booking.id, Principal("alice", Role.CUSTOMER), "")
    with pytest.raises(BookingAlreadyCancelled):
        await service.cancel(booking.id, Principal("alice", Role.CUSTOMER), "")


async def test_a_cancel_racing_rebooks_never_leaves_two_active_bookings(service, database_url, slot):
    booking = await service.book(command(slot))
    outcomes = await asyncio.gather(
        service.cancel(booking.id, Principal("alice", Role.CUSTOMER), "race"),
        *(service.book(command(slot, user=f"r{i}")) for i in range(20)),
        return_exceptions=True,
    )
    assert not isinstance(outcomes[0], Exception)
    assert active_bookings(database_url, slot) <= 1
    with psycopg.connect(database_url) as connection:
        booked = connection.execute("SELECT is_booked FROM time_slots WHERE id = %s", (slot,)).fetchone()[0]
    assert booked == (active_bookings(database_url, slot) == 1)


@pytest.fixture
async def redis(redis_url):
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def a_crashed_holders_lock(redis, slot_id, token: str = "token-of-a-sigkilled-replica") -> None:
    """What a replica SIGKILLed mid-booking leaves behind (Valkey's append-only file keeps it across restarts)."""
    await redis.set(RedisSlotLock.key(slot_id), token, ex=30)


async def test_a_slot_lock_that_outlived_its_holder_does_not_refuse_a_free_slot_and_is_removed(service, database_url, redis, slot):
    await a_crashed_holders_lock(redis, slot)
    booking = await service.book(command(slot))
    assert booking.status is BookingStatus.PENDING
    assert await redis.exists(RedisSlotLock.key(slot)) == 0
    assert active_bookings(database_url, slot) == 1


async def test_a_held_lock_on_a_slot_row_locked_by_an_open_transaction_is_still_409(service, database_url, redis, slot):
    await a_crashed_holders_lock(redis, slot, "token-of-a-live-holder")
    holder = await psycopg.AsyncConnection.connect(database_url)
    try:
        await holder.execute("SELECT 1 FROM time_slots WHERE id = %s FOR UPDATE", (slot,))
        with pytest.raises(SlotUnavailable):
            await service.book(command(slot))
        assert await redis.get(RedisSlotLock.key(slot)) == b"token-of-a-live-holder"
    finally:
        await holder.rollback()
        await holder.close()
    assert active_bookings(database_url, slot) == 0


async def test_thirty_racers_for_a_slot_with_a_stale_lock_get_exactly_one_booking(service, database_url, redis, slot):
    await a_crashed_holders_lock(redis, slot)
    results = await asyncio.gather(*(service.book(command(slot, user=f"u{i}")) for i in range(30)), return_exceptions=True)
    assert sum(not isinstance(r, Exception) for r in results) == 1
    assert all(isinstance(r, SlotUnavailable) for r in results if isinstance(r, Exception))
    assert active_bookings(database_url, slot) == 1
    assert outbox_subjects(database_url) == ["booking.created"]


async def test_after_9999_bookings_in_a_london_day_the_next_is_refused_until_midnight_and_writes_nothing(database_url, redis, slot):
    now = datetime.now(timezone.utc)
    today, (_, midnight) = london_date(now), london_day_bounds(london_date(now))
    set_reference_counter(database_url, today, 9999)
    engine = create_async_engine(sqlalchemy_url(database_url))
    try:
        def service_at(instant):
            return BookingService(units_of_work(engine, AvailabilityCache(redis), RedisSlotLock(redis)), RedisSlotLock(redis), clock=lambda: instant)

        with pytest.raises(RateLimitExceeded) as refused:
            await service_at(now).book(command(slot))
        assert refused.value.retry_after_seconds == math.ceil((midnight - now).total_seconds())
        assert "after midnight" in refused.value.message
        assert reference_counter(database_url, today) == 9999
        assert active_bookings(database_url, slot) == 0 and outbox_subjects(database_url) == []
        assert await redis.exists(RedisSlotLock.key(slot)) == 0

        tomorrow = await service_at(midnight + timedelta(minutes=1)).book(command(slot))
    finally:
        await engine.dispose()
    assert tomorrow.reference_code == f"BK-{london_date(midnight):%Y%m%d}-0001"
