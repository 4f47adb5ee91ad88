"""What happens after a commit. Each is registered for its events in appointment_svc/bootstrap.py."""
from __future__ import annotations

from datetime import datetime

from appointment_svc.domain.events import BookingEvent, SlotBlocked, SlotHeld, SlotHoldReleased, SlotsAdded, SlotUnblocked
from appointment_svc.domain.model import london_date
from appointment_svc.service_layer.ports import AvailabilityCache


async def forget_availability_of_booked_day(cache: AvailabilityCache, event: BookingEvent) -> None:
    await cache.invalidate_day(london_date(event.booking.slot.starts_at))


async def forget_availability_of_slot_days(
    cache: AvailabilityCache, event: SlotsAdded | SlotBlocked | SlotUnblocked | SlotHeld | SlotHoldReleased
) -> None:
    starts: tuple[datetime, ...] = event.starts if isinstance(event, SlotsAdded) else (event.starts_at,)
    for day in sorted({london_date(start) for start in starts}):
        await cache.invalidate_day(day)
