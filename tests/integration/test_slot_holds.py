"""Slot holds (issue 14) against the real PostgreSQL and Valkey: the database is the guard, and
time (the `expires_at` it stores) decides when a hold ends, whatever Redis does."""
from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import psycopg
import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import create_async_engine

from appointment_svc.adapters.cache import AvailabilityCache, cache_key
from appointment_svc.adapters.slot_lock import RedisSlotLock
from appointment_svc.adapters.slots import SqlSlotReader
from appointment_svc.domain.errors import SlotUnavailable
from appointment_svc.domain.model import AppointmentType, AvailabilityQuery, london_date
from appointment_svc.entrypoints.servicers import slot_in_list_response
from appointment_svc.service_layer.availability import AvailabilityService
from appointment_svc.service_layer.booking import BookingService
from appointment_svc.service_layer.holds import HoldService
from mesh_common.config import sqlalchemy_url
from mesh_common.principal import Principal, Role
from tests.integration.booking_fixtures import (
    active_bookings,
    add_consultant,
    add_slot,
    each_slot_has_at_most_one_booking_or_hold,
    live_holds,
    units_of_work,
)
from tests.integration.test_booking_transaction import command, transactions_waiting_for_a_lock
from tests.polling import eventually


def customer(name: str) -> Principal:
    return Principal(name, Role.CUSTOMER)


class Clock:
    """Wall time moved by `offset`: the services' idea of now, the rows they store are real."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset


@pytest.fixture
async def world(database_url, redis_url):
    engine = create_async_engine(sqlalchemy_url(database_url), pool_size=60, max_overflow=10)
    redis = Redis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
    cache = AvailabilityCache(redis)
    uow, clock = units_of_work(engine, cache, RedisSlotLock(redis)), Clock()
    yield {
        "holds": HoldService(uow, clock=clock, seconds=300),
        "bookings": BookingService(uow, RedisSlotLock(redis), clock=clock),
        "grid": AvailabilityService(SqlSlotReader(engine), cache, slot_in_list_response, clock=clock),
        "uow": uow,
        "cache": cache,
        "redis": redis,
        "clock": clock,
    }
    await redis.aclose()
    await engine.dispose()


@pytest.fixture
def slot(database_url):
    return add_slot(database_url, add_consultant(database_url))


def slot_start(database_url: str, slot_id) -> datetime:
    with psycopg.connect(database_url) as connection:
        return connection.execute("SELECT starts_at FROM time_slots WHERE id = %s", (slot_id,)).fetchone()[0]


async def test_fifty_customers_holding_one_slot_get_exactly_one_hold(world, database_url, slot):
    results = await asyncio.gather(*(world["holds"].hold(slot, customer(f"u{i}")) for i in range(50)), return_exceptions=True)
    winners = [r for r in results if not isinstance(r, Exception)]
    assert len(winners) == 1
    assert all(isinstance(r, SlotUnavailable) for r in results if isinstance(r, Exception))
    assert live_holds(database_url, slot) == 1 and each_slot_has_at_most_one_booking_or_hold(database_url)


async def test_a_hold_racing_bookings_by_others_leaves_one_winner(world, database_url):
    consultant = add_consultant(database_url)
    for round_ in range(5):
        slot = add_slot(database_url, consultant)
        racers = [world["holds"].hold(slot, customer("holder"))]
        racers += [world["bookings"].book(command(slot, user=f"b{round_}.{i}", email=f"b{round_}.{i}@example.com")) for i in range(5)]
        results = await asyncio.gather(*racers, return_exceptions=True)
        assert sum(not isinstance(r, Exception) for r in results) == 1, results
        assert all(isinstance(r, SlotUnavailable) for r in results if isinstance(r, Exception))
        assert active_bookings(database_url, slot) + live_holds(database_url, slot) == 1
    assert each_slot_has_at_most_one_booking_or_hold(database_url)


async def test_a_booking_waiting_for_the_slot_row_sees_the_hold_committed_meanwhile(world, database_url, slot):
    """A statement that waited for a row lock still sees other tables as they were when it began:
    the booking must read the hold after the lock, or it would book a slot just held."""
    blocker = await psycopg.AsyncConnection.connect(database_url)
    watcher = await psycopg.AsyncConnection.connect(database_url, autocommit=True)
    try:
        await blocker.execute("SELECT 1 FROM time_slots WHERE id = %s FOR UPDATE", (slot,))
        booking = asyncio.create_task(world["bookings"].book(command(slot, user="rival")))
        await eventually(lambda: transactions_waiting_for_a_lock(watcher, 1), message="the booking waits for the row")
        await blocker.execute(
            "INSERT INTO slot_holds (id, slot_id, user_id, expires_at) VALUES (%s, %s, 'holder', now() + interval '5 minutes')",
            (uuid.uuid4(), slot),
        )
        await blocker.commit()
        with pytest.raises(SlotUnavailable):
            await booking
    finally:
        await blocker.close()
        await watcher.close()
    assert active_bookings(database_url, slot) == 0 and live_holds(database_url, slot) == 1


async def test_the_holders_booking_uses_the_hold_and_someone_elses_is_refused(world, database_url, slot):
    hold = await world["holds"].hold(slot, customer("alice"))
    with pytest.raises(SlotUnavailable):
        await world["bookings"].book(command(slot, user="bob", email="bob@example.com"))
    await world["bookings"].book(replace(command(slot, user="alice"), hold_id=hold.id))
    assert active_bookings(database_url, slot) == 1 and live_holds(database_url, slot) == 0


async def test_a_hold_ends_at_its_stored_time_without_redis(database_url, slot):
    """Nothing about a hold lives in Redis: with Redis unreachable it is taken, kept and ends on time."""
    engine = create_async_engine(sqlalchemy_url(database_url), pool_size=10)
    dead = Redis.from_url("redis://127.0.0.1:9/0", socket_timeout=0.2, socket_connect_timeout=0.2)
    uow, clock = units_of_work(engine, AvailabilityCache(dead), RedisSlotLock(dead)), Clock()
    holds = HoldService(uow, clock=clock, seconds=60)
    bookings = BookingService(uow, RedisSlotLock(dead), clock=clock)
    try:
        hold = await holds.hold(slot, customer("alice"))
        with pytest.raises(SlotUnavailable):
            await bookings.book(command(slot, user="bob", email="bob@example.com"))
        clock.offset = timedelta(seconds=61)
        with pytest.raises(SlotUnavailable):  # the holder's booking under the hold that ended
            await bookings.book(replace(command(slot, user="alice"), hold_id=hold.id))
        await bookings.book(command(slot, user="bob", email="bob@example.com"))
    finally:
        await dead.aclose()
        await engine.dispose()
    assert active_bookings(database_url, slot) == 1


async def test_a_hold_ending_while_its_holder_books_never_gives_two_bookings(world, database_url):
    """The holder books just inside the hold, a rival just after it: one of them, never both."""
    consultant = add_consultant(database_url)
    for round_ in range(5):
        slot = add_slot(database_url, consultant)
        alice, bob = f"alice{round_}", f"bob{round_}"
        hold = await world["holds"].hold(slot, customer(alice))
        lock = RedisSlotLock(world["redis"])
        ends = hold.expires_at
        inside = BookingService(world["uow"], lock, clock=lambda ends=ends: ends - timedelta(milliseconds=1))
        after = BookingService(world["uow"], lock, clock=lambda ends=ends: ends + timedelta(milliseconds=1))
        results = await asyncio.gather(
            inside.book(replace(command(slot, user=alice, email=f"{alice}@example.com"), hold_id=hold.id)),
            after.book(command(slot, user=bob, email=f"{bob}@example.com")),
            return_exceptions=True,
        )
        assert sum(not isinstance(r, Exception) for r in results) == 1, results
        assert all(isinstance(r, SlotUnavailable) for r in results if isinstance(r, Exception)), results
        assert active_bookings(database_url, slot) == 1
    assert each_slot_has_at_most_one_booking_or_hold(database_url)


async def test_the_grid_hides_a_held_slot_shows_it_on_release_and_its_cache_entry_ends_with_the_hold(world, database_url, slot):
    starts_at = slot_start(database_url, slot)
    query = AvailabilityQuery(AppointmentType.SHOWROOM_VISIT, london_date(starts_at))
    await world["cache"].invalidate_day(query.day)  # other tests share this Valkey

    async def shown() -> bool:
        return str(slot).encode() in await world["grid"].list_available(query)

    assert await shown()
    hold = await world["holds"].hold(slot, customer("alice"))
    assert not await shown()
    ttl_ms = await world["redis"].pttl(cache_key(query))
    assert 0 < ttl_ms <= (hold.expires_at - datetime.now(timezone.utc)).total_seconds() * 1000 + 50
    await world["holds"].release(hold.id, customer("alice"))
    assert await shown()


async def test_the_grid_shows_a_slot_again_once_its_hold_ran_out(world, database_url, slot):
    query = AvailabilityQuery(AppointmentType.SHOWROOM_VISIT, london_date(slot_start(database_url, slot)))
    await world["cache"].invalidate_day(query.day)
    await world["holds"].hold(slot, customer("alice"))
    assert str(slot).encode() not in await world["grid"].list_available(query)
    world["clock"].offset = timedelta(seconds=301)
    await world["cache"].invalidate_day(query.day)  # what the entry's bounded TTL does at the hold's end
    assert str(slot).encode() in await world["grid"].list_available(query)


def test_the_database_refuses_a_second_hold_of_a_slot_or_of_a_customer(database_url):
    consultant = add_consultant(database_url)
    one, two = add_slot(database_url, consultant), add_slot(database_url, consultant)
    insert = "INSERT INTO slot_holds (id, slot_id, user_id, expires_at) VALUES (%s, %s, %s, now() + interval '5 minutes')"
    with psycopg.connect(database_url) as connection:
        connection.execute(insert, (uuid.uuid4(), one, "alice"))
        connection.commit()
        with pytest.raises(psycopg.errors.UniqueViolation, match="slot_holds_slot_id_key"):
            connection.execute(insert, (uuid.uuid4(), one, "bob"))
        connection.rollback()
        with pytest.raises(psycopg.errors.UniqueViolation, match="slot_holds_user_id_key"):
            connection.execute(insert, (uuid.uuid4(), two, "alice"))
