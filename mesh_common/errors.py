"""The error contract: every error code a client can see, its gRPC code and its HTTP status.

This table is the single source: the services map domain errors through it and the gateway
configuration is rendered from it, so REST and gRPC callers always agree.
"""
from __future__ import annotations

from dataclasses import dataclass

import grpc


@dataclass(frozen=True)
class ErrorKind:
    code: str
    grpc_code: grpc.StatusCode
    http_status: int


ERROR_DOMAIN = "booking.v1"

_KINDS = [
    ErrorKind("VALIDATION_ERROR", grpc.StatusCode.INVALID_ARGUMENT, 400),
    ErrorKind("UNAUTHENTICATED", grpc.StatusCode.UNAUTHENTICATED, 401),
    ErrorKind("FORBIDDEN", grpc.StatusCode.PERMISSION_DENIED, 403),
    ErrorKind("NOT_FOUND", grpc.StatusCode.NOT_FOUND, 404),
    ErrorKind("SLOT_NOT_FOUND", grpc.StatusCode.NOT_FOUND, 404),
    ErrorKind("BOOKING_NOT_FOUND", grpc.StatusCode.NOT_FOUND, 404),
    ErrorKind("CONSULTANT_NOT_FOUND", grpc.StatusCode.NOT_FOUND, 404),
    ErrorKind("SLOT_UNAVAILABLE", grpc.StatusCode.ABORTED, 409),
    ErrorKind("BOOKING_ALREADY_CANCELLED", grpc.StatusCode.FAILED_PRECONDITION, 409),
    ErrorKind("INVALID_STATUS_TRANSITION", grpc.StatusCode.FAILED_PRECONDITION, 409),
    ErrorKind("SLOT_OVERLAP", grpc.StatusCode.ALREADY_EXISTS, 409),
    ErrorKind("SLOT_BOOKED", grpc.StatusCode.FAILED_PRECONDITION, 409),
    ErrorKind("REQUEST_ID_CONFLICT", grpc.StatusCode.ALREADY_EXISTS, 409),
    ErrorKind("BOOKING_LIMIT_REACHED", grpc.StatusCode.FAILED_PRECONDITION, 409),
    ErrorKind("SLOT_IN_PAST", grpc.StatusCode.FAILED_PRECONDITION, 422),
    ErrorKind("RATE_LIMIT_EXCEEDED", grpc.StatusCode.RESOURCE_EXHAUSTED, 429),
    ErrorKind("INTERNAL", grpc.StatusCode.INTERNAL, 500),
    ErrorKind("NOT_IMPLEMENTED", grpc.StatusCode.UNIMPLEMENTED, 501),
    ErrorKind("UNAVAILABLE", grpc.StatusCode.UNAVAILABLE, 503),
]

ERRORS: dict[str, ErrorKind] = {kind.code: kind for kind in _KINDS}
