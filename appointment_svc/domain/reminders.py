"""When a booking's reminder email is due (issue 15).

One reminder per PENDING or CONFIRMED booking, `lead` before its slot starts. The due time is
decided here, when the booking is made or moved, and stored with it (bookings.reminder_due_at);
the scheduler (service_layer/reminders.py) only claims what is due. A booking made or moved when
its start is already within the lead gets none: the customer has just been told, and a "reminder"
seconds after the confirmation is noise. A move gives the new time its own reminder even if one
went out for the old time, because the old reminder named the wrong time.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

DEFAULT_LEAD_MINUTES = 24 * 60


@dataclass(frozen=True)
class ReminderLead:
    minutes: int = DEFAULT_LEAD_MINUTES

    @property
    def lead(self) -> timedelta:
        return timedelta(minutes=self.minutes)

    def due_at(self, starts_at: datetime, now: datetime) -> datetime | None:
        """When the reminder of an appointment starting at `starts_at`, booked or moved at `now`, goes
        out; None when that moment has already passed (booked inside the lead: no reminder)."""
        due = starts_at - self.lead
        return due if due > now else None
