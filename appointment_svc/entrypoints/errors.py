"""The one place where failures become gRPC statuses (google.rpc.Status + ErrorInfo)."""
from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from appointment_svc.domain.errors import BackendUnavailable, DomainError, RateLimitExceeded, ValidationFailed
from mesh_common.errors import ERROR_DOMAIN, ERRORS
from mesh_common.logging import get_logger
from mesh_common.metrics import ERRORS as ERRORS_ANSWERED

log = get_logger(__name__)

_BACKEND_DOWN = (OperationalError, InterfaceError, PoolTimeout, RedisConnectionError, ConnectionError, asyncio.TimeoutError)


def to_status(error: DomainError) -> grpc.Status:
    kind = ERRORS[error.code]
    ERRORS_ANSWERED.labels(error.code).inc()  # every error answer passes here, once
    details = [error_details_pb2.ErrorInfo(reason=error.code, domain=ERROR_DOMAIN)]
    if isinstance(error, ValidationFailed):
        details.append(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
                    for v in error.violations
                ]
            )
        )
    packed = []
    for detail in details:
        holder = any_pb2.Any()
        holder.Pack(detail)
        packed.append(holder)
    status = rpc_status.to_status(status_pb2.Status(code=kind.grpc_code.value[0], message=error.message, details=packed))
    if isinstance(error, RateLimitExceeded):
        # abort_with_status sends only the status's own trailers, so Retry-After must ride along in them.
        return _Status(status.code, status.details, (*status.trailing_metadata, ("retry-after", str(error.retry_after_seconds))))
    return status


@dataclass(frozen=True)
class _Status(grpc.Status):
    code: grpc.StatusCode
    details: str
    trailing_metadata: tuple


def classify(exc: BaseException) -> DomainError:
    if isinstance(exc, DomainError):
        return exc
    if isinstance(exc, _BACKEND_DOWN) or (isinstance(exc, DBAPIError) and exc.connection_invalidated):
        log.warning("backing service unavailable", error=type(exc).__name__)
        return BackendUnavailable()
    log.exception("unexpected error")
    return DomainError()


def rpc(method):
    """Wraps a servicer method so every failure leaves as a contract status, never a stack trace."""

    @functools.wraps(method)
    async def wrapper(self, request, context: grpc.aio.ServicerContext):
        try:
            return await method(self, request, context)
        except Exception as exc:  # everything is mapped below, once
            if isinstance(exc, grpc.aio.AbortError):
                raise
            await context.abort_with_status(to_status(classify(exc)))

    return wrapper


