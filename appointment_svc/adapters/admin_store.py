"""Storage for the staff use cases: the admin table, history, consultants and slots."""

from __future__ import annotations

import uuid
from datetime import datetime
from uuid import UUID

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError

from appointment_svc.adapters.bookings import BOOKING_WITH_SLOT_COLUMNS, SqlUnitOfWork, booking_with_slot
from appointment_svc.adapters.repository import SLOT_WITH_CONSULTANT, consultant_from_row, slot_from_row
from appointment_svc.adapters.tables import booking_status_history, bookings, consultants, time_slots
from appointment_svc.domain.errors import ConsultantNotFound, SlotOverlap
from appointment_svc.domain.model import Booking, BookingStatus, Consultant, london_day_bounds
from appointment_svc.domain.staff import (
    AppointmentTableQuery,
    CalendarSlot,
    GenerateSlots,
    NewConsultant,
    NewSlot,
    SlotCalendarQuery,
    StatusChange,
)

NO_OVERLAP_CONSTRAINT = "time_slots_no_overlap"
SLOT_CONSULTANT_FK = "time_slots_consultant_id_fkey"
FILTER_FIRST_MAX = 5_000  # matches that the page query fetches and sorts rather than walking to

def _table_filters(query: AppointmentTableQuery) -> list:
    where = []
    if query.status is not None:
        where.append(bookings.c.status == query.status.value)
    if query.first_day is not None:
        where.append(bookings.c.slot_starts_at >= london_day_bounds(query.first_day)[0])
    if query.last_day is not None:
        where.append(bookings.c.slot_starts_at < london_day_bounds(query.last_day)[1])
    if query.reference_code is not None:
        where.append(bookings.c.reference_code == query.reference_code)
    if query.email is not None:
        where.append(func.lower(bookings.c.email) == query.email)
    return where


def _table_order(query: AppointmentTableQuery, source=bookings) -> list:
    key = source.c.slot_starts_at if query.sort.by_start else source.c.created_at
    if query.sort.descending:
        return [key.desc(), source.c.id.desc()]
    return [key.asc(), source.c.id.asc()]


def _filter_first(query: AppointmentTableQuery, total: int | None) -> bool:
    """Sort the matches instead of walking the creation index until a page of them turns up?

    Filtering on the slot's days while ordering by creation is the one combination no index
    serves: PostgreSQL assumes the matches are spread evenly along ix_bookings_created and walks
    it, but the bookings of one past week were all made around then, so it may walk most of the
    table first. When the count says the matches are few, fetching and sorting them is cheap.
    """
    has_days = query.first_day is not None or query.last_day is not None
    return has_days and not query.sort.by_start and total is not None and total <= FILTER_FIRST_MAX


def table_page_statement(query: AppointmentTableQuery, total: int | None = None):
    """One query: the page's ids from bookings alone, then only those rows joined.

    Joining before OFFSET/LIMIT would make PostgreSQL join (and sort) every matching booking for
    a deep page; choosing the ids first keeps each page as cheap as the index walk to it.
    """
    source = bookings
    if _filter_first(query, total):
        source = (
            select(bookings.c.id, bookings.c.created_at, bookings.c.slot_starts_at)
            .where(*_table_filters(query))
            .cte("matches")
            .prefix_with("MATERIALIZED")
        )
        page = select(source.c.id)
    else:
        page = select(bookings.c.id).where(*_table_filters(query))
    page = page.order_by(*_table_order(query, source)).offset(query.offset).limit(query.limit).subquery("page")
    rows = (
        page.join(bookings, bookings.c.id == page.c.id)
        .join(time_slots, time_slots.c.id == bookings.c.slot_id)
        .join(consultants, consultants.c.id == time_slots.c.consultant_id)
    )
    return select(*BOOKING_WITH_SLOT_COLUMNS).select_from(rows).order_by(*_table_order(query))


def table_count_statement(query: AppointmentTableQuery):
    return select(func.count()).select_from(bookings).where(*_table_filters(query))


def slot_calendar_statement(query: SlotCalendarQuery):
    """Every slot starting on the London day, with the reference of the booking that holds it."""
    start, end = london_day_bounds(query.day)
    # Not only PENDING/CONFIRMED: a completed or missed appointment keeps its slot booked, and
    # staff still want to see whose it was. Cancelled bookings gave the slot back.
    holder = (
        select(bookings.c.reference_code)
        .where(bookings.c.slot_id == time_slots.c.id, bookings.c.status != BookingStatus.CANCELLED.value)
        .order_by(bookings.c.created_at.desc())
        .limit(1)
        .correlate(time_slots)
        .scalar_subquery()
    )
    statement = (
        SLOT_WITH_CONSULTANT.add_columns(holder.label("reference_code"))
        .where(time_slots.c.starts_at >= start, time_slots.c.starts_at < end)
        .order_by(time_slots.c.starts_at, consultants.c.name, consultants.c.id, time_slots.c.id)
    )
    if query.consultant_id is not None:
        statement = statement.where(time_slots.c.consultant_id == query.consultant_id)
    if query.type is not None:
        statement = statement.where(time_slots.c.type == query.type.value)
    return statement


def _constraint(exc: IntegrityError) -> str | None:
    diag = getattr(exc.orig, "diag", None)
    return getattr(diag, "constraint_name", None)


class AdminUnitOfWork(SqlUnitOfWork):
    """The booking unit of work plus what staff need; same transaction rules."""

    # -- the admin table

    async def appointment_table(self, query: AppointmentTableQuery) -> tuple[list[Booking], int]:
        # The count first: it is cheap, and tells the page query how to find its rows (or that a
        # page past the end has none, without walking the index to get there).
        total = (await self.conn.execute(table_count_statement(query))).scalar_one()
        if query.offset >= total:
            return [], total
        rows = (await self.conn.execute(table_page_statement(query, total))).all()
        return [booking_with_slot(row) for row in rows], total

    async def history(self, booking_id: UUID) -> list[StatusChange]:
        rows = (
            await self.conn.execute(
                select(booking_status_history)
                .where(booking_status_history.c.booking_id == booking_id)
                .order_by(booking_status_history.c.changed_at, booking_status_history.c.id)
            )
        ).all()
        return [
            StatusChange(
                from_status=BookingStatus(row.from_status) if row.from_status else None,
                to_status=BookingStatus(row.to_status),
                changed_by=row.changed_by,
                changed_at=row.changed_at,
                reason=row.reason,
            )
            for row in rows
        ]

    # -- consultants

    async def add_consultant(self, consultant: NewConsultant) -> UUID:
        consultant_id = uuid.uuid4()
        await self.conn.execute(
            consultants.insert().values(
                id=consultant_id,
                name=consultant.name,
                avatar_url=consultant.avatar_url,
                categories=[c.value for c in consultant.categories],
            )
        )
        return consultant_id

    async def consultants(self) -> list[Consultant]:
        rows = (await self.conn.execute(select(consultants).order_by(consultants.c.name, consultants.c.id))).all()
        return [consultant_from_row(row, "id", "name") for row in rows]

    async def lock_consultant(self, consultant_id: UUID) -> bool:
        """True if the consultant exists; it then stays so until commit (FOR KEY SHARE)."""
        statement = select(consultants.c.id).where(consultants.c.id == consultant_id).with_for_update(key_share=True, read=True)
        return (await self.conn.execute(statement)).first() is not None

    # -- slots

    async def add_slot(self, slot: NewSlot) -> UUID:
        slot_id = uuid.uuid4()
        try:
            await self.conn.execute(
                time_slots.insert().values(
                    id=slot_id,
                    consultant_id=slot.consultant_id,
                    type=slot.type.value,
                    starts_at=slot.starts_at,
                    ends_at=slot.ends_at,
                )
            )
        except IntegrityError as exc:
            constraint = _constraint(exc)
            if constraint == NO_OVERLAP_CONSTRAINT:
                raise SlotOverlap() from exc
            if constraint == SLOT_CONSULTANT_FK:
                raise ConsultantNotFound() from exc
            raise
        return slot_id

    async def add_slots(self, command: GenerateSlots, times: list[tuple[datetime, datetime]]) -> list[datetime]:
        """Insert the slots that overlap nothing already there; returns the starts of those created.

        ON CONFLICT DO NOTHING (no conflict target) also covers the exclusion constraint, which is
        what makes a repeated generation create nothing, even when two run at once.
        """
        if not times:
            return []
        rows = [
            {"id": uuid.uuid4(), "consultant_id": command.consultant_id, "type": command.type.value, "starts_at": s, "ends_at": e}
            for s, e in times
        ]
        statement = insert(time_slots).on_conflict_do_nothing().returning(time_slots.c.starts_at)
        result = await self.conn.execute(statement, rows)
        return list(result.scalars().all())

    async def slot_calendar(self, query: SlotCalendarQuery) -> list[CalendarSlot]:
        rows = (await self.conn.execute(slot_calendar_statement(query))).all()
        return [CalendarSlot(slot_from_row(row), row.reference_code if row.is_booked else None) for row in rows]

    async def set_slot_blocked(self, slot_id: UUID, blocked: bool) -> None:
        await self.conn.execute(update(time_slots).where(time_slots.c.id == slot_id).values(is_blocked=blocked))
