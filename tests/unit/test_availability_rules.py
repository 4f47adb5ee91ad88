from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone

import pytest

from appointment_svc.adapters.cache import cache_key
from appointment_svc.domain.model import (
    AppointmentType,
    AvailabilityQuery,
    Category,
    Consultant,
    Slot,
    available_slots,
    london_day_bounds,
)
from appointment_svc.service_layer.availability import AvailabilityService
from tests.grids import encode_ids, slot_ids
from tests.unit.fakes import FakeCache, FakeDatabase, FakeSlotReader

UTC = timezone.utc
KITCHEN_ONLY = Consultant(uuid.uuid4(), "Amelia", "https://a/1.png", (Category.KITCHEN,))
BEDROOM_ONLY = Consultant(uuid.uuid4(), "Oliver", "https://a/2.png", (Category.BEDROOM,))
BOTH = Consultant(uuid.uuid4(), "Priya", "https://a/3.png", (Category.KITCHEN, Category.BEDROOM))


def slot(starts_at: datetime, consultant=BOTH, kind=AppointmentType.SHOWROOM_VISIT, **flags) -> Slot:
    return Slot(uuid.uuid4(), consultant, kind, starts_at, starts_at + timedelta(hours=1), **flags)


def test_a_winter_london_day_is_the_utc_day():
    assert london_day_bounds(date(2026, 1, 15)) == (
        datetime(2026, 1, 15, 0, 0, tzinfo=UTC),
        datetime(2026, 1, 16, 0, 0, tzinfo=UTC),
    )


def test_a_summer_london_day_starts_at_2300_utc_the_evening_before():
    assert london_day_bounds(date(2026, 7, 1)) == (
        datetime(2026, 6, 30, 23, 0, tzinfo=UTC),
        datetime(2026, 7, 1, 23, 0, tzinfo=UTC),
    )


def test_the_day_the_clocks_go_forward_has_23_hours():
    start, end = london_day_bounds(date(2026, 3, 29))
    assert (start, end - start) == (datetime(2026, 3, 29, 0, 0, tzinfo=UTC), timedelta(hours=23))


def test_the_day_the_clocks_go_back_has_25_hours():
    start, end = london_day_bounds(date(2026, 10, 25))
    assert (start, end - start) == (datetime(2026, 10, 24, 23, 0, tzinfo=UTC), timedelta(hours=25))


@pytest.mark.parametrize(
    ("day", "inside", "outside"),
    [
        # 23:30 UTC on the 28th March is still the 28th in London (GMT); 23:30 UTC on the 29th is the 30th (BST).
        (date(2026, 3, 29), datetime(2026, 3, 29, 22, 30, tzinfo=UTC), datetime(2026, 3, 29, 23, 30, tzinfo=UTC)),
        (date(2026, 10, 25), datetime(2026, 10, 24, 23, 30, tzinfo=UTC), datetime(2026, 10, 24, 22, 30, tzinfo=UTC)),
    ],
)
def test_clock_change_days_include_exactly_their_own_slots(day, inside, outside):
    query = AvailabilityQuery(AppointmentType.SHOWROOM_VISIT, day)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    chosen = available_slots([slot(inside), slot(outside)], query, now)
    assert [s.starts_at for s in chosen] == [inside]


def test_booked_blocked_and_past_slots_are_not_offered():
    now = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
    free = slot(datetime(2026, 5, 4, 13, 0, tzinfo=UTC))
    candidates = [
        free,
        slot(datetime(2026, 5, 4, 14, 0, tzinfo=UTC), is_booked=True),
        slot(datetime(2026, 5, 4, 15, 0, tzinfo=UTC), is_blocked=True),
        slot(datetime(2026, 5, 4, 11, 0, tzinfo=UTC)),
        slot(now),
    ]
    assert available_slots(candidates, AvailabilityQuery(AppointmentType.SHOWROOM_VISIT, date(2026, 5, 4)), now) == [free]


def test_only_the_requested_type_is_offered():
    now = datetime(2026, 5, 1, tzinfo=UTC)
    video = slot(datetime(2026, 5, 4, 13, 0, tzinfo=UTC), kind=AppointmentType.VIDEO_CONSULTATION)
    home = slot(datetime(2026, 5, 4, 9, 0, tzinfo=UTC), kind=AppointmentType.HOME_MEASUREMENT)
    query = AvailabilityQuery(AppointmentType.VIDEO_CONSULTATION, date(2026, 5, 4))
    assert available_slots([home, video], query, now) == [video]


def test_category_keeps_only_consultants_covering_it():
    now = datetime(2026, 5, 1, tzinfo=UTC)
    at = datetime(2026, 5, 4, 13, 0, tzinfo=UTC)
    kitchen, bedroom, both = slot(at, KITCHEN_ONLY), slot(at, BEDROOM_ONLY), slot(at, BOTH)
    query = AvailabilityQuery(AppointmentType.SHOWROOM_VISIT, date(2026, 5, 4), Category.BEDROOM)
    assert {s.consultant.name for s in available_slots([kitchen, bedroom, both], query, now)} == {"Oliver", "Priya"}


def test_slots_are_ordered_by_start():
    now = datetime(2026, 5, 1, tzinfo=UTC)
    late, early = slot(datetime(2026, 5, 4, 15, 0, tzinfo=UTC)), slot(datetime(2026, 5, 4, 9, 0, tzinfo=UTC))
    query = AvailabilityQuery(AppointmentType.SHOWROOM_VISIT, date(2026, 5, 4))
    assert available_slots([late, early], query, now) == [early, late]


def test_cache_key_differs_for_every_filter():
    day = date(2026, 5, 4)
    keys = {
        cache_key(AvailabilityQuery(t, d, c))
        for t in AppointmentType
        for d in (day, day + timedelta(days=1))
        for c in (None, *Category)
    }
    assert len(keys) == len(AppointmentType) * 2 * 3


def availability(slots: list[Slot], clock) -> tuple[AvailabilityService, FakeDatabase]:
    db = FakeDatabase()
    for s in slots:
        db.add_slot(s)
    return AvailabilityService(FakeSlotReader(db), FakeCache(), encode_ids, clock=clock), db


async def test_a_second_read_is_served_from_the_cache():
    now = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
    free = slot(datetime(2026, 5, 4, 13, 0, tzinfo=UTC))
    service, db = availability([free], lambda: now)
    query = AvailabilityQuery(AppointmentType.SHOWROOM_VISIT, date(2026, 5, 4))
    first = await service.list_available(query)
    second = await service.list_available(query)
    assert first == second and slot_ids(first) == [free.id] and db.transactions == 1


async def test_a_cached_slot_that_has_since_started_is_not_offered():
    clock = [datetime(2026, 5, 4, 8, 0, tzinfo=UTC)]
    service, _ = availability([slot(datetime(2026, 5, 4, 9, 0, tzinfo=UTC))], lambda: clock[0])
    query = AvailabilityQuery(AppointmentType.SHOWROOM_VISIT, date(2026, 5, 4))
    assert len(slot_ids(await service.list_available(query))) == 1
    clock[0] = datetime(2026, 5, 4, 9, 0, 1, tzinfo=UTC)
    assert slot_ids(await service.list_available(query)) == []
