"""The availability cache holds the grid encoded: reading it cuts bytes, and still obeys every rule."""
from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timedelta, timezone

from appointment_svc.adapters.cache import AvailabilityCache, cache_key
from appointment_svc.bootstrap import event_handlers
from appointment_svc.domain.model import AppointmentType, AvailabilityQuery, Category, Consultant
from appointment_svc.entrypoints.convert import slot_message
from appointment_svc.entrypoints.servicers import slot_in_list_response
from appointment_svc.service_layer.availability import AvailabilityService, encode_grid
from appointment_svc.service_layer.booking import BookingService
from appointment_svc.service_layer.messagebus import MessageBus
from booking.v1 import appointment_service_pb2 as pb
from tests.grids import encode_ids, slot_ids
from tests.unit.fakes import NOW, FakeCache, FakeDatabase, FakeSlotLock, FakeSlotReader, FakeUnitOfWork, a_booking_form, a_slot

UTC = timezone.utc
DAY = date(2026, 3, 4)
OTHER = Consultant(uuid.uuid4(), "Oliver", "https://a.example/o.png", (Category.KITCHEN,))


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(DAY.year, DAY.month, DAY.day, hour, minute, tzinfo=UTC)  # March: London is on UTC


def a_day_of_slots(db: FakeDatabase):
    return [a_slot(db, at(9)), a_slot(db, at(10)), a_slot(db, at(10), consultant=OTHER), a_slot(db, at(11))]


def service_on(db: FakeDatabase, cache: FakeCache, clock, encode=encode_ids) -> AvailabilityService:
    return AvailabilityService(FakeSlotReader(db), cache, encode, clock=clock)


QUERY = AvailabilityQuery(AppointmentType.SHOWROOM_VISIT, DAY)


async def test_slots_that_started_since_the_grid_was_cached_are_cut_from_the_cached_bytes(db, cache):
    nine, ten, ten_other, eleven = a_day_of_slots(db)
    clock = [at(8)]
    service = service_on(db, cache, lambda: clock[0])
    assert set(slot_ids(await service.list_available(QUERY))) == {nine.id, ten.id, ten_other.id, eleven.id}
    clock[0] = at(9, 30)
    assert slot_ids(await service.list_available(QUERY))[-1] == eleven.id
    assert set(slot_ids(await service.list_available(QUERY))) == {ten.id, ten_other.id, eleven.id}
    clock[0] = at(10)  # a slot starting right now is no longer bookable
    assert slot_ids(await service.list_available(QUERY)) == [eleven.id]
    clock[0] = at(11) + timedelta(microseconds=1)
    assert slot_ids(await service.list_available(QUERY)) == []
    assert db.transactions == 1, "every read after the first was a cache hit"


async def test_a_booked_slot_disappears_from_a_cached_grid(db, cache):
    nine, ten, ten_other, eleven = a_day_of_slots(db)
    service = service_on(db, cache, lambda: NOW)
    assert len(slot_ids(await service.list_available(QUERY))) == 4 and cache.entries
    bookings = BookingService(lambda: FakeUnitOfWork(db, MessageBus(event_handlers(cache, FakeSlotLock()))), FakeSlotLock(), clock=lambda: NOW)
    await bookings.book(a_booking_form(ten))
    assert cache.invalidated == [DAY]
    assert ten.id not in slot_ids(await service.list_available(QUERY))
    assert set(slot_ids(await service.list_available(QUERY))) == {nine.id, ten_other.id, eleven.id}


def test_protobuf_slots_concatenate_into_the_response_and_any_cut_between_them_is_one_too(db):
    slots = sorted(a_day_of_slots(db), key=lambda s: (s.starts_at, s.consultant.name))
    grid = encode_grid(slots, slot_in_list_response)
    assert pb.ListAvailableSlotsResponse.FromString(grid.body) == pb.ListAvailableSlotsResponse(slots=[slot_message(s) for s in slots])
    cut = pb.ListAvailableSlotsResponse.FromString(grid.not_started_at(at(9, 30)))
    assert list(cut.slots) == [slot_message(s) for s in slots[1:]]


class DictRedis:
    def __init__(self) -> None:
        self.values: dict[str, bytes] = {}

    async def get(self, key: str) -> bytes | None:
        return self.values.get(key)

    async def set(self, key: str, value: bytes, **lifetime) -> None:
        self.values[key] = value

    def register_script(self, script: str):
        async def not_run_by_these_tests(keys, args):
            raise AssertionError("only postcode-filtered entries use the script (tests/integration/test_service_areas.py)")

        return not_run_by_these_tests


async def test_the_cache_stores_and_restores_a_grid_exactly(db):
    grid = encode_grid(a_day_of_slots(db), slot_in_list_response)
    cache = AvailabilityCache(DictRedis())
    await cache.put(QUERY, grid)
    restored = await cache.get(QUERY)
    assert (restored.body, list(restored.starts), list(restored.offsets)) == (grid.body, list(grid.starts), list(grid.offsets))


async def test_an_entry_in_an_older_releases_format_reads_as_a_miss():
    redis = DictRedis()
    redis.values[cache_key(QUERY)] = json.dumps([]).encode()
    assert await AvailabilityCache(redis).get(QUERY) is None
