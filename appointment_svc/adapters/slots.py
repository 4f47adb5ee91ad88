"""Slots in PostgreSQL (SQLAlchemy Core, async psycopg 3), and the row mapping every query of them shares."""
from __future__ import annotations

import uuid
from datetime import datetime
from uuid import UUID

from sqlalchemy import String, any_, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from appointment_svc.adapters.constraints import raise_translated
from appointment_svc.adapters.tables import bookings, consultants, slot_holds, time_slots
from appointment_svc.domain.errors import ConsultantNotFound, SlotOverlap
from appointment_svc.domain.model import (
    AppointmentType,
    AvailabilityQuery,
    BookingStatus,
    Category,
    Consultant,
    Slot,
    london_day_bounds,
)
from appointment_svc.domain.staff import CalendarSlot, GenerateSlots, NewSlot, SlotCalendarQuery
from appointment_svc.service_layer.ports import SlotReader
from appointment_svc.service_layer.repositories import SlotRepository

NO_OVERLAP_CONSTRAINT = "time_slots_no_overlap"
SLOT_CONSULTANT_FK = "time_slots_consultant_id_fkey"


def consultant_from_row(row, id_column: str = "consultant_id", name_column: str = "consultant_name") -> Consultant:
    return Consultant(
        id=getattr(row, id_column),
        name=getattr(row, name_column),
        avatar_url=row.avatar_url,
        categories=tuple(Category(c) for c in row.categories),
        postcode_areas=tuple(row.postcode_areas),
    )


def slot_from_row(row, prefix: str = "") -> Slot:
    """A slot and its consultant; `prefix` starts the slot's column names in a row that is mainly something else's."""

    def column(name: str):
        return getattr(row, prefix + name)

    return Slot(
        id=column("id"),
        consultant=consultant_from_row(row),
        type=AppointmentType(column("type")),
        starts_at=column("starts_at"),
        ends_at=column("ends_at"),
        is_booked=column("is_booked"),
        is_blocked=column("is_blocked"),
        # Only the availability query reads it; every other row has no such column.
        held_until=getattr(row, prefix + "held_until", None),
    )


SLOT_WITH_CONSULTANT = select(
    time_slots.c.id,
    time_slots.c.type,
    time_slots.c.starts_at,
    time_slots.c.ends_at,
    time_slots.c.is_booked,
    time_slots.c.is_blocked,
    consultants.c.id.label("consultant_id"),
    consultants.c.name.label("consultant_name"),
    consultants.c.avatar_url,
    consultants.c.categories,
    consultants.c.postcode_areas,
).join(consultants, consultants.c.id == time_slots.c.consultant_id)


# Built once: every cache miss runs one of these two, and building a statement (and its cache key)
# per request cost more CPU than PostgreSQL spent answering it.
# A slot with a live hold comes with the hold's end (held_until): the domain leaves it out, and the
# cached grid lives no longer than the first such hold (AvailabilityService).
OPEN_SLOTS = (
    SLOT_WITH_CONSULTANT.add_columns(slot_holds.c.expires_at.label("held_until"))
    .outerjoin(slot_holds, (slot_holds.c.slot_id == time_slots.c.id) & (slot_holds.c.expires_at > bindparam("now")))
).where(
    time_slots.c.type == bindparam("type"),
    time_slots.c.starts_at >= bindparam("from"),
    time_slots.c.starts_at < bindparam("to"),
    time_slots.c.is_booked.is_(False),
    time_slots.c.is_blocked.is_(False),
).order_by(time_slots.c.starts_at, consultants.c.name, time_slots.c.id)
OPEN_SLOTS_IN_CATEGORY = OPEN_SLOTS.where(bindparam("category", type_=String) == any_(consultants.c.categories))


async def open_slots(conn: AsyncConnection, query: AvailabilityQuery, now: datetime) -> list[Slot]:
    start, end = london_day_bounds(query.day)
    parameters = {"type": query.type.value, "from": max(start, now), "to": end, "now": now}
    if query.category is None:
        statement = OPEN_SLOTS
    else:
        statement, parameters["category"] = OPEN_SLOTS_IN_CATEGORY, query.category.value
    rows = (await conn.execute(statement, parameters)).all()
    return [slot_from_row(row) for row in rows]


class SqlSlotReader(SlotReader):
    """The availability query alone on a connection in autocommit: one round trip for the SELECT,
    none for BEGIN and ROLLBACK (a unit of work's transaction costs two more per cache miss)."""

    def __init__(self, engine: AsyncEngine):
        self._engine = engine

    async def open_on(self, query: AvailabilityQuery, now: datetime) -> list[Slot]:
        async with self._engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            return await open_slots(conn, query, now)


def slot_calendar_statement(query: SlotCalendarQuery):
    """Every slot starting on the London day, with the reference of the booking that holds it and
    the end of a customer's live hold on it."""
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
        SLOT_WITH_CONSULTANT.add_columns(holder.label("reference_code"), slot_holds.c.expires_at.label("held_until"))
        .outerjoin(slot_holds, (slot_holds.c.slot_id == time_slots.c.id) & (slot_holds.c.expires_at > func.now()))
        .where(time_slots.c.starts_at >= start, time_slots.c.starts_at < end)
        .order_by(time_slots.c.starts_at, consultants.c.name, consultants.c.id, time_slots.c.id)
    )
    if query.consultant_id is not None:
        statement = statement.where(time_slots.c.consultant_id == query.consultant_id)
    if query.type is not None:
        statement = statement.where(time_slots.c.type == query.type.value)
    return statement


class SqlSlotRepository(SlotRepository):
    def __init__(self, conn: AsyncConnection):
        super().__init__()
        self.conn = conn

    async def get(self, slot_id: UUID, *, lock: bool = False) -> Slot | None:
        statement = SLOT_WITH_CONSULTANT.where(time_slots.c.id == slot_id)
        if lock:
            statement = statement.with_for_update(of=time_slots)
        row = (await self.conn.execute(statement)).first()
        return None if row is None else slot_from_row(row)

    async def free_and_unlocked(self, slot_id: UUID) -> bool:
        """Whether the slot is neither booked nor blocked nor locked by any open transaction.

        SKIP LOCKED rather than NOWAIT: a row another transaction holds simply is not returned, so
        "locked" is an answer, not a lock_not_available error to translate (nor an ERROR line in
        PostgreSQL's log per probe). The row lock, if taken, ends with this unit of work.
        """
        statement = (
            select(time_slots.c.id)
            .where(time_slots.c.id == slot_id, time_slots.c.is_booked.is_(False), time_slots.c.is_blocked.is_(False))
            .with_for_update(skip_locked=True)
        )
        return (await self.conn.execute(statement)).first() is not None

    async def mark_booked(self, slot_id: UUID) -> bool:
        # Conditional: even if the row lock were bypassed, a booked slot is never booked again.
        result = await self.conn.execute(
            update(time_slots)
            .where(time_slots.c.id == slot_id, time_slots.c.is_booked.is_(False), time_slots.c.is_blocked.is_(False))
            .values(is_booked=True)
        )
        return result.rowcount == 1

    async def free(self, slot_id: UUID) -> None:
        await self.conn.execute(update(time_slots).where(time_slots.c.id == slot_id).values(is_booked=False))

    async def open_on(self, query: AvailabilityQuery, now: datetime) -> list[Slot]:
        return await open_slots(self.conn, query, now)

    async def calendar(self, query: SlotCalendarQuery) -> list[CalendarSlot]:
        rows = (await self.conn.execute(slot_calendar_statement(query))).all()
        return [CalendarSlot(slot_from_row(row), row.reference_code if row.is_booked else None) for row in rows]

    async def _add(self, slot: NewSlot) -> UUID:
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
            raise_translated(exc, {NO_OVERLAP_CONSTRAINT: SlotOverlap, SLOT_CONSULTANT_FK: ConsultantNotFound})
        return slot_id

    async def _add_generated(self, command: GenerateSlots, times: list[tuple[datetime, datetime]]) -> list[datetime]:
        """ON CONFLICT DO NOTHING (no conflict target) also covers the exclusion constraint, which is
        what makes a repeated generation create nothing, even when two run at once."""
        if not times:
            return []
        rows = [
            {"id": uuid.uuid4(), "consultant_id": command.consultant_id, "type": command.type.value, "starts_at": s, "ends_at": e}
            for s, e in times
        ]
        statement = insert(time_slots).on_conflict_do_nothing().returning(time_slots.c.starts_at)
        result = await self.conn.execute(statement, rows)
        return list(result.scalars().all())

    async def _set_blocked(self, slot_id: UUID, blocked: bool) -> None:
        await self.conn.execute(update(time_slots).where(time_slots.c.id == slot_id).values(is_blocked=blocked))
