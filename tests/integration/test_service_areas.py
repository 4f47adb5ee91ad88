"""Service areas of home visits against the real PostgreSQL and Valkey: the repository, the booking
transaction's check, and the postcode-filtered availability cache and its invalidation."""

from __future__ import annotations

from datetime import date, datetime, time, timezone

import psycopg
import pytest

from appointment_svc.adapters.cache import AvailabilityCache, area_index_key, cache_key
from appointment_svc.adapters.redis_breaker import RedisBreaker
from appointment_svc.adapters.slot_lock import RedisSlotLock
from appointment_svc.adapters.slots import SqlSlotReader
from appointment_svc.domain.errors import OutsideServiceArea
from appointment_svc.domain.model import LONDON, AppointmentType, AvailabilityQuery, BookSlot, Category
from appointment_svc.domain.staff import NewConsultant
from appointment_svc.domain.validation import Contact
from appointment_svc.service_layer.availability import AvailabilityService
from appointment_svc.service_layer.booking import BookingService
from tests.grids import decode_ids, encode_ids
from tests.integration.booking_fixtures import active_bookings, add_consultant, add_slot
from tests.integration.conftest import FAR_HORIZON

HOME = AppointmentType.HOME_MEASUREMENT
DAY = date(2031, 9, 16)  # no other test of this layer uses it


@pytest.fixture
def bookings(uow, redis) -> BookingService:
    return BookingService(uow, RedisSlotLock(redis), limits=FAR_HORIZON)


@pytest.fixture
def availability(engine, redis) -> AvailabilityService:
    # Behind the breaker, as bootstrap wires it: it turns every attribute into a guarded command.
    return AvailabilityService(SqlSlotReader(engine), AvailabilityCache(RedisBreaker(redis)), encode_ids, limits=FAR_HORIZON)


def at(hour: int) -> datetime:
    return datetime.combine(DAY, time(hour), tzinfo=LONDON).astimezone(timezone.utc)


def home_visit(slot_id, postcode: str, user: str = "alice") -> BookSlot:
    contact = Contact("Jane", "Doe", f"jane.{slot_id.hex[:12]}@example.com", "07700900123", postcode, "1 High St")
    return BookSlot(user, HOME, True, False, contact, slot_id)


def consultants_in(body: bytes, among: set) -> list:
    return [consultant for _, consultant in decode_ids(body) if consultant in among]


async def test_areas_are_stored_read_back_and_replaced(admin):
    consultant_id = await admin.create_consultant(NewConsultant("Areas A", "https://a.example/a.png", (Category.KITCHEN,), ("SW1", "M")))
    listed = {c.id: c for c in await admin.consultants()}
    assert listed[consultant_id].postcode_areas == ("SW1", "M")
    changed = await admin.set_consultant_areas(consultant_id, ())
    assert changed.postcode_areas == () and changed.name == "Areas A"
    assert {c.id: c for c in await admin.consultants()}[consultant_id].postcode_areas == ()


async def test_a_consultant_written_without_areas_gets_the_empty_default(database_url):
    consultant_id = add_consultant(database_url)
    with psycopg.connect(database_url) as connection:
        assert connection.execute("SELECT postcode_areas FROM consultants WHERE id = %s", (consultant_id,)).fetchone() == ([],)


async def test_booking_outside_the_consultants_area_is_refused_in_the_transaction(bookings, database_url):
    slot = add_slot(database_url, add_consultant(database_url, postcode_areas=["M"]), at(9), kind=HOME.value)
    with pytest.raises(OutsideServiceArea):
        await bookings.book(home_visit(slot, "ME1 1AA"))
    assert active_bookings(database_url, slot) == 0
    with psycopg.connect(database_url) as connection:
        assert connection.execute("SELECT is_booked FROM time_slots WHERE id = %s", (slot,)).fetchone() == (False,)
    booked = await bookings.book(home_visit(slot, "M60 1NW"))
    assert booked.slot.consultant.postcode_areas == ("M",)


async def test_the_filtered_grid_keeps_only_the_consultants_who_visit(availability, database_url):
    everywhere, manchester, westminster = (
        add_consultant(database_url), add_consultant(database_url, postcode_areas=["M"]),
        add_consultant(database_url, postcode_areas=["SW1"]),
    )  # fmt: skip
    for hour, consultant in ((10, everywhere), (11, manchester), (12, westminster)):
        add_slot(database_url, consultant, at(hour), kind=HOME.value)
    ours = {everywhere, manchester, westminster}

    async def offered(outward):
        return consultants_in(await availability.list_available(AvailabilityQuery(HOME, DAY, outward_code=outward)), ours)

    assert await offered(None) == [everywhere, manchester, westminster]
    assert await offered("M60") == [everywhere, manchester]
    assert await offered("SW1A") == [everywhere, westminster]
    assert await offered("SW10") == [everywhere]
    assert await offered("M60") == [everywhere, manchester]  # from the cache this time


async def test_a_booking_forgets_the_days_filtered_grids_too(availability, bookings, redis, database_url):
    manchester = add_consultant(database_url, postcode_areas=["M"])
    slot = add_slot(database_url, manchester, at(14), kind=HOME.value)
    in_m1 = AvailabilityQuery(HOME, DAY, outward_code="M1")
    assert manchester in consultants_in(await availability.list_available(in_m1), {manchester})
    assert await redis.exists(cache_key(in_m1)) and await redis.sismember(area_index_key(DAY), cache_key(in_m1))
    await bookings.book(home_visit(slot, "M1 1AE"))
    assert not await redis.exists(cache_key(in_m1), area_index_key(DAY))
    assert manchester not in consultants_in(await availability.list_available(in_m1), {manchester})


async def test_the_index_of_filtered_keys_lives_as_long_as_its_newest_entry(availability, redis):
    query = AvailabilityQuery(HOME, DAY, outward_code="ZE3")
    await availability.list_available(query)
    entry_ttl, index_ttl = await redis.ttl(cache_key(query)), await redis.ttl(area_index_key(DAY))
    assert 0 < entry_ttl <= index_ttl


async def test_new_areas_show_in_the_filtered_grid_at_once(admin, availability, database_url):
    consultant = add_consultant(database_url, postcode_areas=["SW1"])
    add_slot(database_url, consultant, at(16), kind=HOME.value)
    in_m1 = AvailabilityQuery(HOME, DAY, outward_code="M1")
    assert consultants_in(await availability.list_available(in_m1), {consultant}) == []  # now cached
    await admin.set_consultant_areas(consultant, ("M",))
    assert consultants_in(await availability.list_available(in_m1), {consultant}) == [consultant]
