"""Slot holds (issue 14): the domain's rules, then HoldService and the booking over the fakes."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from appointment_svc.adapters.cache import AvailabilityCache
from appointment_svc.bootstrap import event_handlers
from appointment_svc.domain.errors import Forbidden, HoldNotFound, SlotInPast, SlotNotFound, SlotUnavailable
from appointment_svc.domain.holds import (
    HOLD_ENDED,
    SlotHold,
    check_hold_for_booking,
    check_holdable,
    check_release,
)
from appointment_svc.domain.model import AppointmentType, AvailabilityQuery, london_date
from appointment_svc.entrypoints.servicers import slot_in_list_response
from appointment_svc.service_layer.availability import AvailabilityService
from appointment_svc.service_layer.booking import BookingService
from appointment_svc.service_layer.holds import HoldService
from appointment_svc.service_layer.messagebus import MessageBus
from appointment_svc.service_layer.ports import EncodedGrid
from tests.clock import ManualClock
from tests.unit.fakes import ALICE, BOB, NOW, FakeSlotLock, FakeSlotReader, FakeUnitOfWork, a_booking_form, a_slot


def a_hold(slot, user: str = "u1", minutes: int = 5) -> SlotHold:
    return SlotHold(uuid.uuid4(), slot.id, user, NOW + timedelta(minutes=minutes), slot.starts_at)


# -- the rules, on values


def test_a_free_slot_may_be_held(db):
    check_holdable(a_slot(db), None, "u1", NOW)


@pytest.mark.parametrize("state", [{"is_booked": True}, {"is_blocked": True}])
def test_a_booked_or_blocked_slot_may_not_be_held(db, state):
    with pytest.raises(SlotUnavailable):
        check_holdable(a_slot(db, **state), None, "u1", NOW)


def test_a_slot_that_has_started_may_not_be_held(db):
    with pytest.raises(SlotInPast):
        check_holdable(a_slot(db, NOW), None, "u1", NOW)


def test_someone_elses_live_hold_refuses_a_hold_but_one_that_ran_out_does_not(db):
    slot = a_slot(db)
    with pytest.raises(SlotUnavailable):
        check_holdable(slot, a_hold(slot, "u2"), "u1", NOW)
    check_holdable(slot, a_hold(slot, "u2", minutes=0), "u1", NOW)  # ends exactly now: over
    check_holdable(slot, a_hold(slot, "u1"), "u1", NOW)


def test_someone_elses_live_hold_refuses_a_booking(db):
    slot = a_slot(db)
    with pytest.raises(SlotUnavailable):
        check_hold_for_booking(a_hold(slot, "u2"), "u1", None, NOW)
    check_hold_for_booking(a_hold(slot, "u2", minutes=-1), "u1", None, NOW)


def test_the_holder_books_with_or_without_naming_the_hold(db):
    slot = a_slot(db)
    hold = a_hold(slot)
    check_hold_for_booking(hold, "u1", hold.id, NOW)
    check_hold_for_booking(hold, "u1", None, NOW)


@pytest.mark.parametrize("case", ["ran out", "no hold", "another hold"])
def test_a_booking_naming_a_hold_that_is_not_live_is_refused_plainly(db, case):
    slot = a_slot(db)
    hold = a_hold(slot, minutes=-1 if case == "ran out" else 5)
    current, named = {"ran out": (hold, hold.id), "no hold": (None, hold.id), "another hold": (hold, uuid.uuid4())}[case]
    with pytest.raises(SlotUnavailable) as refused:
        check_hold_for_booking(current, "u1", named, NOW)
    assert refused.value.message == HOLD_ENDED


def test_only_the_holder_releases_a_hold(db):
    hold = a_hold(a_slot(db))
    assert check_release(hold, "u1") is hold
    with pytest.raises(Forbidden):
        check_release(hold, "u2")
    with pytest.raises(HoldNotFound):
        check_release(None, "u1")


# -- the use cases, over the fakes


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
def bus(cache) -> MessageBus:
    return MessageBus(event_handlers(cache, FakeSlotLock()))


@pytest.fixture
def holds(db, clock, bus) -> HoldService:
    return HoldService(lambda: FakeUnitOfWork(db, bus), clock=clock, seconds=300)


@pytest.fixture
def bookings(db, clock, bus) -> BookingService:
    return BookingService(lambda: FakeUnitOfWork(db, bus), FakeSlotLock(), clock=clock)


async def test_a_hold_lasts_the_configured_time_and_is_stored(holds, db):
    slot = a_slot(db)
    hold = await holds.hold(slot.id, ALICE)
    assert (hold.slot_id, hold.user_id, hold.expires_at) == (slot.id, "u1", NOW + timedelta(seconds=300))
    assert db.tables.holds == {hold.id: hold}


async def test_holding_an_unknown_slot_is_not_found(holds):
    with pytest.raises(SlotNotFound):
        await holds.hold(uuid.uuid4(), ALICE)


async def test_a_second_customer_cannot_hold_a_held_slot_until_the_hold_runs_out(holds, db, clock):
    slot = a_slot(db)
    first = await holds.hold(slot.id, ALICE)
    with pytest.raises(SlotUnavailable):
        await holds.hold(slot.id, BOB)
    clock.now += (timedelta(seconds=300))
    second = await holds.hold(slot.id, BOB)
    assert set(db.tables.holds) == {second.id} and first.id != second.id


async def test_a_new_hold_lets_go_of_the_customers_previous_one(holds, db):
    one, two = a_slot(db), a_slot(db, NOW + timedelta(days=3))
    await holds.hold(one.id, ALICE)
    second = await holds.hold(two.id, ALICE)
    assert list(db.tables.holds.values()) == [second]
    await holds.hold(one.id, BOB)


async def test_holding_the_same_slot_again_answers_the_same_hold_without_extending_it(holds, db, clock):
    slot = a_slot(db)
    first = await holds.hold(slot.id, ALICE)
    clock.now += (timedelta(seconds=100))
    assert await holds.hold(slot.id, ALICE) == first


async def test_only_the_holder_releases_and_then_the_slot_is_free(holds, db):
    slot = a_slot(db)
    hold = await holds.hold(slot.id, ALICE)
    with pytest.raises(Forbidden):
        await holds.release(hold.id, BOB)
    await holds.release(hold.id, ALICE)
    assert db.tables.holds == {}
    with pytest.raises(HoldNotFound):
        await holds.release(hold.id, ALICE)
    await holds.hold(slot.id, BOB)


async def test_the_holders_booking_uses_the_hold_up(holds, bookings, db):
    slot = a_slot(db)
    hold = await holds.hold(slot.id, ALICE)
    await bookings.book(a_booking_form(slot, hold_id=hold.id))
    assert db.tables.holds == {} and len(db.active_bookings_of(slot.id)) == 1


async def test_the_holder_may_book_without_naming_the_hold(holds, bookings, db):
    slot = a_slot(db)
    await holds.hold(slot.id, ALICE)
    await bookings.book(a_booking_form(slot))
    assert db.tables.holds == {}


async def test_someone_elses_booking_of_a_held_slot_is_refused_and_changes_nothing(holds, bookings, db):
    slot = a_slot(db)
    hold = await holds.hold(slot.id, ALICE)
    with pytest.raises(SlotUnavailable):
        await bookings.book(a_booking_form(slot, user="u2"))
    assert db.tables.holds == {hold.id: hold} and db.active_bookings_of(slot.id) == []


async def test_a_booking_under_a_hold_that_ran_out_is_refused_and_the_slot_stays_free(holds, bookings, db, clock):
    slot = a_slot(db)
    hold = await holds.hold(slot.id, ALICE)
    clock.now += (timedelta(seconds=301))
    with pytest.raises(SlotUnavailable):
        await bookings.book(a_booking_form(slot, hold_id=hold.id))
    assert db.active_bookings_of(slot.id) == []
    await bookings.book(a_booking_form(slot, user="u2"))


async def test_a_held_slot_leaves_the_grid_and_the_cache_entry_ends_with_the_hold(holds, db, cache, clock):
    slot = a_slot(db)
    query = AvailabilityQuery(slot.type, london_date(slot.starts_at))
    grid = AvailabilityService(FakeSlotReader(db), cache, slot_in_list_response, clock=clock)
    assert await grid.list_available(query)
    hold = await holds.hold(slot.id, ALICE)
    assert cache.invalidated == [query.day] and await grid.list_available(query) == b""
    assert cache.ttls[query] == 300
    clock.now += (timedelta(seconds=300))
    cache.entries.clear()  # what Redis does once the entry's time is up
    assert await grid.list_available(query) and cache.ttls[query] is None
    await holds.release(hold.id, ALICE)  # ran out: releasing changes no grid
    assert cache.invalidated == [query.day]


class RecordingRedis:
    def __init__(self) -> None:
        self.lifetimes: list[dict] = []

    async def set(self, key: str, value: bytes, **lifetime) -> None:
        self.lifetimes.append(lifetime)

    def register_script(self, script: str):
        return None  # only postcode-filtered entries use a script


async def test_a_cache_entry_lives_no_longer_than_the_first_hold_it_hides_nor_than_the_caches_ttl(db):
    redis = RecordingRedis()
    cache = AvailabilityCache(redis, ttl_seconds=30)
    query = AvailabilityQuery(AppointmentType.SHOWROOM_VISIT, london_date(NOW))
    for ttl in (2.0001, 45, None):
        await cache.put(query, EncodedGrid(b"", [], []), ttl)
    assert redis.lifetimes == [{"px": 2001}, {"px": 30_000}, {"px": 30_000}]
