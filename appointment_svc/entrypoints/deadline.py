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


class DeadlineInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, seconds: float):
        self._seconds = seconds
        # Handlers are fixed at start, so each method's wrapper is built once, not on every call.
        self._wrapped: dict[str, grpc.RpcMethodHandler] = {}

    async def intercept_service(self, continuation, handler_call_details):
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler  # health Watch and reflection stream; nothing of ours to bound
        wrapped = self._wrapped.get(handler_call_details.method)
        if wrapped is None:
            wrapped = self._wrapped[handler_call_details.method] = self._bounded(handler, handler_call_details.method)
        return wrapped

    def _bounded(self, handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
        inner = handler.unary_unary

        async def bounded(request, context: grpc.aio.ServicerContext):
            budget = self._seconds
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
