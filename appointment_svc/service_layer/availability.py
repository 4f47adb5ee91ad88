"""Use case: the slot grid for one London day (spec section 1)."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable, Protocol

from appointment_svc.domain.model import AvailabilityQuery, Slot, available_slots


class OpenSlotSource(Protocol):
    async def open_slots(self, query: AvailabilityQuery, now: datetime) -> list[Slot]: ...


class SlotCache(Protocol):
    async def get(self, query: AvailabilityQuery) -> list[Slot] | None: ...
    async def put(self, query: AvailabilityQuery, slots: list[Slot]) -> None: ...


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class AvailabilityService:
    def __init__(self, source: OpenSlotSource, cache: SlotCache, clock: Callable[[], datetime] = utc_now):
        self._source = source
        self._cache = cache
        self._clock = clock

    async def list_available(self, query: AvailabilityQuery) -> list[Slot]:
        now = self._clock()
        cached = await self._cache.get(query)
        if cached is not None:
            # Cached lists can outlive a slot's start time; the rules are re-applied on every read.
            return available_slots(cached, query, now)
        slots = available_slots(await self._source.open_slots(query, now), query, now)
        await self._cache.put(query, slots)
        return slots
