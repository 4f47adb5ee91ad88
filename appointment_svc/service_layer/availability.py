"""Use case: the slot grid for one London day (spec section 1)."""
from __future__ import annotations

from datetime import datetime
from typing import Callable, Protocol

from appointment_svc.domain.limits import BookingLimits
from appointment_svc.domain.model import AvailabilityQuery, Slot, available_slots
from mesh_common.clock import utc_now


class OpenSlotSource(Protocol):
    async def open_slots(self, query: AvailabilityQuery, now: datetime) -> list[Slot]: ...


class SlotCache(Protocol):
    async def get(self, query: AvailabilityQuery) -> list[Slot] | None: ...
    async def put(self, query: AvailabilityQuery, slots: list[Slot]) -> None: ...


class AvailabilityService:
    def __init__(
        self,
        source: OpenSlotSource,
        cache: SlotCache,
        clock: Callable[[], datetime] = utc_now,
        limits: BookingLimits = BookingLimits(),
    ):
        self._source = source
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
        slots = available_slots(await self._source.open_slots(query, now), query, now)
        await self._cache.put(query, slots)
        return slots
