"""Slot holds in PostgreSQL (issue 14)."""
from __future__ import annotations

from uuid import UUID

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from appointment_svc.adapters.constraints import raise_translated
from appointment_svc.adapters.statement_batch import BatchingConnection
from appointment_svc.adapters.tables import slot_holds, time_slots
from appointment_svc.domain.holds import SlotHold
from appointment_svc.service_layer.ports import SlotTaken
from appointment_svc.service_layer.repositories import HoldRepository

SLOT_HOLD_SLOT_KEY = "slot_holds_slot_id_key"
SLOT_HOLD_USER_KEY = "slot_holds_user_id_key"

HOLD_WITH_START = select(
    slot_holds.c.id, slot_holds.c.slot_id, slot_holds.c.user_id, slot_holds.c.expires_at, time_slots.c.starts_at
).join(time_slots, time_slots.c.id == slot_holds.c.slot_id)

# One round trip: the deleted row with its slot's start (the slot row is locked by the caller).
TAKE_FOR_BOOKING = """
DELETE FROM slot_holds h USING time_slots s
WHERE h.slot_id = %(slot_id)s AND s.id = h.slot_id
RETURNING h.id, h.slot_id, h.user_id, h.expires_at, s.starts_at
"""


def hold_from_row(row) -> SlotHold:
    return SlotHold(id=row.id, slot_id=row.slot_id, user_id=row.user_id, expires_at=row.expires_at, starts_at=row.starts_at)


class SqlHoldRepository(HoldRepository):
    def __init__(self, conn: BatchingConnection):
        super().__init__()
        self.conn = conn

    async def _one(self, *where, lock: bool = False) -> SlotHold | None:
        statement = HOLD_WITH_START.where(*where)
        if lock:
            statement = statement.with_for_update(of=slot_holds)
        row = (await self.conn.execute(statement)).first()
        return None if row is None else hold_from_row(row)

    async def get(self, hold_id: UUID, *, lock: bool = False) -> SlotHold | None:
        return await self._one(slot_holds.c.id == hold_id, lock=lock)

    async def for_slot(self, slot_id: UUID) -> SlotHold | None:
        return await self._one(slot_holds.c.slot_id == slot_id)

    async def of_customer(self, user_id: str) -> SlotHold | None:
        return await self._one(slot_holds.c.user_id == user_id)

    async def take_for_booking(self, slot_id: UUID) -> SlotHold | None:
        row = (await self.conn.exec_driver_sql(TAKE_FOR_BOOKING, {"slot_id": slot_id})).first()
        return None if row is None else hold_from_row(row)

    async def _add(self, hold: SlotHold) -> None:
        try:
            await self.conn.execute(
                slot_holds.insert().values(id=hold.id, slot_id=hold.slot_id, user_id=hold.user_id, expires_at=hold.expires_at)
            )
        except IntegrityError as exc:
            raise_translated(exc, {SLOT_HOLD_SLOT_KEY: SlotTaken})

    async def _remove(self, hold_id: UUID) -> None:
        await self.conn.execute(delete(slot_holds).where(slot_holds.c.id == hold_id))
