"""Consultants in PostgreSQL."""
from __future__ import annotations

import uuid
from datetime import datetime
from uuid import UUID

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from appointment_svc.adapters.slots import consultant_from_row
from appointment_svc.adapters.tables import consultants, time_slots
from appointment_svc.domain.model import AppointmentType, Consultant
from appointment_svc.domain.staff import NewConsultant
from appointment_svc.service_layer.repositories import ConsultantRepository


class SqlConsultantRepository(ConsultantRepository):
    def __init__(self, conn: AsyncConnection):
        super().__init__()
        self.conn = conn

    async def add(self, consultant: NewConsultant) -> UUID:
        consultant_id = uuid.uuid4()
        await self.conn.execute(
            consultants.insert().values(
                id=consultant_id,
                name=consultant.name,
                avatar_url=consultant.avatar_url,
                categories=[c.value for c in consultant.categories],
                postcode_areas=list(consultant.postcode_areas),
            )
        )
        return consultant_id

    async def list(self) -> list[Consultant]:
        rows = (await self.conn.execute(select(consultants).order_by(consultants.c.name, consultants.c.id))).all()
        return [consultant_from_row(row, "id", "name") for row in rows]

    async def lock(self, consultant_id: UUID) -> bool:
        # FOR KEY SHARE: the consultant cannot be deleted (nor its id change) until commit.
        statement = select(consultants.c.id).where(consultants.c.id == consultant_id).with_for_update(key_share=True, read=True)
        return (await self.conn.execute(statement)).first() is not None

    async def _set_areas(self, consultant_id: UUID, areas: tuple[str, ...]) -> Consultant | None:
        statement = (
            update(consultants).where(consultants.c.id == consultant_id).values(postcode_areas=list(areas)).returning(consultants)
        )
        row = (await self.conn.execute(statement)).first()
        return None if row is None else consultant_from_row(row, "id", "name")

    async def _open_home_visit_starts(self, consultant_id: UUID, after: datetime) -> list[datetime]:
        statement = select(time_slots.c.starts_at).where(
            time_slots.c.consultant_id == consultant_id,
            time_slots.c.type == AppointmentType.HOME_MEASUREMENT.value,
            time_slots.c.starts_at > after,
            time_slots.c.is_booked.is_(False),
            time_slots.c.is_blocked.is_(False),
        )
        return list((await self.conn.execute(statement)).scalars())
