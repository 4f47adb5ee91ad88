"""PostgreSQL persistence for the appointment service (SQLAlchemy Core, async psycopg 3)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from appointment_svc.adapters.tables import consultants, time_slots
from appointment_svc.domain.model import AppointmentType, AvailabilityQuery, Category, Consultant, Slot, london_day_bounds


def consultant_from_row(row, id_column: str = "consultant_id", name_column: str = "consultant_name") -> Consultant:
    return Consultant(
        id=getattr(row, id_column),
        name=getattr(row, name_column),
        avatar_url=row.avatar_url,
        categories=tuple(Category(c) for c in row.categories),
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
).join(consultants, consultants.c.id == time_slots.c.consultant_id)


class SlotReader:
    def __init__(self, engine: AsyncEngine):
        self._engine = engine

    async def open_slots(self, query: AvailabilityQuery, now: datetime) -> list[Slot]:
        start, end = london_day_bounds(query.day)
        statement = SLOT_WITH_CONSULTANT.where(
            time_slots.c.type == query.type.value,
            time_slots.c.starts_at >= max(start, now),
            time_slots.c.starts_at < end,
            time_slots.c.is_booked.is_(False),
            time_slots.c.is_blocked.is_(False),
        ).order_by(time_slots.c.starts_at, consultants.c.name, time_slots.c.id)
        if query.category is not None:
            statement = statement.where(consultants.c.categories.any(query.category.value))
        async with self._engine.connect() as connection:
            rows = (await connection.execute(statement)).all()
        return [slot_from_row(row) for row in rows]
