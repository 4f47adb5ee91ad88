"""OpenTelemetry traces: one booking is one trace, from Envoy through the services, the outbox
and NATS to the SMTP send.

The W3C `traceparent` travels as gRPC metadata (Envoy → appointment service), in the outbox row
(the transaction → the relay) and as a NATS message header (the relay → the notification
service). Spans are exported over OTLP/gRPC only when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (the
exporter reads the standard OTEL_* variables); without it nothing is recorded, but a trace id
that arrives is still carried along and written into every log line (`trace_id`).
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from contextlib import contextmanager

from opentelemetry import context, propagate, trace
from opentelemetry.trace import SpanKind

ENDPOINT_ENV = "OTEL_EXPORTER_OTLP_ENDPOINT"
TRACEPARENT = "traceparent"

_provider = None


def enabled() -> bool:
    return _provider is not None


def configure_tracing(service: str) -> bool:
    """Export spans over OTLP when the endpoint is configured; returns whether it is."""
    global _provider
    if not os.environ.get(ENDPOINT_ENV) or _provider is not None:
        return _provider is not None
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service}))
    # Batched on a background thread: a request never waits for the collector.
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(insecure=_insecure())))
    trace.set_tracer_provider(provider)
    _provider = provider
    return True


def _insecure() -> bool:
    # A plain http:// endpoint (a collector beside the service) speaks gRPC without TLS.
    return os.environ.get(ENDPOINT_ENV, "").startswith("http://")


def shutdown() -> None:
    """Flush what is buffered (bounded by the exporter's own timeout)."""
    if _provider is not None:
        _provider.shutdown()


def tracer(name: str) -> trace.Tracer:
    return trace.get_tracer(name)


def extract(pairs: Iterable[tuple[str, str]] | Mapping[str, str] | None) -> context.Context:
    """The remote parent in gRPC metadata pairs or message headers (an empty context if none)."""
    carrier = dict(pairs.items() if isinstance(pairs, Mapping) else (pairs or ()))
    return propagate.extract({k.lower(): v for k, v in carrier.items() if isinstance(v, str)})


def current_traceparent() -> str | None:
    """The current span's `traceparent`, to carry it where context variables do not reach."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get(TRACEPARENT)


@contextmanager
def span(tracer_: trace.Tracer, name: str, *, parent: context.Context | None = None, kind: SpanKind = SpanKind.INTERNAL, **attributes):
    """A span as the current one, child of `parent` (or of the current span)."""
    with tracer_.start_as_current_span(name, context=parent, kind=kind, attributes=attributes or None) as current:
        yield current


def add_trace_ids(_, __, event_dict):
    """structlog processor: the current trace and span ids on every log line inside a trace."""
    span_context = trace.get_current_span().get_span_context()
    if span_context.is_valid:
        event_dict.setdefault("trace_id", format(span_context.trace_id, "032x"))
        event_dict.setdefault("span_id", format(span_context.span_id, "016x"))
    return event_dict


def traced(handler, method: str):
    """A gRPC unary handler run inside a SERVER span named after `method` (/package.Service/Method),
    child of the caller's `traceparent` metadata (Envoy's span, or a gRPC client's)."""
    import grpc

    if not enabled():
        # Nothing would be recorded: the span (metadata parse, context switch) is not worth its
        # cost on every call (bench/RESULTS.md, issue 13). configure_tracing runs before the server
        # registers its handlers.
        return handler
    inner = handler.unary_unary
    tracer_ = tracer("booking.grpc")
    name = method.lstrip("/")

    async def in_span(request, context: grpc.aio.ServicerContext):
        parent = extract(context.invocation_metadata())
        with tracer_.start_as_current_span(name, context=parent, kind=SpanKind.SERVER) as current:
            try:
                return await inner(request, context)
            finally:
                code = context.code()
                if code is not None and code != grpc.StatusCode.OK:
                    current.set_attribute("rpc.grpc.status_code", code.value[0])

    return grpc.unary_unary_rpc_method_handler(
        in_span, request_deserializer=handler.request_deserializer, response_serializer=handler.response_serializer
    )
