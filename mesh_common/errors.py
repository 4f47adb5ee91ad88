"""The error contract: every error code a client can see, in one table.

A row says what its code means on both transports and which sentences go with it. The domain
errors take their default message from it, the gRPC mapping its status, the gateway's Envoy
config and Lua tables their statuses, fallbacks and replacement messages, and the OpenAPI
document its code lists; no other file spells a status for a code.

Nothing here imports grpc, so the domain can read the table: the gRPC column is the status
name (google.rpc.Code), turned into a grpc.StatusCode only by the transports that need one.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorKind:
    code: str
    http_status: int
    # None: only the gateway answers with this code, never an RPC.
    grpc_name: str | None
    # What a service says when the error carries no sentence of its own; None: no service raises it.
    message: str | None = None
    # What the gateway says instead of upstream text that may be an exception or a connect error.
    gateway_message: str | None = None
    # A failed RPC without a known ErrorInfo reason becomes this code when its gRPC status is one of these.
    fallback_for_grpc: tuple[str, ...] = ()
    # A non-JSON error body with one of these HTTP statuses becomes this code (a safety net).
    fallback_for_http: tuple[int, ...] = ()

    @property
    def grpc_code(self):
        """The grpc.StatusCode of the row (imported here so the table itself stays grpc-free)."""
        import grpc

        return grpc.StatusCode[self.grpc_name]


ERROR_DOMAIN = "booking.v1"

_KINDS = [
    ErrorKind("VALIDATION_ERROR", 400, "INVALID_ARGUMENT", "Some fields are missing or invalid.",
              "The request is invalid", ("INVALID_ARGUMENT", "OUT_OF_RANGE"), (400,)),
    ErrorKind("UNAUTHENTICATED", 401, "UNAUTHENTICATED", "A valid bearer token is required.",
              "Authentication required", ("UNAUTHENTICATED",), (401,)),
    ErrorKind("FORBIDDEN", 403, "PERMISSION_DENIED", "You are not allowed to do this.",
              "You are not allowed to do this", ("PERMISSION_DENIED",), (403,)),
    # UNIMPLEMENTED: a path the transcoder routed to a method the upstream does not serve.
    ErrorKind("NOT_FOUND", 404, "NOT_FOUND", None, "Not found", ("NOT_FOUND", "UNIMPLEMENTED"), (404,)),
    ErrorKind("SLOT_NOT_FOUND", 404, "NOT_FOUND", "This slot does not exist."),
    ErrorKind("BOOKING_NOT_FOUND", 404, "NOT_FOUND", "This booking does not exist."),
    ErrorKind("HOLD_NOT_FOUND", 404, "NOT_FOUND", "This hold does not exist: it was released, used or replaced."),
    ErrorKind("CONSULTANT_NOT_FOUND", 404, "NOT_FOUND", "This consultant does not exist."),
    ErrorKind("SLOT_UNAVAILABLE", 409, "ABORTED", "This slot was just booked. Please choose another."),
    ErrorKind("BOOKING_ALREADY_CANCELLED", 409, "FAILED_PRECONDITION", "This booking is already cancelled."),
    ErrorKind("INVALID_STATUS_TRANSITION", 409, "FAILED_PRECONDITION",
              "The booking cannot move to that status from its current one."),
    ErrorKind("SLOT_OVERLAP", 409, "ALREADY_EXISTS", "This slot overlaps another slot of the same consultant."),
    ErrorKind("SLOT_BOOKED", 409, "FAILED_PRECONDITION", "This slot has an active booking: cancel the booking first."),
    ErrorKind("REQUEST_ID_CONFLICT", 409, "ALREADY_EXISTS",
              "This requestId was already used for a different booking request."),
    ErrorKind("BOOKING_LIMIT_REACHED", 409, "FAILED_PRECONDITION",
              "You already have the most upcoming appointments we can hold for one customer. Please cancel one first."),
    ErrorKind("CHANGE_WINDOW_CLOSED", 409, "FAILED_PRECONDITION",
              "This appointment starts too soon to change online. Please call the showroom to cancel or move it."),
    ErrorKind("SLOT_IN_PAST", 422, "FAILED_PRECONDITION", "This slot has already started. Please choose a later one."),
    ErrorKind("OUTSIDE_SERVICE_AREA", 422, "FAILED_PRECONDITION",
              "This designer does not visit your postcode. Please choose a slot of a designer who covers your area."),
    ErrorKind("RATE_LIMIT_EXCEEDED", 429, "RESOURCE_EXHAUSTED", "Too many requests. Please try again later.",
              "Too many requests, please retry later", ("RESOURCE_EXHAUSTED",), (429,)),
    ErrorKind("INTERNAL", 500, "INTERNAL", "Something went wrong.", "Something went wrong on our side"),
    ErrorKind("NOT_IMPLEMENTED", 501, "UNIMPLEMENTED"),
    # DEADLINE_EXCEEDED and CANCELLED: the upstream timed out or the call was cut; retrying may work.
    ErrorKind("UNAVAILABLE", 503, "UNAVAILABLE", "The service is temporarily unavailable. Please try again shortly.",
              "The booking service is temporarily unavailable, please retry",
              ("UNAVAILABLE", "DEADLINE_EXCEEDED", "CANCELLED"), (502, 503, 504)),
    # Only the browser app's routes (and the dev sign-in) answer 405; no RPC route ever does.
    ErrorKind("METHOD_NOT_ALLOWED", 405, None,
              gateway_message="This address does not answer that method; the Allow header lists the ones it does."),
]  # fmt: skip

# Every code a client of the gateway can see, the gateway-only ones included.
CONTRACT: dict[str, ErrorKind] = {kind.code: kind for kind in _KINDS}

# The codes of the API: what an RPC, through the gateway or on the gRPC port, can answer.
ERRORS: dict[str, ErrorKind] = {code: kind for code, kind in CONTRACT.items() if kind.grpc_name is not None}


def grpc_fallback() -> dict[str, str]:
    """gRPC status name -> contract code, for a failed RPC without a known ErrorInfo reason."""
    return {name: kind.code for kind in _KINDS for name in kind.fallback_for_grpc}


def http_fallback() -> dict[int, str]:
    """HTTP status -> contract code, for an error body that is not JSON at all."""
    return {status: kind.code for kind in _KINDS for status in kind.fallback_for_http}


def gateway_messages() -> dict[str, str]:
    """Contract code -> the gateway's sentence, for the codes that have one."""
    return {kind.code: kind.gateway_message for kind in ERRORS.values() if kind.gateway_message}
