"""Prometheus metrics both services expose, and serving them.

Names start with `booking_`; what each service adds lives beside the code that counts it
(appointment_svc/adapters/metrics.py, notification_svc/metrics.py). deploy/grafana and
deploy/prometheus read these names.
"""
from __future__ import annotations

import time

import grpc
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest, start_http_server

# Latency buckets for RPCs answered in milliseconds (cache hits) up to the 2.4 s deadline.
RPC_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

RPC_REQUESTS = Counter("booking_rpc_requests_total", "RPCs answered, by method and gRPC status", ["method", "code"])
RPC_SECONDS = Histogram("booking_rpc_duration_seconds", "Time to answer an RPC, by method", ["method"], buckets=RPC_BUCKETS)
ERRORS = Counter("booking_errors_total", "Errors answered to clients, by contract code (SLOT_UNAVAILABLE is a lost race)", ["code"])


def observed(handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
    """`handler` counted and timed under `method` (its short name, e.g. CreateAppointment)."""
    inner = handler.unary_unary
    seconds = RPC_SECONDS.labels(method)
    answered: dict[str, object] = {}  # status name → its counter child, made once

    def count(code: grpc.StatusCode | None) -> None:
        name = (code or grpc.StatusCode.OK).name
        child = answered.get(name)
        if child is None:
            child = answered[name] = RPC_REQUESTS.labels(method, name)
        child.inc()

    async def observing(request, context: grpc.aio.ServicerContext):
        started = time.perf_counter()
        try:
            result = await inner(request, context)
        except BaseException:
            # An abort raises; its status is on the context. Anything else reaches the client as UNKNOWN.
            count(context.code() or grpc.StatusCode.UNKNOWN)
            raise
        finally:
            seconds.observe(time.perf_counter() - started)
        count(context.code())
        return result

    return grpc.unary_unary_rpc_method_handler(
        observing, request_deserializer=handler.request_deserializer, response_serializer=handler.response_serializer
    )


def serve(host: str, port: int):
    """The /metrics endpoint on its own thread; returns (server, the port it listens on)."""
    server, _thread = start_http_server(port, addr=host)
    return server, server.server_address[1]


def exposition() -> tuple[bytes, str]:
    """The registry in Prometheus' text format, and its content type (for a server of our own)."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
