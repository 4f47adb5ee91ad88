"""Every unary RPC answers within its deadline, whatever a dependency is doing.

A frozen PostgreSQL (a stopped process, a partitioned network) accepts TCP and never answers, so
no socket timeout fires, and cancelling a query in psycopg waits for the server to confirm. An
`asyncio.timeout()` around the handler would therefore wait as long as the freeze lasts. Instead
the handler runs as its own task; when the deadline passes it is cancelled, and given a moment to
finish (a live server rolls back at once, so the answer then reflects what really happened).
If it has not finished by then the call is answered UNAVAILABLE and the task is abandoned: it ends
when the dependency answers again. Its transaction is then rolled back, or (if it was committing)
may still commit: the client was told to retry, and a retry with the same requestId answers with
that booking.
"""
from __future__ import annotations

import asyncio

import grpc

from appointment_svc.domain.errors import BackendUnavailable
from appointment_svc.entrypoints.errors import to_status
from mesh_common.logging import get_logger

log = get_logger(__name__)

# How long a cancelled handler may take to wind down before the call is answered without it.
CANCEL_GRACE_SECONDS = 0.3


def _forget(task: asyncio.Task) -> None:
    # Retrieve the abandoned task's outcome so asyncio does not log it as never retrieved.
    if not task.cancelled():
        task.exception()


def bounded(handler: grpc.RpcMethodHandler, method: str, seconds: float) -> grpc.RpcMethodHandler:
    """`handler` answering within `seconds` (or the caller's shorter deadline) whatever it waits on."""
    inner = handler.unary_unary

    async def bounded(request, context: grpc.aio.ServicerContext):
        budget = seconds
        remaining = context.time_remaining()
        if remaining is not None:
            budget = min(budget, remaining)
        task = asyncio.ensure_future(inner(request, context))
        try:
            done, _ = await asyncio.wait({task}, timeout=budget)
        except asyncio.CancelledError:
            task.cancel()
            raise
        if not done:
            task.cancel()
            done, _ = await asyncio.wait({task}, timeout=CANCEL_GRACE_SECONDS)
        if done and not task.cancelled():
            return task.result()  # finished, possibly with an answer already aborted by the handler
        task.add_done_callback(_forget)
        log.warning("rpc deadline exceeded; answering unavailable", method=method, deadline_seconds=round(budget, 3))
        await context.abort_with_status(to_status(BackendUnavailable()))

    return grpc.unary_unary_rpc_method_handler(
        bounded, request_deserializer=handler.request_deserializer, response_serializer=handler.response_serializer
    )
