"""Limits that keep one customer or one address from abusing the diary and the mail (issue 9).

Plain rules over numbers and times the storage hands over; the storage serialises the callers
(advisory locks) so the numbers it hands over are current.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from appointment_svc.domain.errors import BookingLimitReached, FieldViolation, RateLimitExceeded, ValidationFailed
from appointment_svc.domain.model import london_date

EMAIL_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class BookingLimits:
    max_active_bookings: int = 3
    max_emails_per_day: int = 10
    horizon_days: int = 730

    def last_bookable_day(self, now: datetime) -> date:
        """The last London day a slot may start on: `horizon_days` after today in London."""
        return london_date(now) + timedelta(days=self.horizon_days)

    def check_day(self, day: date, now: datetime, field: str) -> None:
        last = self.last_bookable_day(now)
        if day > last:
            raise ValidationFailed(
                [FieldViolation(field, f"must be on or before {last.isoformat()}: we take bookings up to {self.horizon_days} days ahead")],
                f"We only take bookings up to {self.horizon_days} days ahead.",
            )

    def check_start(self, starts_at: datetime, now: datetime, field: str) -> None:
        self.check_day(london_date(starts_at), now, field)

    def check_active_bookings(self, active: int) -> None:
        """`active`: the customer's upcoming PENDING/CONFIRMED bookings, before this one."""
        if active >= self.max_active_bookings:
            raise BookingLimitReached(
                f"You already have {active} upcoming appointments, the most we can hold for one customer. "
                "Please cancel one before booking another."
            )

    def check_email_quota(self, recent_sends: list[datetime], now: datetime) -> None:
        """`recent_sends`: when booking emails went to this recipient in the last 24 hours.

        Past the limit: RateLimitExceeded, retry once the oldest counted email leaves the window.
        """
        in_window = sorted(t for t in recent_sends if t > now - EMAIL_WINDOW)
        if len(in_window) < self.max_emails_per_day:
            return
        frees_at = in_window[len(in_window) - self.max_emails_per_day] + EMAIL_WINDOW
        # Capped: another service process's clock may run a little ahead of this one's.
        retry_after = min(max(1, math.ceil((frees_at - now).total_seconds())), int(EMAIL_WINDOW.total_seconds()))
        raise RateLimitExceeded(
            retry_after,
            f"This email address has been sent {self.max_emails_per_day} booking emails in the last 24 hours, "
            f"the most we send. Please try again in {_hours_or_minutes(retry_after)}.",
        )


def _hours_or_minutes(seconds: int) -> str:
    if seconds >= 3600:
        hours = math.ceil(seconds / 3600)
        return "1 hour" if hours == 1 else f"{hours} hours"
    minutes = max(1, math.ceil(seconds / 60))
    return "1 minute" if minutes == 1 else f"{minutes} minutes"
