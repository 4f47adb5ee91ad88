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

    def check_email_quota(self, recent_sends: list[datetime], now: datetime, *, promised: int = 0, needs: int = 1) -> None:
        """`recent_sends`: when booking emails went to this recipient in the last 24 hours;
        `promised`: emails the recipient may still be sent without asking (the cancellation notice
        of each of its upcoming bookings: a customer can always cancel); `needs`: emails this
        request causes or promises (a booking: its confirmation and its own cancellation notice).

        So sent + promised never passes the limit, and neither does any 24 hours of email, however
        bookings and cancellations interleave. Past it: RateLimitExceeded, retry once enough of the
        counted emails leave the window (or, if upcoming bookings alone fill it, in 24 hours).
        """
        in_window = sorted(t for t in recent_sends if t > now - EMAIL_WINDOW)
        excess = len(in_window) + promised + needs - self.max_emails_per_day
        if excess <= 0:
            return
        frees_at = in_window[excess - 1] + EMAIL_WINDOW if excess <= len(in_window) else now + EMAIL_WINDOW
        # Capped: another service process's clock may run a little ahead of this one's.
        retry_after = min(max(1, math.ceil((frees_at - now).total_seconds())), int(EMAIL_WINDOW.total_seconds()))
        raise RateLimitExceeded(
            retry_after,
            f"This email address has reached its limit of {self.max_emails_per_day} booking emails in 24 hours "
            f"(counting the notices its upcoming appointments may still need). Please try again in {_hours_or_minutes(retry_after)}.",
        )


def _hours_or_minutes(seconds: int) -> str:
    if seconds >= 3600:
        hours = math.ceil(seconds / 3600)
        return "1 hour" if hours == 1 else f"{hours} hours"
    minutes = max(1, math.ceil(seconds / 60))
    return "1 minute" if minutes == 1 else f"{minutes} minutes"
