"""Domain errors: each carries the contract code the transport maps to a status."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldViolation:
    field: str
    description: str


class DomainError(Exception):
    code = "INTERNAL"
    default_message = "Something went wrong."

    def __init__(self, message: str | None = None):
        super().__init__(message or self.default_message)
        self.message = message or self.default_message


class ValidationFailed(DomainError):
    code = "VALIDATION_ERROR"
    default_message = "Some fields are missing or invalid."

    def __init__(self, violations: list[FieldViolation], message: str | None = None):
        super().__init__(message)
        self.violations = violations


class Unauthenticated(DomainError):
    code = "UNAUTHENTICATED"
    default_message = "A valid bearer token is required."


class Forbidden(DomainError):
    code = "FORBIDDEN"
    default_message = "You are not allowed to do this."


class SlotNotFound(DomainError):
    code = "SLOT_NOT_FOUND"
    default_message = "This slot does not exist."


class SlotUnavailable(DomainError):
    code = "SLOT_UNAVAILABLE"
    default_message = "This slot was just booked. Please choose another."


class SlotInPast(DomainError):
    code = "SLOT_IN_PAST"
    default_message = "This slot has already started. Please choose a later one."


class BookingNotFound(DomainError):
    code = "BOOKING_NOT_FOUND"
    default_message = "This booking does not exist."


class BookingAlreadyCancelled(DomainError):
    code = "BOOKING_ALREADY_CANCELLED"
    default_message = "This booking is already cancelled."


class RequestIdConflict(DomainError):
    code = "REQUEST_ID_CONFLICT"
    default_message = "This requestId was already used for a different booking request."


class BookingLimitReached(DomainError):
    code = "BOOKING_LIMIT_REACHED"
    default_message = "You already have the most upcoming appointments we can hold for one customer. Please cancel one first."


class RateLimitExceeded(DomainError):
    code = "RATE_LIMIT_EXCEEDED"
    default_message = "Too many requests. Please try again later."

    def __init__(self, retry_after_seconds: int, message: str | None = None):
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class BackendUnavailable(DomainError):
    code = "UNAVAILABLE"
    default_message = "The service is temporarily unavailable. Please try again shortly."


class InvalidStatusTransition(DomainError):
    code = "INVALID_STATUS_TRANSITION"
    default_message = "The booking cannot move to that status from its current one."


class ConsultantNotFound(DomainError):
    code = "CONSULTANT_NOT_FOUND"
    default_message = "This consultant does not exist."


class SlotOverlap(DomainError):
    code = "SLOT_OVERLAP"
    default_message = "This slot overlaps another slot of the same consultant."


class SlotBooked(DomainError):
    code = "SLOT_BOOKED"
    default_message = "This slot has an active booking: cancel the booking first."
