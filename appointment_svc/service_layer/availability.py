"""Use case: the slot grid for one London day (spec section 1)."""
from __future__ import annotations

from datetime import datetime
from typing import Callable

from appointment_svc.domain.limits import BookingLimits
from appointment_svc.domain.model import AvailabilityQuery, Slot, available_slots
from appointment_svc.service_layer.ports import AvailabilityCache
from appointment_svc.service_layer.unit_of_work import UnitOfWork
from mesh_common.clock import utc_now


class AvailabilityService:
    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        cache: AvailabilityCache,
        clock: Callable[[], datetime] = utc_now,
        limits: BookingLimits = BookingLimits(),
    ):
        self._uow = uow_factory
        self._cache = cache
        self._clock = clock
        self._limits = limits

    async def list_available(self, query: AvailabilityQuery) -> list[Slot]:
        """The day's free slots; a past day has none, a day beyond the booking horizon is refused."""
        now = self._clock()
        self._limits.check_day(query.day, now, "date")
        cached = await self._cache.get(query)
        if cached is not None:
            # Cached lists can outlive a slot's start time; the rules are re-applied on every read.
            return available_slots(cached, query, now)
        async with self._uow() as uow:
            candidates = await uow.slots.open_on(query, now)
        slots = available_slots(candidates, query, now)
        await self._cache.put(query, slots)
        return slots
