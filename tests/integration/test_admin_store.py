"""Staff use cases against the real PostgreSQL and Valkey: the table's queries, constraints and races."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, datetime, time, timedelta, timezone

import psycopg
import pytest
from sqlalchemy import event

from appointment_svc.adapters.bookings import table_page_statement
from appointment_svc.adapters.cache import AvailabilityCache
from appointment_svc.adapters.slot_lock import RedisSlotLock
from appointment_svc.adapters.slots import SqlSlotReader, slot_calendar_statement
from appointment_svc.domain.errors import (
    ConsultantNotFound,
    InvalidStatusTransition,
    SlotBooked,
    SlotNotFound,
    SlotOverlap,
    SlotUnavailable,
)
from appointment_svc.domain.model import LONDON, AppointmentType, AvailabilityQuery, BookingStatus, BookSlot, Category
from appointment_svc.domain.schedule import WeeklyPattern
from appointment_svc.domain.staff import (
    AppointmentTableQuery,
    GenerateSlots,
    NewConsultant,
    NewSlot,
    SlotCalendarQuery,
    SlotState,
    TableSort,
)
from appointment_svc.domain.validation import Contact
from appointment_svc.service_layer.availability import AvailabilityService
from appointment_svc.service_layer.booking import BookingService
from booking.v1 import events_pb2, resources_pb2
from mesh_common.auth import Principal, Role
from tests.grids import decode_ids, encode_ids, slot_ids
from tests.integration.booking_fixtures import (
    active_bookings,
    add_consultant,
    add_slot,
    appointment_has_started,
)
from tests.integration.conftest import FAR_HORIZON

UTC = timezone.utc
LONDON_SUMMER_DAY = date(2031, 7, 15)
STAFF = Principal("staff-1", Role.ADMIN)
# These tests are about staff tools on fixed days years ahead, not about the booking horizon.


@pytest.fixture
def bookings(uow, redis) -> BookingService:
    return BookingService(uow, RedisSlotLock(redis))


def insert_booking(
    database_url, slot_id, *, status="PENDING", email="jane@example.com", created_at=None, reference=None
) -> uuid.UUID:
    booking_id = uuid.uuid4()
    reference = reference or f"BK-20310101-{uuid.uuid4().int % 10_000:04d}-{booking_id.hex[:4]}"
    with psycopg.connect(database_url) as connection:
        connection.execute(
            "INSERT INTO bookings (id, reference_code, user_id, type, for_kitchen, for_bedroom, first_name, last_name, email,"
            " phone, postcode, address, slot_id, status, created_at) VALUES"
            " (%s, %s, 'alice', 'SHOWROOM_VISIT', true, false, 'Jane', 'Doe', %s, '07700900123', 'SW1A 1AA', '1 High St',"
            " %s, %s, %s)",
            (booking_id, reference, email, slot_id, status, created_at or datetime.now(UTC)),
        )
        if status in ("PENDING", "CONFIRMED"):
            connection.execute("UPDATE time_slots SET is_booked = true WHERE id = %s", (slot_id,))
    return booking_id


def london(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=LONDON).astimezone(UTC)


def book_command(slot_id, user="alice") -> BookSlot:
    return BookSlot(
        user_id=user, type=AppointmentType.SHOWROOM_VISIT, for_kitchen=True, for_bedroom=False,
        contact=Contact("Jane", "Doe", "jane@example.com", "07700900123", "SW1A 1AA", "1 High St"), slot_id=slot_id,
    )  # fmt: skip


def outbox_events(database_url, subject: str, message_type):
    with psycopg.connect(database_url) as connection:
        rows = connection.execute("SELECT payload FROM outbox WHERE subject = %s ORDER BY created_at", (subject,)).fetchall()
    return [message_type.FromString(row[0]) for row in rows]


# -- the admin table


async def test_a_page_of_the_table_is_one_query_plus_one_count(admin, engine, database_url):
    consultant = add_consultant(database_url)
    for hour in range(9, 14):
        insert_booking(database_url, add_slot(database_url, consultant, london(LONDON_SUMMER_DAY, hour)))
    statements: list[str] = []
    listener = lambda conn, cursor, statement, *args: statements.append(statement)  # noqa: E731
    event.listen(engine.sync_engine, "before_cursor_execute", listener)
    try:
        found, total = await admin.appointment_table(AppointmentTableQuery(limit=3))
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", listener)
    assert len(found) == 3 and total == 5
    assert len(statements) == 2
    assert all(b.slot.consultant.id == consultant for b in found)


async def test_the_table_filters_by_status_email_reference_and_london_days(admin, database_url):
    consultant = add_consultant(database_url)
    # 23:30 London on the 14th is 22:30 UTC; 00:30 London on the 16th is still the 15th in UTC.
    late = insert_booking(database_url, add_slot(database_url, consultant, london(LONDON_SUMMER_DAY - timedelta(days=1), 23, 30)))
    day = insert_booking(
        database_url, add_slot(database_url, consultant, london(LONDON_SUMMER_DAY, 10)), status="CONFIRMED",
        email="Jane.Doe@Example.com", reference="BK-20310715-0042",
    )  # fmt: skip
    early = insert_booking(database_url, add_slot(database_url, consultant, london(LONDON_SUMMER_DAY + timedelta(days=1), 0, 30)))

    async def ids(**filters) -> set:
        found, total = await admin.appointment_table(AppointmentTableQuery(**filters))
        assert total == len(found)
        return {b.id for b in found}

    assert await ids(first_day=LONDON_SUMMER_DAY, last_day=LONDON_SUMMER_DAY) == {day}
    assert await ids(first_day=LONDON_SUMMER_DAY - timedelta(days=1), last_day=LONDON_SUMMER_DAY) == {late, day}
    assert await ids(first_day=LONDON_SUMMER_DAY + timedelta(days=1)) == {early}
    assert await ids(status=BookingStatus.CONFIRMED) == {day}
    assert await ids(email="jane.doe@example.com") == {day}
    assert await ids(reference_code="BK-20310715-0042") == {day}
    assert await ids(status=BookingStatus.PENDING, email="jane.doe@example.com") == set()


async def test_the_table_sorts_with_the_id_as_a_stable_tiebreak(admin, database_url):
    consultant = add_consultant(database_url)
    same_moment = datetime(2031, 1, 1, 12, tzinfo=UTC)
    made = [
        insert_booking(database_url, add_slot(database_url, consultant, london(LONDON_SUMMER_DAY, hour)), created_at=same_moment)
        for hour in (12, 9, 15, 10)
    ]

    async def order(sort: TableSort, page: int = 1, limit: int = 25) -> list:
        return [b.id for b in (await admin.appointment_table(AppointmentTableQuery(sort=sort, page=page, limit=limit)))[0]]

    assert await order(TableSort.CREATED_ASC) == sorted(made)
    assert await order(TableSort.CREATED_DESC) == sorted(made, reverse=True)
    assert await order(TableSort.STARTS_ASC) == [made[1], made[3], made[0], made[2]]
    assert await order(TableSort.STARTS_DESC) == [made[2], made[0], made[3], made[1]]
    paged = [*await order(TableSort.CREATED_DESC, 1, 3), *await order(TableSort.CREATED_DESC, 2, 3)]
    assert paged == sorted(made, reverse=True)


async def test_a_page_past_the_end_is_empty_with_the_right_total(admin, database_url):
    consultant = add_consultant(database_url)
    for hour in (9, 10, 11):
        insert_booking(database_url, add_slot(database_url, consultant, london(LONDON_SUMMER_DAY, hour)))
    found, total = await admin.appointment_table(AppointmentTableQuery(page=5, limit=2))
    assert found == [] and total == 3


async def test_both_ways_of_finding_a_page_give_the_same_rows_in_the_same_order(engine, database_url):
    consultant = add_consultant(database_url)
    for i in range(12):
        day = LONDON_SUMMER_DAY + timedelta(days=i % 3)
        slot = add_slot(database_url, consultant, london(day, 9 + i))
        insert_booking(database_url, slot, created_at=datetime(2031, 1, 1 + i % 4, tzinfo=UTC))
    async with engine.connect() as conn:
        for sort in TableSort:
            for page in (1, 2, 3):
                query = AppointmentTableQuery(
                    first_day=LONDON_SUMMER_DAY, last_day=LONDON_SUMMER_DAY + timedelta(days=1), sort=sort, page=page, limit=3
                )
                walked = (await conn.execute(table_page_statement(query))).all()
                filtered_first = (await conn.execute(table_page_statement(query, total=8))).all()
                assert [r.id for r in walked] == [r.id for r in filtered_first]
                assert len(walked) == (3 if page < 3 else 2)


async def test_bookings_carry_their_slot_start_and_follow_it_if_the_slot_moves(database_url):
    slot = add_slot(database_url, add_consultant(database_url), london(LONDON_SUMMER_DAY, 9))
    booking = insert_booking(database_url, slot)
    read = "SELECT slot_starts_at FROM bookings WHERE id = %s"
    with psycopg.connect(database_url) as connection:
        assert connection.execute(read, (booking,)).fetchone()[0] == london(LONDON_SUMMER_DAY, 9)
        connection.execute("UPDATE time_slots SET starts_at = %s WHERE id = %s", (london(LONDON_SUMMER_DAY, 8), slot))
        assert connection.execute(read, (booking,)).fetchone()[0] == london(LONDON_SUMMER_DAY, 8)


# -- lifecycle


async def test_history_lists_every_change_oldest_first_with_who_and_why(admin, bookings, database_url):
    slot = add_slot(database_url, add_consultant(database_url))
    booking = await bookings.book(book_command(slot))
    await admin.confirm(booking.id, STAFF)
    await admin.cancel_on_behalf(booking.id, Principal("staff-2", Role.ADMIN), "consultant ill")
    found, history = await admin.details(booking.id)
    assert found.status is BookingStatus.CANCELLED and found.cancel_reason == "consultant ill"
    assert [(h.from_status, h.to_status, h.changed_by, h.reason) for h in history] == [
        (None, BookingStatus.PENDING, "alice", ""),
        (BookingStatus.PENDING, BookingStatus.CONFIRMED, "staff-1", ""),
        (BookingStatus.CONFIRMED, BookingStatus.CANCELLED, "staff-2", "consultant ill"),
    ]
    assert history[0].changed_at <= history[1].changed_at <= history[2].changed_at


async def test_confirming_writes_a_booking_confirmed_event(admin, bookings, database_url):
    booking = await bookings.book(book_command(add_slot(database_url, add_consultant(database_url))))
    await admin.confirm(booking.id, STAFF)
    confirmed = outbox_events(database_url, "booking.confirmed", events_pb2.BookingConfirmed)
    assert [e.appointment.booking_id for e in confirmed] == [str(booking.id)]
    assert confirmed[0].appointment.status == resources_pb2.CONFIRMED


async def test_staff_cancelling_frees_the_slot_and_says_who_cancelled(admin, bookings, database_url):
    slot = add_slot(database_url, add_consultant(database_url))
    booking = await bookings.book(book_command(slot))
    await admin.cancel_on_behalf(booking.id, STAFF, "duplicate booking")
    cancelled = outbox_events(database_url, "booking.cancelled", events_pb2.BookingCancelled)
    assert [(e.appointment.booking_id, e.cancelled_by) for e in cancelled] == [(str(booking.id), "staff-1")]
    assert active_bookings(database_url, slot) == 0
    assert (await bookings.book(book_command(slot, user="bob"))).status is BookingStatus.PENDING


async def test_a_finished_appointment_keeps_its_slot_taken(admin, bookings, database_url):
    slot = add_slot(database_url, add_consultant(database_url))
    booking = await bookings.book(book_command(slot))
    await admin.confirm(booking.id, STAFF)
    appointment_has_started(database_url, slot)
    await admin.complete(booking.id, STAFF)
    with psycopg.connect(database_url) as connection:
        assert connection.execute("SELECT is_booked FROM time_slots WHERE id = %s", (slot,)).fetchone()[0] is True


async def test_concurrent_transitions_are_serialised_by_the_row_lock(admin, bookings, database_url):
    booking = await bookings.book(book_command(add_slot(database_url, add_consultant(database_url))))
    await admin.confirm(booking.id, STAFF)
    appointment_has_started(database_url, booking.slot.id)
    outcomes = await asyncio.gather(
        *((admin.complete if i % 2 else admin.mark_no_show)(booking.id, Principal(f"staff-{i}", Role.ADMIN)) for i in range(20)),
        return_exceptions=True,
    )
    winners = [o for o in outcomes if not isinstance(o, Exception)]
    assert len(winners) == 1
    assert all(isinstance(o, InvalidStatusTransition) for o in outcomes if isinstance(o, Exception))
    _, history = await admin.details(booking.id)
    assert [h.to_status for h in history] == [BookingStatus.PENDING, BookingStatus.CONFIRMED, winners[0].status]


async def test_concurrent_confirms_write_one_event(admin, bookings, database_url):
    booking = await bookings.book(book_command(add_slot(database_url, add_consultant(database_url))))
    outcomes = await asyncio.gather(*(admin.confirm(booking.id, STAFF) for _ in range(10)), return_exceptions=True)
    assert sum(not isinstance(o, Exception) for o in outcomes) == 1
    assert len(outbox_events(database_url, "booking.confirmed", events_pb2.BookingConfirmed)) == 1


# -- consultants and slots


async def test_consultants_are_listed_by_name(admin):
    for name in ("Zoe Young", "Adam Best"):
        await admin.create_consultant(NewConsultant(name, "https://a.example/x.png", (Category.KITCHEN,)))
    names = [c.name for c in await admin.consultants()]
    assert names == sorted(names)


async def test_a_consultant_without_a_category_is_refused_by_the_database_too(database_url):
    with pytest.raises(psycopg.errors.CheckViolation):
        add_consultant(database_url, categories=())


async def test_overlapping_slots_for_one_consultant_are_refused_by_the_constraint(admin, database_url):
    consultant = add_consultant(database_url)
    start = london(LONDON_SUMMER_DAY, 10)
    await admin.create_slot(NewSlot(consultant, AppointmentType.SHOWROOM_VISIT, start, start + timedelta(hours=1)))
    with pytest.raises(SlotOverlap):
        overlapping = NewSlot(
            consultant, AppointmentType.VIDEO_CONSULTATION, start + timedelta(minutes=30), start + timedelta(hours=2)
        )
        await admin.create_slot(overlapping)
    # Back to back is fine, and another consultant may work the same hour.
    await admin.create_slot(
        NewSlot(consultant, AppointmentType.SHOWROOM_VISIT, start + timedelta(hours=1), start + timedelta(hours=2))
    )
    await admin.create_slot(
        NewSlot(add_consultant(database_url), AppointmentType.SHOWROOM_VISIT, start, start + timedelta(hours=1))
    )


async def test_a_slot_for_an_unknown_consultant_is_not_found(admin):
    start = london(LONDON_SUMMER_DAY, 10)
    with pytest.raises(ConsultantNotFound):
        await admin.create_slot(NewSlot(uuid.uuid4(), AppointmentType.SHOWROOM_VISIT, start, start + timedelta(hours=1)))


def a_generation(consultant, **pattern) -> GenerateSlots:
    values = dict(weekdays=frozenset({1, 2, 3, 4, 5}), day_start=time(9), day_end=time(17), slot_minutes=60, buffer_minutes=30)
    values.update(pattern)
    # 2031-07-14 is a Monday: two working weeks.
    return GenerateSlots(
        consultant, AppointmentType.HOME_MEASUREMENT, date(2031, 7, 14), date(2031, 7, 27), WeeklyPattern(**values)
    )


async def test_generating_twice_creates_nothing_the_second_time(admin, database_url):
    consultant = add_consultant(database_url)
    assert await admin.generate_slots(a_generation(consultant)) == (50, 0)  # 09:00, 10:30, ... 15:00: 5 a day
    assert await admin.generate_slots(a_generation(consultant)) == (0, 50)
    with psycopg.connect(database_url) as connection:
        assert connection.execute("SELECT count(*) FROM time_slots WHERE consultant_id = %s", (consultant,)).fetchone()[0] == 50


async def test_two_generations_at_once_still_make_each_slot_once(admin, database_url):
    consultant = add_consultant(database_url)
    results = await asyncio.gather(*(admin.generate_slots(a_generation(consultant)) for _ in range(4)))
    assert sum(created for created, _ in results) == 50
    assert all(created + skipped == 50 for created, skipped in results)


async def test_generation_skips_times_that_overlap_existing_slots(admin, database_url):
    consultant = add_consultant(database_url)
    add_slot(database_url, consultant, london(date(2031, 7, 14), 10, 45), minutes=30)  # inside the 10:30 slot
    assert await admin.generate_slots(a_generation(consultant)) == (49, 1)


async def test_generated_slots_appear_in_availability_at_once(admin, engine, database_url, redis):
    consultant = add_consultant(database_url)
    availability = AvailabilityService(SqlSlotReader(engine), AvailabilityCache(redis), encode_ids, limits=FAR_HORIZON)
    query = AvailabilityQuery(AppointmentType.HOME_MEASUREMENT, date(2031, 7, 14))
    before = set(slot_ids(await availability.list_available(query)))  # warms the cache
    await admin.generate_slots(a_generation(consultant))
    after = decode_ids(await availability.list_available(query))
    assert len([s for s, c in after if c == consultant]) == 5 and before <= {s for s, _ in after}


async def test_blocking_takes_a_slot_out_of_availability_and_unblocking_puts_it_back(admin, engine, database_url, redis):
    slot = add_slot(database_url, add_consultant(database_url), london(LONDON_SUMMER_DAY, 11))
    availability = AvailabilityService(SqlSlotReader(engine), AvailabilityCache(redis), encode_ids, limits=FAR_HORIZON)
    query = AvailabilityQuery(AppointmentType.SHOWROOM_VISIT, LONDON_SUMMER_DAY)
    assert slot in slot_ids(await availability.list_available(query))
    await admin.block_slot(slot)
    assert slot not in slot_ids(await availability.list_available(query))
    await admin.unblock_slot(slot)
    assert slot in slot_ids(await availability.list_available(query))


async def test_a_booked_slot_cannot_be_blocked_until_its_booking_is_cancelled(admin, bookings, database_url):
    slot = add_slot(database_url, add_consultant(database_url))
    booking = await bookings.book(book_command(slot))
    with pytest.raises(SlotBooked):
        await admin.block_slot(slot)
    await admin.cancel_on_behalf(booking.id, STAFF, "consultant on leave")
    await admin.block_slot(slot)
    with pytest.raises(SlotUnavailable):
        await bookings.book(book_command(slot, user="bob"))


async def test_blocking_an_unknown_slot_is_not_found(admin):
    with pytest.raises(SlotNotFound):
        await admin.block_slot(uuid.uuid4())


async def test_a_block_racing_a_booking_never_lets_both_win(admin, bookings, database_url):
    consultant = add_consultant(database_url)
    for _ in range(15):
        slot = add_slot(database_url, consultant)
        booked, blocked = await asyncio.gather(bookings.book(book_command(slot)), admin.block_slot(slot), return_exceptions=True)
        assert isinstance(booked, Exception) != isinstance(blocked, Exception), (booked, blocked)
        with psycopg.connect(database_url) as connection:
            is_blocked = connection.execute("SELECT is_blocked FROM time_slots WHERE id = %s", (slot,)).fetchone()[0]
        assert not (is_blocked and active_bookings(database_url, slot))


# -- the slot calendar

CALENDAR_DAY = date(2032, 7, 13)  # British Summer Time: the London day starts at 23:00 UTC the day before


async def test_the_calendar_lists_every_slot_of_the_london_day_with_its_state(admin, database_url):
    tag = uuid.uuid4().hex[:6]
    anna = add_consultant(database_url, name=f"Anna {tag}")
    zoe = add_consultant(database_url, name=f"Zoe {tag}")
    just_after_midnight = add_slot(database_url, zoe, london(CALENDAR_DAY, 0, 30))
    zoe_ten = add_slot(database_url, zoe, london(CALENDAR_DAY, 10), kind="VIDEO_CONSULTATION")
    anna_ten = add_slot(database_url, anna, london(CALENDAR_DAY, 10))
    blocked = add_slot(database_url, anna, london(CALENDAR_DAY, 11), blocked=True)
    given_back = add_slot(database_url, anna, london(CALENDAR_DAY, 12))
    add_slot(database_url, anna, london(CALENDAR_DAY - timedelta(days=1), 23, 30))
    add_slot(database_url, anna, london(CALENDAR_DAY + timedelta(days=1), 0, 0))
    reference = f"BK-20320101-{uuid.uuid4().hex[:8]}"
    insert_booking(database_url, anna_ten, reference=reference)
    insert_booking(database_url, given_back, status="CANCELLED")

    found = [s for s in await admin.slot_calendar(SlotCalendarQuery(CALENDAR_DAY)) if s.slot.consultant.id in (anna, zoe)]

    # By start, then consultant name: Anna before Zoe at 10:00.
    assert [(s.slot.id, s.state, s.reference_code) for s in found] == [
        (just_after_midnight, SlotState.FREE, None),
        (anna_ten, SlotState.BOOKED, reference),
        (zoe_ten, SlotState.FREE, None),
        (blocked, SlotState.BLOCKED, None),
        (given_back, SlotState.FREE, None),
    ]
    assert found[1].slot.consultant.name == f"Anna {tag}" and found[2].slot.type is AppointmentType.VIDEO_CONSULTATION


async def test_the_calendar_narrows_to_one_consultant_and_one_type(admin, database_url):
    anna, zoe = add_consultant(database_url), add_consultant(database_url)
    showroom = add_slot(database_url, anna, london(CALENDAR_DAY, 14))
    add_slot(database_url, anna, london(CALENDAR_DAY, 15), kind="HOME_MEASUREMENT")
    add_slot(database_url, zoe, london(CALENDAR_DAY, 14))
    found = await admin.slot_calendar(SlotCalendarQuery(CALENDAR_DAY, consultant_id=anna, type=AppointmentType.SHOWROOM_VISIT))
    assert [s.slot.id for s in found] == [showroom]
    assert await admin.slot_calendar(SlotCalendarQuery(CALENDAR_DAY, consultant_id=uuid.uuid4())) == []


async def test_the_calendar_follows_a_block_an_unblock_and_a_booking(admin, bookings, database_url):
    slot = add_slot(database_url, consultant := add_consultant(database_url))
    day = london_date_of(database_url, slot)

    async def state():
        [entry] = await admin.slot_calendar(SlotCalendarQuery(day, consultant_id=consultant))
        return entry.state, entry.reference_code

    assert await state() == (SlotState.FREE, None)
    await admin.block_slot(slot)
    assert await state() == (SlotState.BLOCKED, None)
    await admin.unblock_slot(slot)
    booking = await bookings.book(book_command(slot))
    assert await state() == (SlotState.BOOKED, booking.reference_code)
    await admin.cancel_on_behalf(booking.id, STAFF, "customer phoned")
    assert await state() == (SlotState.FREE, None)


async def test_the_calendar_shows_a_customers_live_hold_and_free_again_once_it_ends(admin, uow, database_url):
    from appointment_svc.service_layer.holds import HoldService
    from mesh_common.principal import Principal, Role

    slot = add_slot(database_url, consultant := add_consultant(database_url))
    day = london_date_of(database_url, slot)

    async def state():
        [entry] = await admin.slot_calendar(SlotCalendarQuery(day, consultant_id=consultant))
        return entry.state

    await HoldService(uow).hold(slot, Principal("holder", Role.CUSTOMER))
    assert await state() is SlotState.HELD
    with psycopg.connect(database_url, autocommit=True) as connection:  # the hold's time runs out
        connection.execute("UPDATE slot_holds SET expires_at = now() - interval '1 second' WHERE slot_id = %s", (slot,))
    assert await state() is SlotState.FREE


def london_date_of(database_url, slot_id) -> date:
    with psycopg.connect(database_url) as connection:
        starts_at = connection.execute("SELECT starts_at FROM time_slots WHERE id = %s", (slot_id,)).fetchone()[0]
    return starts_at.astimezone(LONDON).date()


def test_the_calendar_query_passes_its_values_as_parameters():
    consultant = uuid.uuid4()
    compiled = slot_calendar_statement(SlotCalendarQuery(CALENDAR_DAY, consultant, AppointmentType.HOME_MEASUREMENT)).compile()
    assert str(consultant) not in str(compiled) and "HOME_MEASUREMENT" not in str(compiled)
    assert consultant in compiled.params.values() and "HOME_MEASUREMENT" in compiled.params.values()


def test_the_status_history_cannot_be_rewritten_or_deleted(database_url):
    import psycopg

    from tests.integration.booking_fixtures import add_consultant, add_slot

    slot = add_slot(database_url, add_consultant(database_url))
    with psycopg.connect(database_url) as connection:
        booking_id = connection.execute(
            "INSERT INTO bookings (id, reference_code, user_id, type, for_kitchen, for_bedroom, first_name, last_name, email,"
            " phone, postcode, address, slot_id, status) VALUES (gen_random_uuid(), 'BK-20300101-0001', 'u', 'SHOWROOM_VISIT',"
            " true, false, 'A', 'B', 'a@b.co', '07700900123', 'SW1A 1AA', 'x', %s, 'PENDING') RETURNING id",
            (slot,),
        ).fetchone()[0]
        connection.execute(
            "INSERT INTO booking_status_history (booking_id, to_status, changed_by) VALUES (%s, 'PENDING', 'u')", (booking_id,)
        )
        connection.commit()
        for statement in ("UPDATE booking_status_history SET reason = 'rewritten'", "DELETE FROM booking_status_history"):
            with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                connection.execute(statement)
            connection.rollback()
