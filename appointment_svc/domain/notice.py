"""The notice window (issue 14): how close to its start a customer may still change an appointment.

A designer's day is planned the day before; a customer's change inside the window would leave a
gap nobody can fill, so online changes stop there and the showroom decides by phone. Staff act
for the customer and are never limited (their use cases do not ask).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from appointment_svc.domain.errors import ChangeWindowClosed

DEFAULT_CHANGE_NOTICE_HOURS = 24


@dataclass(frozen=True)
class ChangeNotice:
    """`hours` before a slot starts, its booking stops being the customer's to cancel or move; 0: never."""

    hours: int = DEFAULT_CHANGE_NOTICE_HOURS

    def __post_init__(self) -> None:
        if self.hours < 0:
            raise ValueError("the change notice cannot be negative")

    def closes_at(self, starts_at: datetime) -> datetime:
        """The last moment a customer may still change an appointment starting at `starts_at`."""
        return starts_at - timedelta(hours=self.hours)

    def check(self, starts_at: datetime, now: datetime) -> None:
        if self.hours and now > self.closes_at(starts_at):
            raise ChangeWindowClosed(
                f"This appointment starts within {self.hours} hours, so it can no longer be cancelled or moved online. "
                "Please call the showroom and we will help."
            )


NO_NOTICE = ChangeNotice(0)
