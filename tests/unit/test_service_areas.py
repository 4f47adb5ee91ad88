"""Home visits only where a consultant goes (issue 14, contract 4): the availability filter, the
booking rule, the admin requests and the cache key. The postcode rules themselves: test_postcodes.py."""
from __future__ import annotations

import copy
import dataclasses
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest
from google.protobuf import json_format

from appointment_svc.adapters.cache import area_index_key, cache_key
from appointment_svc.bootstrap import event_handlers
from appointment_svc.domain.errors import ConsultantNotFound, OutsideServiceArea, ValidationFailed
from appointment_svc.domain.model import (
    AppointmentType,
    AvailabilityQuery,
    Category,
    Consultant,
    Slot,
    available_slots,
    check_service_area,
    london_date,
)
from appointment_svc.domain.staff import NewConsultant
from appointment_svc.entrypoints.admin import consultant_areas, consultant_message, new_consultant
from appointment_svc.entrypoints.convert import availability_query
from appointment_svc.service_layer.admin import AdminService
from appointment_svc.service_layer.availability import AvailabilityService
from appointment_svc.service_layer.booking import BookingService
from appointment_svc.service_layer.messagebus import MessageBus
from booking.v1 import admin_service_pb2 as admin_pb
from booking.v1 import appointment_service_pb2 as appointment_pb
from tests.grids import encode_ids, slot_ids
from tests.unit.fakes import NOW, FakeCache, FakeDatabase, FakeSlotLock, FakeSlotReader, FakeUnitOfWork, a_booking_form, a_slot

UTC = timezone.utc
HOME = AppointmentType.HOME_MEASUREMENT
EVERYWHERE = Consultant(uuid.uuid4(), "Amelia", "https://a/1.png", (Category.KITCHEN,))
MANCHESTER = Consultant(uuid.uuid4(), "Oliver", "https://a/2.png", (Category.KITCHEN,), ("M",))
WESTMINSTER = Consultant(uuid.uuid4(), "Priya", "https://a/3.png", (Category.KITCHEN,), ("SW1", "EC1A"))
DAY = date(2026, 5, 4)


def home_slot(consultant: Consultant, hour: int = 10) -> Slot:
    start = datetime(2026, 5, 4, hour, tzinfo=UTC)
    return Slot(uuid.uuid4(), consultant, HOME, start, start + timedelta(hours=1))


def consultants_offered(outward: str | None, kind=HOME) -> list[str]:
    slots = [home_slot(c, h) for h, c in enumerate((EVERYWHERE, MANCHESTER, WESTMINSTER), start=9)]
    slots = [dataclasses.replace(s, type=kind) for s in slots]
    query = AvailabilityQuery(kind, DAY, outward_code=outward)
    return [s.consultant.name for s in available_slots(slots, query, datetime(2026, 5, 1, tzinfo=UTC))]


@pytest.mark.parametrize(
    "outward, names",
    [
        (None, ["Amelia", "Oliver", "Priya"]),
        ("M1", ["Amelia", "Oliver"]),
        ("M60", ["Amelia", "Oliver"]),
        ("ME1", ["Amelia"]),
        ("SW1A", ["Amelia", "Priya"]),
        ("SW10", ["Amelia"]),
        ("EC1A", ["Amelia", "Priya"]),
        ("EC1M", ["Amelia"]),
        ("GIR", ["Amelia"]),
        ("BFPO", ["Amelia"]),
    ],
)
def test_the_grid_keeps_the_consultants_who_visit_the_outward_code(outward, names):
    assert consultants_offered(outward) == names


@pytest.mark.parametrize("outward", ["M1", "SW10"])
def test_a_consultant_without_areas_visits_everywhere(outward):
    assert "Amelia" in consultants_offered(outward)


@pytest.mark.parametrize(
    "consultant, postcode, refused",
    [
        (EVERYWHERE, "ME1 1AA", False), (MANCHESTER, "M60 1NW", False), (MANCHESTER, "ME1 1AA", True),
        (WESTMINSTER, "SW1P 3BU", False), (WESTMINSTER, "SW10 9XX", True), (WESTMINSTER, "GIR 0AA", True),
        (EVERYWHERE, "BFPO 805", False), (MANCHESTER, "BFPO 805", True),
    ],
)  # fmt: skip
def test_a_home_measurement_is_refused_where_the_consultant_does_not_go(consultant, postcode, refused):
    slot = home_slot(consultant)
    if refused:
        with pytest.raises(OutsideServiceArea):
            check_service_area(slot, HOME, postcode)
    else:
        check_service_area(slot, HOME, postcode)


@pytest.mark.parametrize("kind", [AppointmentType.SHOWROOM_VISIT, AppointmentType.VIDEO_CONSULTATION])
def test_nobody_travels_for_the_other_types_so_the_postcode_does_not_matter(kind):
    check_service_area(dataclasses.replace(home_slot(MANCHESTER), type=kind), kind, "SW10 9XX")


# -- the use cases over fakes


@pytest.fixture
def bookings(db) -> BookingService:
    return BookingService(lambda: FakeUnitOfWork(db), FakeSlotLock(), clock=lambda: NOW)


async def test_booking_outside_the_area_is_refused_and_nothing_is_written(bookings, db):
    slot = a_slot(db, type=HOME, consultant=MANCHESTER)
    before = copy.deepcopy(db.tables)
    with pytest.raises(OutsideServiceArea):
        await bookings.book(a_booking_form(slot, postcode="ME1 1AA"))
    assert db.tables == before and db.commits == 0


async def test_booking_inside_the_area_goes_through(bookings, db):
    slot = a_slot(db, type=HOME, consultant=MANCHESTER)
    booking = await bookings.book(a_booking_form(slot, postcode="M60 1NW"))
    assert booking.slot.id == slot.id


async def test_areas_set_by_staff_apply_to_the_next_booking(bookings, db):
    admin = AdminService(lambda: FakeUnitOfWork(db), clock=lambda: NOW)
    consultant_id = await admin.create_consultant(NewConsultant("Noor", "https://a/n.png", (Category.KITCHEN,), ("SW1",)))
    consultant = db.tables.consultants[consultant_id]
    slot = a_slot(db, type=HOME, consultant=consultant)
    with pytest.raises(OutsideServiceArea):
        await bookings.book(a_booking_form(slot, postcode="M1 1AE"))
    changed = await admin.set_consultant_areas(consultant_id, ("M",))
    assert changed.postcode_areas == ("M",)
    await bookings.book(a_booking_form(slot, postcode="M1 1AE"))


async def test_new_areas_make_the_cache_forget_the_days_of_the_consultants_open_home_visits(db):
    cache = FakeCache()
    admin = AdminService(lambda: FakeUnitOfWork(db, MessageBus(event_handlers(cache, FakeSlotLock()))), clock=lambda: NOW)
    consultant_id = await admin.create_consultant(NewConsultant("Noor", "https://a/n.png", (Category.KITCHEN,)))
    consultant = db.tables.consultants[consultant_id]
    open_visit = a_slot(db, NOW + timedelta(days=3), type=HOME, consultant=consultant)
    a_slot(db, NOW + timedelta(days=5), consultant=consultant)  # a showroom visit: nobody travels
    a_slot(db, NOW + timedelta(days=7), type=HOME, consultant=consultant, is_blocked=True)
    await admin.set_consultant_areas(consultant_id, ("M",))
    assert cache.invalidated == [london_date(open_visit.starts_at)]


async def test_setting_the_areas_of_an_unknown_consultant_is_not_found(db):
    admin = AdminService(lambda: FakeUnitOfWork(db), clock=lambda: NOW)
    with pytest.raises(ConsultantNotFound):
        await admin.set_consultant_areas(uuid.uuid4(), ("M",))


async def test_each_outward_code_has_its_own_cached_grid():
    db = FakeDatabase()
    for consultant in (EVERYWHERE, MANCHESTER):
        db.add_slot(home_slot(consultant, 9 if consultant is EVERYWHERE else 10))
    cache = FakeCache()
    service = AvailabilityService(FakeSlotReader(db), cache, encode_ids, clock=lambda: datetime(2026, 5, 1, tzinfo=UTC))
    in_m1 = await service.list_available(AvailabilityQuery(HOME, DAY, outward_code="M1"))
    in_me1 = await service.list_available(AvailabilityQuery(HOME, DAY, outward_code="ME1"))
    assert len(slot_ids(in_m1)) == 2 and len(slot_ids(in_me1)) == 1
    assert len(cache.entries) == 2


# -- the cache key


def test_the_cache_key_has_the_outward_code_and_the_unfiltered_key_is_unchanged():
    plain = AvailabilityQuery(HOME, DAY)
    assert cache_key(plain) == "slot:availability:HOME_MEASUREMENT:2026-05-04:ANY"
    assert cache_key(AvailabilityQuery(HOME, DAY, outward_code="SW1A")) == "slot:availability:HOME_MEASUREMENT:2026-05-04:ANY:SW1A"
    assert cache_key(AvailabilityQuery(HOME, DAY, outward_code="SW1")) != cache_key(AvailabilityQuery(HOME, DAY, outward_code="SW1A"))
    assert area_index_key(DAY) not in {cache_key(AvailabilityQuery(t, DAY, c)) for t in AppointmentType for c in (None, *Category)}


# -- the requests


def read(json: dict, request_type):
    return json_format.ParseDict(json, request_type())


@pytest.mark.parametrize(
    "postcode, outward",
    [("sw1a1aa", "SW1A"), (" M60 1NW ", "M60"), ("gir0aa", "GIR"), ("bfpo 805", "BFPO"), ("", None), ("  ", None)],
)
def test_availability_takes_the_outward_code_of_a_home_visits_postcode(postcode, outward):
    request = read({"type": "HOME_MEASUREMENT", "date": "2026-05-04", "postcode": postcode}, appointment_pb.ListAvailableSlotsRequest)
    assert availability_query(request).outward_code == outward


def test_for_other_types_a_postcode_is_checked_but_filters_nothing():
    request = read({"type": "SHOWROOM_VISIT", "date": "2026-05-04", "postcode": "SW1A 1AA"}, appointment_pb.ListAvailableSlotsRequest)
    assert availability_query(request).outward_code is None
    request.postcode = "NOWHERE"
    with pytest.raises(ValidationFailed) as raised:
        availability_query(request)
    assert [v.field for v in raised.value.violations] == ["postcode"]


@pytest.mark.parametrize("postcode", ["NOWHERE", "SW1A", "KY1-1001", "ME1 1AAA"])
def test_availability_refuses_a_postcode_that_is_not_one(postcode):
    request = read({"type": "HOME_MEASUREMENT", "date": "2026-05-04", "postcode": postcode}, appointment_pb.ListAvailableSlotsRequest)
    with pytest.raises(ValidationFailed) as raised:
        availability_query(request)
    assert [v.field for v in raised.value.violations] == ["postcode"]


def test_a_new_consultant_takes_cleaned_areas():
    body = {"name": "A", "avatarUrl": "https://a.example/x.png", "categories": ["KITCHEN"], "postcodeAreas": [" sw1 ", "m", "SW1"]}
    assert new_consultant(read(body, admin_pb.CreateConsultantRequest)).postcode_areas == ("SW1", "M")


def test_a_new_consultant_without_areas_visits_everywhere():
    body = {"name": "A", "avatarUrl": "https://a.example/x.png", "categories": ["KITCHEN"]}
    assert new_consultant(read(body, admin_pb.CreateConsultantRequest)).postcode_areas == ()


def test_bad_areas_are_named_by_index_with_the_other_bad_fields():
    body = {"consultantId": "nope", "postcodeAreas": ["M", "ME1 1AA", "XX"]}
    with pytest.raises(ValidationFailed) as raised:
        consultant_areas(read(body, admin_pb.SetConsultantAreasRequest))
    assert [v.field for v in raised.value.violations] == ["consultantId", "postcodeAreas[1]", "postcodeAreas[2]"]


def test_an_empty_list_of_areas_means_everywhere_again():
    consultant_id = str(uuid.uuid4())
    assert consultant_areas(read({"consultantId": consultant_id}, admin_pb.SetConsultantAreasRequest)) == (uuid.UUID(consultant_id), ())


def test_a_consultant_message_carries_its_areas():
    assert list(consultant_message(WESTMINSTER).postcode_areas) == ["SW1", "EC1A"]
