"""Use case: the slot grid for one London day (spec section 1)."""
from __future__ import annotations

from datetime import datetime
from typing import Callable

from appointment_svc.domain.limits import BookingLimits
from appointment_svc.domain.model import AvailabilityQuery, Slot, available_slots, first_hold_end
from appointment_svc.service_layer.ports import AvailabilityCache, EncodedGrid, SlotReader, epoch_micros
from mesh_common.clock import utc_now

# One slot in the transport's wire form; the entrypoint that answers with the grid provides it.
SlotEncoder = Callable[[Slot], bytes]


def encode_grid(slots: list[Slot], encode: SlotEncoder) -> EncodedGrid:
    """`slots` in the order `available_slots` gives them: by start first, which `EncodedGrid` relies on."""
    pieces = [encode(s) for s in slots]
    offsets, position = [], 0
    for piece in pieces:
        offsets.append(position)
        position += len(piece)
    return EncodedGrid(b"".join(pieces), [epoch_micros(s.starts_at) for s in slots], offsets)


class AvailabilityService:
    def __init__(
        self,
        slots: SlotReader,
        cache: AvailabilityCache,
        encode_slot: SlotEncoder,
        clock: Callable[[], datetime] = utc_now,
        limits: BookingLimits = BookingLimits(),
    ):
        self._slots = slots
        self._cache = cache
        self._encode_slot = encode_slot
        self._clock = clock
        self._limits = limits

    async def list_available(self, query: AvailabilityQuery) -> bytes:
        """The day's free slots, encoded; a past day has none, a day beyond the booking horizon is refused.

        The grid is cached encoded, so a hit costs one cache read and one cut of the bytes whatever
        the number of slots."""
        now = self._clock()
        self._limits.check_day(query.day, now, "date")
        grid = await self._cache.get(query)
        if grid is None:
            candidates = await self._slots.open_on(query, now)
            grid = encode_grid(available_slots(candidates, query, now), self._encode_slot)
            # A held slot must come back when its hold runs out, which no event announces.
            hold_ends = first_hold_end(candidates, now)
            await self._cache.put(query, grid, None if hold_ends is None else (hold_ends - now).total_seconds())
        # A cached grid can outlive a slot's start time: the slots that have started are cut off on every read.
        return grid.not_started_at(now)
