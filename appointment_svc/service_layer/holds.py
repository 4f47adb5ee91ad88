"""Use cases: hold a slot while the booking form is filled in, and let go of the hold (issue 14)."""
from __future__ import annotations

from datetime import datetime
from typing import Callable
from uuid import UUID

from appointment_svc.domain.errors import SlotNotFound, SlotUnavailable
from appointment_svc.domain.holds import DEFAULT_HOLD_SECONDS, SlotHold, check_holdable, check_release, new_hold
from appointment_svc.service_layer.ports import SlotTaken
from appointment_svc.service_layer.unit_of_work import UnitOfWork
from mesh_common.clock import utc_now
from mesh_common.logging import get_logger
from mesh_common.principal import Principal

log = get_logger(__name__)


class HoldService:
    def __init__(self, uow_factory: Callable[[], UnitOfWork], clock: Callable[[], datetime] = utc_now, seconds: int = DEFAULT_HOLD_SECONDS):
        self._uow = uow_factory
        self._clock = clock
        self._seconds = seconds

    async def hold(self, slot_id: UUID, principal: Principal) -> SlotHold:
        """The caller's hold on the slot; their hold on any other slot is let go of. Holding the slot
        they already hold answers that hold as it is: asking again does not make it last longer."""
        user_id = principal.user_id
        await self._check_unlocked(slot_id, user_id)
        async with self._uow() as uow:
            # Customer, then slot: the order a booking takes its locks in. The customer's lock makes
            # their holds take turns, so "one hold per customer" never meets a rival insert.
            await uow.bookings.serialise_customer(user_id)
            slot = await uow.slots.get(slot_id, lock=True)
            if slot is None:
                raise SlotNotFound()
            now = self._clock()
            # Read after the row lock, in a statement of its own: it sees every hold committed before.
            current = await uow.holds.for_slot(slot_id)
            check_holdable(slot, current, user_id, now)
            if current is not None and current.user_id == user_id and current.is_live(now):
                return current
            mine = await uow.holds.of_customer(user_id)
            for old in {h.id: h for h in (mine, current) if h is not None}.values():
                await uow.holds.remove(old, now)
            hold = new_hold(slot, user_id, now, self._seconds)
            try:
                await uow.holds.add(hold)
            except SlotTaken as exc:  # only if some writer skipped the slot's row lock
                raise SlotUnavailable() from exc
            await uow.commit()
        log.info("slot held", hold_id=str(hold.id), slot_id=str(slot_id))
        return hold

    async def _check_unlocked(self, slot_id: UUID, user_id: str) -> None:
        """Racers for a slot already held get their 409 without queueing for its row lock."""
        async with self._uow() as uow:
            slot = await uow.slots.get(slot_id)
            if slot is None:
                raise SlotNotFound()
            check_holdable(slot, await uow.holds.for_slot(slot_id), user_id, self._clock())

    async def release(self, hold_id: UUID, principal: Principal) -> SlotHold:
        async with self._uow() as uow:
            hold = check_release(await uow.holds.get(hold_id, lock=True), principal.user_id)
            await uow.holds.remove(hold, self._clock())
            await uow.commit()
        log.info("slot hold released", hold_id=str(hold_id), slot_id=str(hold.slot_id))
        return hold
