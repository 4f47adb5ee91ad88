"""Staff rules without I/O: request checks, slot generation, and the use cases over fakes (the lifecycle: test_booking_lifecycle.py)."""

from __future__ import annotations

import copy
import uuid
from datetime import date, datetime, time, timedelta, timezone

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from appointment_svc.bootstrap import event_handlers
from appointment_svc.domain import events
from appointment_svc.domain.errors import (
    BookingNotFound,
    ConsultantNotFound,
    InvalidStatusTransition,
    SlotBooked,
    SlotInPast,
    ValidationFailed,
)
from appointment_svc.domain.limits import BookingLimits
from appointment_svc.domain.model import AppointmentType, Booking, BookingStatus, Category, Consultant, Slot
from appointment_svc.domain.schedule import WeeklyPattern
from appointment_svc.domain.staff import (
    MAX_GENERATED_SLOTS,
    CalendarSlot,
    GenerateSlots,
    NewSlot,
    SlotCalendarQuery,
    SlotState,
    TableSort,
    check_blockable,
    check_new_slot,
    slots_to_generate,
)
from appointment_svc.domain.validation import Contact
from appointment_svc.entrypoints.admin import (
    calendar_slot_message,
    new_consultant,
    new_slot,
    slot_calendar_query,
    slot_generation,
    table_query,
)
from appointment_svc.service_layer.admin import AdminService
from appointment_svc.service_layer.messagebus import MessageBus
from booking.v1 import admin_service_pb2 as pb
from booking.v1 import resources_pb2 as res
from mesh_common.principal import Principal, Role
from tests.unit.fakes import FakeCache, FakeDatabase, FakeSlotLock, FakeUnitOfWork

UTC = timezone.utc
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
STAFF = Principal("staff-7", Role.ADMIN)
LIMITS = BookingLimits(horizon_days=730)
S = BookingStatus


def a_slot(**overrides) -> Slot:
    values = dict(
        id=uuid.uuid4(),
        consultant=Consultant(uuid.uuid4(), "Amelia Hart", "https://a.example/a.png", (Category.KITCHEN,)),
        type=AppointmentType.SHOWROOM_VISIT,
        starts_at=NOW + timedelta(days=3),
        ends_at=NOW + timedelta(days=3, hours=1),
        is_booked=True,
    )
    values.update(overrides)
    return Slot(**values)


JANE = Contact("Jane", "Doe", "jane@example.com", "07700900123", "SW1A 1AA", "1 High St")


def a_booking(status: BookingStatus = S.PENDING) -> Booking:
    return Booking(
        id=uuid.uuid4(), reference_code="BK-20260302-0001", user_id="alice", type=AppointmentType.SHOWROOM_VISIT,
        for_kitchen=True, for_bedroom=False, contact=JANE, slot=a_slot(), status=status, created_at=NOW,
    )  # fmt: skip


# -- slots


def test_a_new_slot_must_start_in_the_future():
    slot = NewSlot(uuid.uuid4(), AppointmentType.SHOWROOM_VISIT, NOW, NOW + timedelta(hours=1))
    with pytest.raises(SlotInPast):
        check_new_slot(slot, NOW, LIMITS)
    check_new_slot(slot, NOW - timedelta(seconds=1), LIMITS)


def test_a_new_slot_must_start_within_the_booking_horizon():
    last_day = datetime(2028, 3, 1, 23, 0, tzinfo=UTC)  # 23:00 on 1 March 2028 in London (GMT), 730 days on
    check_new_slot(NewSlot(uuid.uuid4(), AppointmentType.SHOWROOM_VISIT, last_day, last_day + timedelta(minutes=30)), NOW, LIMITS)
    too_far = NewSlot(uuid.uuid4(), AppointmentType.SHOWROOM_VISIT, datetime(9999, 1, 4, 10, tzinfo=UTC), datetime(9999, 1, 4, 11, tzinfo=UTC))
    with pytest.raises(ValidationFailed) as raised:
        check_new_slot(too_far, NOW, LIMITS)
    assert raised.value.violations[0].field == "startsAt" and "2028-03-01" in raised.value.violations[0].description


def test_generation_refuses_a_range_ending_beyond_the_booking_horizon():
    with pytest.raises(ValidationFailed) as raised:
        slots_to_generate(generation(date(2028, 2, 28), date(2028, 3, 2)), NOW, LIMITS)
    assert raised.value.violations[0].field == "toDate"
    times, _ = slots_to_generate(generation(date(2028, 2, 28), date(2028, 3, 1)), NOW, LIMITS)
    assert len(times) == 9


def test_a_booked_slot_cannot_be_blocked_but_a_free_one_can():
    with pytest.raises(SlotBooked, match="cancel the booking first"):
        check_blockable(a_slot(is_booked=True))
    check_blockable(a_slot(is_booked=False))


def generation(first: date, last: date, **pattern) -> GenerateSlots:
    values = dict(weekdays=frozenset(range(1, 8)), day_start=time(9), day_end=time(12), slot_minutes=60, buffer_minutes=0)
    values.update(pattern)
    return GenerateSlots(uuid.uuid4(), AppointmentType.SHOWROOM_VISIT, first, last, WeeklyPattern(**values))


def test_generation_drops_times_already_past_and_counts_them():
    times, past = slots_to_generate(generation(date(2026, 3, 1), date(2026, 3, 3)), NOW, LIMITS)
    # 2 March 12:00 UTC is noon in London: that day's 09, 10 and 11 o'clock slots have started.
    assert past == 6
    assert [s.isoformat() for s, _ in times][:2] == ["2026-03-03T09:00:00+00:00", "2026-03-03T10:00:00+00:00"]


def test_generation_never_makes_an_empty_slot_in_the_spring_forward_gap():
    night = generation(date(2026, 3, 29), date(2026, 3, 29), day_start=time(0), day_end=time(4))
    times, skipped = slots_to_generate(night, datetime(2026, 1, 1, tzinfo=UTC), LIMITS)
    assert all(end > start for start, end in times) and skipped == 1


def test_generation_refuses_a_pattern_with_too_many_slots():
    huge = generation(date(2026, 4, 1), date(2027, 3, 31), day_start=time(0), day_end=time(23, 59), slot_minutes=5)
    with pytest.raises(ValidationFailed) as raised:
        slots_to_generate(huge, NOW, LIMITS)
    assert str(MAX_GENERATED_SLOTS) in raised.value.violations[0].description


# -- request checks at the transport edge


def fields(call) -> set[str]:
    with pytest.raises(ValidationFailed) as raised:
        call()
    return {v.field for v in raised.value.violations}


def test_the_table_defaults_are_page_1_of_25_newest_first():
    query = table_query(pb.ListAppointmentsRequest())
    assert (query.page, query.limit, query.sort, query.status, query.offset) == (1, 25, TableSort.CREATED_DESC, None, 0)


@pytest.mark.parametrize(
    ("request_fields", "bad"),
    [
        ({"limit": 101}, {"limit"}),
        ({"limit": -1}, {"limit"}),
        ({"page": -2}, {"page"}),
        ({"sort": "name"}, {"sort"}),
        ({"sort": "createdat"}, {"sort"}),
        ({"status": 42}, {"status"}),
        ({"from_date": "2026-02-30"}, {"from"}),
        ({"from_date": "2026-03-05", "to_date": "2026-03-04"}, {"to"}),
        ({"reference_code": "BK-1"}, {"referenceCode"}),
        ({"limit": 500, "sort": "x"}, {"limit", "sort"}),
    ],
)
def test_bad_table_parameters_are_refused_not_clamped(request_fields, bad):
    assert fields(lambda: table_query(pb.ListAppointmentsRequest(**request_fields))) == bad


def test_table_filters_are_normalised():
    query = table_query(
        pb.ListAppointmentsRequest(
            page=3, limit=100, sort="startsAt", status=res.CONFIRMED, reference_code=" bk-20260302-0007 ",
            email=" Jane.Doe@Example.COM ", from_date="2026-03-01", to_date="2026-03-31",
        )
    )  # fmt: skip
    assert (query.offset, query.sort.by_start, query.sort.descending) == (200, True, False)
    assert (query.status, query.reference_code, query.email) == (S.CONFIRMED, "BK-20260302-0007", "jane.doe@example.com")
    assert (query.first_day, query.last_day) == (date(2026, 3, 1), date(2026, 3, 31))
    assert query.total_pages(201) == 3 and query.total_pages(0) == 0


@pytest.mark.parametrize(
    ("avatar", "ok"),
    [
        ("https://cdn.example.com/a.png", True),
        ("http://cdn.example.com:8080/a.png?x=1", True),
        ("/avatars/a.png", False),
        ("cdn.example.com/a.png", False),
        ("ftp://cdn.example.com/a.png", False),
        ("javascript:alert(1)", False),
        ("https:///a.png", False),
        ("https://cdn.example.com:port/a.png", False),
        ("https://cdn.example.com/a b.png", False),
    ],
)
def test_an_avatar_must_be_an_absolute_web_url(avatar, ok):
    request = pb.CreateConsultantRequest(name="Amelia", avatar_url=avatar, categories=[res.KITCHEN])
    if ok:
        assert new_consultant(request).avatar_url == avatar
    else:
        assert fields(lambda: new_consultant(request)) == {"avatarUrl"}


def test_a_consultant_needs_a_name_and_a_known_category():
    assert fields(lambda: new_consultant(pb.CreateConsultantRequest(name=" ", avatar_url="https://a.example/x.png"))) == {
        "name",
        "categories",
    }
    unspecified = pb.CreateConsultantRequest(
        name="A", avatar_url="https://a.example/x.png", categories=[res.CATEGORY_UNSPECIFIED]
    )
    assert fields(lambda: new_consultant(unspecified)) == {"categories"}
    both = new_consultant(pb.CreateConsultantRequest(name=" Amelia ", avatar_url="https://a.example/x.png", categories=[2, 1, 2]))
    assert both.name == "Amelia" and both.categories == (Category.BEDROOM, Category.KITCHEN)


def ts(value: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def test_a_slot_needs_a_consultant_a_type_and_an_end_after_its_start():
    assert fields(lambda: new_slot(pb.CreateSlotRequest())) == {"consultantId", "type", "startsAt", "endsAt"}
    backwards = pb.CreateSlotRequest(consultant_id=str(uuid.uuid4()), type=res.SHOWROOM_VISIT, starts_at=ts(NOW), ends_at=ts(NOW))
    assert fields(lambda: new_slot(backwards)) == {"endsAt"}
    too_long = pb.CreateSlotRequest(
        consultant_id=str(uuid.uuid4()), type=res.SHOWROOM_VISIT, starts_at=ts(NOW), ends_at=ts(NOW + timedelta(hours=25))
    )
    assert fields(lambda: new_slot(too_long)) == {"endsAt"}


def pattern_request(**overrides) -> pb.GenerateSlotsRequest:
    values = dict(
        consultant_id=str(uuid.uuid4()), type=res.HOME_MEASUREMENT, from_date="2026-04-01", to_date="2026-04-30",
        weekdays=[1, 2, 3, 4, 5], day_start="09:00", day_end="17:00", slot_minutes=90, buffer_minutes=15,
        skip_dates=["2026-04-03", "2026-04-06"],
    )  # fmt: skip
    values.update(overrides)
    return pb.GenerateSlotsRequest(**values)


def test_a_good_pattern_becomes_a_command():
    command = slot_generation(pattern_request())
    assert command.pattern.weekdays == frozenset({1, 2, 3, 4, 5})
    assert (command.pattern.day_start, command.pattern.day_end) == (time(9), time(17))
    assert command.pattern.skip_dates == frozenset({date(2026, 4, 3), date(2026, 4, 6)})


@pytest.mark.parametrize(
    ("overrides", "bad"),
    [
        ({"weekdays": []}, {"weekdays"}),
        ({"weekdays": [0, 8]}, {"weekdays"}),
        ({"day_start": "9:00"}, {"dayStart"}),
        ({"day_end": "24:00"}, {"dayEnd"}),
        ({"day_start": "17:00", "day_end": "09:00"}, {"dayEnd"}),
        ({"slot_minutes": 0}, {"slotMinutes"}),
        ({"slot_minutes": 600}, {"slotMinutes"}),
        ({"buffer_minutes": -5}, {"bufferMinutes"}),
        ({"to_date": "2026-03-31"}, {"toDate"}),
        ({"to_date": "2027-04-03"}, {"toDate"}),
        ({"skip_dates": ["soon"]}, {"skipDates"}),
        ({"consultant_id": "x", "type": 0, "from_date": ""}, {"consultantId", "type", "fromDate"}),
    ],
)
def test_bad_patterns_name_the_offending_fields(overrides, bad):
    assert fields(lambda: slot_generation(pattern_request(**overrides))) == bad


# -- the slot calendar


def test_the_calendar_needs_only_a_day_and_narrows_by_consultant_and_type():
    assert slot_calendar_query(pb.ListSlotsRequest(date="2026-03-05")) == SlotCalendarQuery(day=date(2026, 3, 5))
    consultant = uuid.uuid4()
    assert slot_calendar_query(
        pb.ListSlotsRequest(date="2026-03-05", consultant_id=str(consultant), type=res.VIDEO_CONSULTATION)
    ) == SlotCalendarQuery(day=date(2026, 3, 5), consultant_id=consultant, type=AppointmentType.VIDEO_CONSULTATION)


@pytest.mark.parametrize(
    ("request_fields", "bad"),
    [
        ({}, {"date"}),
        ({"date": "2026-02-30"}, {"date"}),
        ({"date": "5 March"}, {"date"}),
        ({"date": "2026-03-05", "consultant_id": "sam"}, {"consultantId"}),
        ({"date": "2026-03-05", "type": 42}, {"type"}),
        ({"date": "", "consultant_id": "x"}, {"date", "consultantId"}),
    ],
)
def test_bad_calendar_parameters_name_the_field(request_fields, bad):
    assert fields(lambda: slot_calendar_query(pb.ListSlotsRequest(**request_fields))) == bad


@pytest.mark.parametrize(
    ("booked", "blocked", "state"),
    [(False, False, SlotState.FREE), (True, False, SlotState.BOOKED), (False, True, SlotState.BLOCKED)],
)
def test_a_calendar_slot_is_free_booked_or_blocked(booked, blocked, state):
    assert CalendarSlot(a_slot(is_booked=booked, is_blocked=blocked)).state is state


def test_a_booked_calendar_slot_carries_the_reference_and_the_whole_consultant():
    slot = a_slot(is_booked=True)
    message = calendar_slot_message(CalendarSlot(slot, "BK-20260302-0001"))
    assert message.state == pb.BOOKED and message.reference_code == "BK-20260302-0001"
    assert message.consultant.consultant_id == str(slot.consultant.id) and message.consultant.name == "Amelia Hart"
    assert message.type == res.SHOWROOM_VISIT and message.starts_at.ToDatetime(tzinfo=UTC) == slot.starts_at
    free = calendar_slot_message(CalendarSlot(a_slot(is_booked=False)))
    assert free.state == pb.FREE and free.reference_code == ""


# -- the use cases over fakes


def admin_service(db: FakeDatabase, cache: FakeCache, now: datetime = NOW) -> AdminService:
    bus = MessageBus(event_handlers(cache, FakeSlotLock()))
    return AdminService(lambda: FakeUnitOfWork(db, bus), clock=lambda: now)


@pytest.fixture
def service(db, cache) -> AdminService:
    return admin_service(db, cache)


def stored(db: FakeDatabase, booking: Booking) -> Booking:
    db.add_slot(booking.slot)
    db.tables.bookings[booking.id] = booking
    return booking


async def test_confirming_locks_the_row_writes_history_and_emits_booking_confirmed(service, db, cache):
    booking = stored(db, a_booking(S.PENDING))
    await service.confirm(booking.id, STAFF)
    assert f"booking:{booking.id}" in db.locks_taken
    assert db.booking(booking.id).status is S.CONFIRMED
    assert [(c.from_status, c.to_status, c.changed_by, c.reason) for c in db.history_of(booking.id)] == [
        (S.PENDING, S.CONFIRMED, "staff-7", "")
    ]
    assert db.outbox_kinds() == ["BookingConfirmed"]
    assert cache.invalidated == []


async def test_staff_emails_count_against_the_customers_address_without_being_checked(service, db):
    booking = stored(db, a_booking(S.PENDING))
    await service.confirm(booking.id, STAFF)
    await service.cancel_on_behalf(booking.id, STAFF, "consultant ill")
    assert [(who, kind) for who, _, kind, _ in db.tables.emails] == [
        ("jane@example.com", "booking-confirmed"),
        ("jane@example.com", "booking-cancellation"),
    ]
    # Staff actions never wait for or check the customer's email limit.
    assert not any(lock.startswith("recipient:") for lock in db.locks_taken)


async def test_staff_cannot_complete_an_appointment_before_it_starts(service, db):
    booking = stored(db, a_booking(S.CONFIRMED))
    before = copy.deepcopy(db.tables)
    with pytest.raises(InvalidStatusTransition, match="only once its appointment has started"):
        await service.complete(booking.id, STAFF)
    assert db.tables == before


async def test_cancelling_on_behalf_frees_the_slot_and_invalidates_the_day_after_commit(service, db, cache):
    booking = stored(db, a_booking(S.CONFIRMED))
    await service.cancel_on_behalf(booking.id, STAFF, "consultant ill")
    assert not db.tables.slots[booking.slot.id].is_booked
    assert db.booking(booking.id).cancel_reason == "consultant ill"
    assert cache.invalidated == [date(2026, 3, 5)]
    (cancelled,) = db.tables.outbox
    assert isinstance(cancelled, events.BookingCancelled) and cancelled.cancelled_by == "staff-7"


@pytest.mark.parametrize("action", ["complete", "mark_no_show"])
async def test_an_outcome_writes_history_but_publishes_nothing_and_keeps_the_slot(db, cache, action):
    booking = stored(db, a_booking(S.CONFIRMED))
    later = booking.slot.starts_at + timedelta(hours=2)
    changed = await getattr(admin_service(db, cache, later), action)(booking.id, STAFF)
    assert [(c.from_status, c.to_status, c.changed_by) for c in db.history_of(booking.id)] == [
        (S.CONFIRMED, changed.status, "staff-7")
    ]
    assert db.booking(booking.id).status is changed.status and changed.status in (S.COMPLETED, S.NO_SHOW)
    assert db.tables.outbox == [] and db.tables.emails == [] and cache.invalidated == []
    assert db.tables.slots[booking.slot.id].is_booked
    assert changed.events == []


async def test_an_illegal_change_writes_nothing(service, db):
    booking = stored(db, a_booking(S.PENDING))
    before = copy.deepcopy(db.tables)
    with pytest.raises(InvalidStatusTransition):
        await service.mark_no_show(booking.id, STAFF)
    assert db.tables == before


async def test_changing_an_unknown_booking_is_not_found(service):
    with pytest.raises(BookingNotFound):
        await service.complete(uuid.uuid4(), STAFF)


async def test_details_are_the_booking_and_its_history(service, db):
    booking = stored(db, a_booking(S.PENDING))
    await service.confirm(booking.id, STAFF)
    found, history = await service.details(booking.id)
    assert found.id == booking.id and found.status is S.CONFIRMED
    assert [(c.from_status, c.to_status) for c in history] == [(S.PENDING, S.CONFIRMED)]


async def test_generating_invalidates_every_day_that_got_slots(service, db, cache):
    command = generation(date(2026, 3, 4), date(2026, 3, 6))
    db.tables.consultants[command.consultant_id] = Consultant(command.consultant_id, "Sam", "https://a.example/s.png", (Category.KITCHEN,))
    assert await service.generate_slots(command) == (9, 0)
    assert len(db.tables.slots) == 9
    assert cache.invalidated == [date(2026, 3, 4), date(2026, 3, 5), date(2026, 3, 6)]
    # Generating again overlaps everything: nothing created, nothing to forget.
    assert await service.generate_slots(command) == (0, 9)
    assert len(db.tables.slots) == 9 and len(cache.invalidated) == 3


async def test_generating_for_an_unknown_consultant_is_not_found(service, db, cache):
    with pytest.raises(ConsultantNotFound):
        await service.generate_slots(generation(date(2026, 3, 4), date(2026, 3, 6)))
    assert db.tables.slots == {} and cache.invalidated == []


async def test_blocking_a_free_slot_invalidates_its_day_after_commit(service, db, cache):
    slot = db.add_slot(a_slot(is_booked=False))
    await service.block_slot(slot.id)
    assert db.tables.slots[slot.id].is_blocked and cache.invalidated == [date(2026, 3, 5)]
    await service.unblock_slot(slot.id)
    assert not db.tables.slots[slot.id].is_blocked and cache.invalidated == [date(2026, 3, 5)] * 2


async def test_blocking_a_booked_slot_writes_and_forgets_nothing(service, db, cache):
    slot = db.add_slot(a_slot(is_booked=True))
    with pytest.raises(SlotBooked):
        await service.block_slot(slot.id)
    assert not db.tables.slots[slot.id].is_blocked and cache.invalidated == []
