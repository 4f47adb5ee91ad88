"""Domain errors: each names its contract code; status and default message come from mesh_common.errors."""
from __future__ import annotations

from dataclasses import dataclass

from mesh_common.errors import ERRORS


@dataclass(frozen=True)
class FieldViolation:
    field: str
    description: str


class DomainError(Exception):
    code = "INTERNAL"
    default_message = ERRORS[code].message

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # A code missing from the table, or a second sentence for it, fails at import, not at the first error.
        if "default_message" in cls.__dict__:
            raise TypeError(f"{cls.__name__}: default messages live in mesh_common.errors, not on the class")
        kind = ERRORS.get(cls.code)
        if kind is None or kind.message is None:
            raise TypeError(f"{cls.__name__}: {cls.code} is not an API code with a message in mesh_common.errors")
        cls.default_message = kind.message

    def __init__(self, message: str | None = None):
        super().__init__(message or self.default_message)
        self.message = message or self.default_message


class ValidationFailed(DomainError):
    code = "VALIDATION_ERROR"

    def __init__(self, violations: list[FieldViolation], message: str | None = None):
        super().__init__(message)
        self.violations = violations


class Unauthenticated(DomainError):
    code = "UNAUTHENTICATED"


class Forbidden(DomainError):
    code = "FORBIDDEN"


class SlotNotFound(DomainError):
    code = "SLOT_NOT_FOUND"


class SlotUnavailable(DomainError):
    code = "SLOT_UNAVAILABLE"


class SlotInPast(DomainError):
    code = "SLOT_IN_PAST"


class BookingNotFound(DomainError):
    code = "BOOKING_NOT_FOUND"


class HoldNotFound(DomainError):
    code = "HOLD_NOT_FOUND"


class BookingAlreadyCancelled(DomainError):
    code = "BOOKING_ALREADY_CANCELLED"


class RequestIdConflict(DomainError):
    code = "REQUEST_ID_CONFLICT"


class BookingLimitReached(DomainError):
    code = "BOOKING_LIMIT_REACHED"


class ChangeWindowClosed(DomainError):
    code = "CHANGE_WINDOW_CLOSED"


class RateLimitExceeded(DomainError):
    code = "RATE_LIMIT_EXCEEDED"

    def __init__(self, retry_after_seconds: int, message: str | None = None):
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class BackendUnavailable(DomainError):
    code = "UNAVAILABLE"


class InvalidStatusTransition(DomainError):
    code = "INVALID_STATUS_TRANSITION"


class ConsultantNotFound(DomainError):
    code = "CONSULTANT_NOT_FOUND"


class SlotOverlap(DomainError):
    code = "SLOT_OVERLAP"


class SlotBooked(DomainError):
    code = "SLOT_BOOKED"


class OutsideServiceArea(DomainError):
    code = "OUTSIDE_SERVICE_AREA"
