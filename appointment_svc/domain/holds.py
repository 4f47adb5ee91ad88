"""Slot holds (issue 14): a customer keeps a slot to themselves for a few minutes while they fill in
the booking form. Plain rules over a hold the storage hands over; the storage serialises the
callers (the slot's row lock) so the hold it hands over is the current one."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from appointment_svc.domain.errors import Forbidden, HoldNotFound, SlotInPast, SlotUnavailable
from appointment_svc.domain.model import Slot

DEFAULT_HOLD_SECONDS = 300

HELD_BY_SOMEONE_ELSE = "Someone else is booking this time right now. Please choose another."
HOLD_ENDED = "Your hold on this time has ended. Please choose a time again."


@dataclass(frozen=True)
class SlotHold:
    id: UUID
    slot_id: UUID
    user_id: str
    expires_at: datetime
    # Only for the availability cache of the day that changes when the hold comes or goes.
    starts_at: datetime

    def is_live(self, now: datetime) -> bool:
        return self.expires_at > now

    def is_held_by_other(self, user_id: str, now: datetime) -> bool:
        return self.is_live(now) and self.user_id != user_id


def check_holdable(slot: Slot, current: SlotHold | None, user_id: str, now: datetime) -> None:
    """Whether `user_id` may hold `slot`, whose hold row (live or not) is `current`."""
    if slot.starts_at <= now:
        raise SlotInPast()
    if slot.is_booked or slot.is_blocked:
        raise SlotUnavailable("This time is no longer available. Please choose another.")
    if current is not None and current.is_held_by_other(user_id, now):
        raise SlotUnavailable(HELD_BY_SOMEONE_ELSE)


def new_hold(slot: Slot, user_id: str, now: datetime, seconds: int) -> SlotHold:
    return SlotHold(uuid.uuid4(), slot.id, user_id, now + timedelta(seconds=seconds), slot.starts_at)


def check_hold_for_booking(current: SlotHold | None, user_id: str, hold_id: UUID | None, now: datetime) -> None:
    """A booking of a slot whose hold row (live or not) is `current`.

    Someone else's live hold refuses it. The holder may book with or without naming the hold; a
    booking that names one (`hold_id`) is made only under that very hold, still live: the client
    promised the customer this time was kept for them, so a hold that ended is said plainly rather
    than silently booked or lost.
    """
    if current is not None and current.is_held_by_other(user_id, now):
        raise SlotUnavailable(HELD_BY_SOMEONE_ELSE)
    if hold_id is not None and (current is None or current.id != hold_id or not current.is_live(now)):
        raise SlotUnavailable(HOLD_ENDED)


def check_release(hold: SlotHold | None, user_id: str) -> SlotHold:
    """Only the holder lets go of a hold; one that is gone (booked, released, replaced) is not found."""
    if hold is None:
        raise HoldNotFound()
    if hold.user_id != user_id:
        raise Forbidden("This hold belongs to someone else.")
    return hold
