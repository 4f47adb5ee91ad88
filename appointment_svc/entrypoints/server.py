"""The gRPC server: services, health, reflection, graceful shutdown."""
from __future__ import annotations

import asyncio
import signal

import grpc
from google.protobuf import message_factory
from google.protobuf.message import DecodeError
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from appointment_svc.bootstrap import Container, build
from appointment_svc.domain.errors import ValidationFailed
from appointment_svc.entrypoints.admin import AdminServicer
from appointment_svc.entrypoints.brochure_servicer import BrochureServicer
from appointment_svc.entrypoints.deadline import bounded
from appointment_svc.entrypoints.errors import to_status
from appointment_svc.entrypoints.readiness import Readiness
from appointment_svc.entrypoints.servicers import PRE_ENCODED_RESPONSES, AppointmentServicer
from booking.v1 import (
    admin_service_pb2,
    admin_service_pb2_grpc,
    appointment_service_pb2,
    brochure_service_pb2,
    brochure_service_pb2_grpc,
)
from mesh_common.config import AppointmentSettings
from mesh_common.logging import configure_logging, get_logger
from mesh_common.metrics import observed
from mesh_common.metrics import serve as serve_metrics
from mesh_common.tracing import configure_tracing, traced
from mesh_common.tracing import shutdown as shutdown_tracing

log = get_logger(__name__)

# The gRPC health service name the cluster's liveness probe asks for (deploy/k8s/appointment-svc.yaml).
LIVENESS = "liveness"

SERVICE_NAMES = [
    appointment_service_pb2.DESCRIPTOR.services_by_name["AppointmentService"].full_name,
    brochure_service_pb2.DESCRIPTOR.services_by_name["BrochureService"].full_name,
    admin_service_pb2.DESCRIPTOR.services_by_name["AdminService"].full_name,
]


# Request metadata the server accepts. The gateway's header limit (max_request_headers_kb in
# gateway/config.py) is well below it, so an oversized request is the gateway's 400; past this
# limit gRPC answers RESOURCE_EXHAUSTED, which clients would read as "slow down and retry".
MAX_METADATA_BYTES = 64 * 1024
SERVER_OPTIONS = [
    ("grpc.so_reuseport", 0),
    ("grpc.max_metadata_size", MAX_METADATA_BYTES),
    ("grpc.absolute_max_metadata_size", MAX_METADATA_BYTES),
]


_UNDECODABLE = object()


def tolerant(handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
    """A request gRPC cannot decode (a string field that is not UTF-8, broken protobuf) is the
    caller's mistake: VALIDATION_ERROR, instead of grpc's UNKNOWN with the exception text and a
    logged traceback. Decoding happens before any servicer code, so only its deserialiser can catch it.
    """
    deserialize, behaviour = handler.request_deserializer, handler.unary_unary

    def tolerant_deserialize(raw: bytes):
        try:
            return deserialize(raw)
        except DecodeError:
            return _UNDECODABLE

    async def checked(request, context):
        if request is _UNDECODABLE:
            await context.abort_with_status(to_status(ValidationFailed([], "The request is not valid protobuf with UTF-8 strings.")))
        return await behaviour(request, context)

    return grpc.unary_unary_rpc_method_handler(
        checked, request_deserializer=tolerant_deserialize, response_serializer=handler.response_serializer
    )


class GuardedServer:
    """What a service is registered on: the server, except that every unary method handler is
    wrapped, once, in the guards every call gets (the deadline, the tolerant decoding, the
    trace span, and outermost the metrics). Interceptors would do the same on every call, at a measurable cost per request
    (bench/RESULTS.md, issue 13). The generated add_*_to_server functions take it as the server."""

    def __init__(self, server: grpc.aio.Server, deadline_seconds: float):
        self._server = server
        self._deadline = deadline_seconds

    def add_generic_rpc_handlers(self, handlers) -> None:
        """Ignored: the generated code passes the same methods to add_registered_method_handlers."""

    def add_registered_method_handlers(self, service: str, handlers: dict[str, grpc.RpcMethodHandler]) -> None:
        guarded = {name: self._guard(handler, f"/{service}/{name}") for name, handler in handlers.items()}
        self._server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service, guarded),))
        self._server.add_registered_method_handlers(service, guarded)

    def _guard(self, handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
        if handler.unary_unary is None or handler.request_deserializer is None:
            return handler
        return observed(traced(tolerant(bounded(handler, method, self._deadline)), method), method.rsplit("/", 1)[1])


def add_appointment_service(servicer: AppointmentServicer, server: GuardedServer) -> None:
    """The generated add_AppointmentServiceServicer_to_server, except that the methods named in
    PRE_ENCODED_RESPONSES get no response serialiser: gRPC sends the bytes their servicer returns."""
    service = appointment_service_pb2.DESCRIPTOR.services_by_name["AppointmentService"]

    def message(descriptor):
        return message_factory.GetMessageClass(descriptor)

    handlers = {
        method.name: grpc.unary_unary_rpc_method_handler(
            getattr(servicer, method.name),
            request_deserializer=message(method.input_type).FromString,
            response_serializer=None if method.name in PRE_ENCODED_RESPONSES else message(method.output_type).SerializeToString,
        )
        for method in service.methods
    }
    server.add_registered_method_handlers(service.full_name, handlers)


async def start_server(container: Container, address: str) -> tuple[grpc.aio.Server, int, Readiness]:
    server = grpc.aio.server(options=SERVER_OPTIONS)
    guarded = GuardedServer(server, container.settings.rpc_deadline_seconds)
    add_appointment_service(
        AppointmentServicer(
            container.availability, container.bookings, container.auth, container.holds, container.personal_data,
            notice=container.notice,
        ),
        guarded,
    )
    brochure_service_pb2_grpc.add_BrochureServiceServicer_to_server(BrochureServicer(container.brochures, container.auth), guarded)
    admin_service_pb2_grpc.add_AdminServiceServicer_to_server(AdminServicer(container.admin, container.auth, container.personal_data, notice=container.notice), guarded)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection([*SERVICE_NAMES, health.SERVICE_NAME, reflection.SERVICE_NAME], server)
    port = server.add_insecure_port(address)
    if port == 0:
        raise OSError(f"cannot listen on {address}")
    readiness = Readiness(
        container.ping_database,
        health_servicer,
        SERVICE_NAMES,
        interval=container.settings.readiness_interval_seconds,
        timeout=min(1.0, container.settings.rpc_deadline_seconds),
    )
    await server.start()
    # Liveness is the process answering at all: a database outage must make the kubelet take a
    # replica out of the balancing (readiness), never restart every replica in a loop.
    await health_servicer.set(LIVENESS, health_pb2.HealthCheckResponse.SERVING)
    await readiness.start()
    return server, port, readiness


async def serve(settings: AppointmentSettings) -> None:
    container = build(settings)
    server, port, readiness = await start_server(container, f"{settings.grpc_host}:{settings.grpc_port}")
    await container.start_background()
    metrics_server = None
    if settings.metrics_port:
        metrics_server, metrics_port = serve_metrics(settings.metrics_host, settings.metrics_port)
        log.info("metrics served", url=f"http://{settings.metrics_host}:{metrics_port}/metrics")
    log.info("appointment service listening", port=port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("appointment service stopping")
    await readiness.stop()
    await readiness.servicer.enter_graceful_shutdown()
    await server.stop(grace=5)
    await container.close()
    if metrics_server is not None:
        metrics_server.shutdown()


def main() -> None:
    settings = AppointmentSettings()
    configure_logging("appointment_svc", settings.log_level, settings.log_format)
    configure_tracing("appointment-svc")
    try:
        asyncio.run(serve(settings))
    finally:
        shutdown_tracing()
