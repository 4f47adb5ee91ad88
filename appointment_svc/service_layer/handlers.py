"""What happens after a commit. Each is registered for its events in appointment_svc/bootstrap.py."""
from __future__ import annotations

from datetime import datetime

from appointment_svc.domain.events import (
    BookingCancelled,
    BookingEvent,
    BookingRescheduled,
    ConsultantAreasChanged,
    SlotBlocked,
    SlotHeld,
    SlotHoldReleased,
    SlotsAdded,
    SlotUnblocked,
)
from appointment_svc.domain.model import london_date
from appointment_svc.service_layer.ports import AvailabilityCache, SlotLock


async def forget_availability_of_booked_day(cache: AvailabilityCache, event: BookingEvent) -> None:
    await cache.invalidate_day(london_date(event.booking.slot.starts_at))


async def forget_availability_of_both_days(cache: AvailabilityCache, event: BookingRescheduled) -> None:
    """The day the booking left (its slot is free again) and the day it moved to (taken)."""
    days = {london_date(event.booking.slot.starts_at)}
    if event.previous_slot is not None:
        days.add(london_date(event.previous_slot.starts_at))
    for day in sorted(days):
        await cache.invalidate_day(day)


async def forget_availability_of_slot_days(
    cache: AvailabilityCache, event: SlotsAdded | SlotBlocked | SlotUnblocked | ConsultantAreasChanged | SlotHeld | SlotHoldReleased
) -> None:
    starts: tuple[datetime, ...] = event.starts if isinstance(event, (SlotsAdded, ConsultantAreasChanged)) else (event.starts_at,)
    for day in sorted({london_date(start) for start in starts}):
        await cache.invalidate_day(day)


async def forget_that_the_slot_was_just_booked(lock: SlotLock, event: BookingCancelled | BookingRescheduled) -> None:
    # The slot is free again (cancelled, or moved away from): racers must not be told it was just booked.
    freed = event.previous_slot if isinstance(event, BookingRescheduled) else event.booking.slot
    if freed is not None:
        await lock.forget_booked(freed.id)
