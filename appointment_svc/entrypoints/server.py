"""The gRPC server: services, health, reflection, graceful shutdown."""
from __future__ import annotations

import asyncio
import signal

import grpc
from google.protobuf.message import DecodeError
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from appointment_svc.bootstrap import Container, build
from appointment_svc.domain.errors import ValidationFailed
from appointment_svc.entrypoints.admin import AdminServicer
from appointment_svc.entrypoints.brochure_servicer import BrochureServicer
from appointment_svc.entrypoints.deadline import DeadlineInterceptor
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


class RejectUndecodableRequests(grpc.aio.ServerInterceptor):
    """A request gRPC cannot decode (a string field that is not UTF-8, broken protobuf) is the
    caller's mistake: VALIDATION_ERROR, instead of grpc's UNKNOWN with the exception text and a
    logged traceback. Decoding happens before any servicer code, so only here can it be caught.
    """

    def __init__(self) -> None:
        # Handlers are fixed at start, so each method's wrapper is built once, not on every call.
        self._wrapped: dict[str, grpc.RpcMethodHandler] = {}

    async def intercept_service(self, continuation, handler_call_details):
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None or handler.request_deserializer is None:
            return handler
        wrapped = self._wrapped.get(handler_call_details.method)
        if wrapped is None:
            wrapped = self._wrapped[handler_call_details.method] = self._tolerant(handler)
        return wrapped

    @staticmethod
    def _tolerant(handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
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


def add_appointment_service(servicer: AppointmentServicer, server: grpc.aio.Server) -> None:
    """The generated add_AppointmentServiceServicer_to_server, except that the methods named in
    PRE_ENCODED_RESPONSES get no response serialiser: gRPC sends the bytes their servicer returns."""
    service = appointment_service_pb2.DESCRIPTOR.services_by_name["AppointmentService"]

    def message(descriptor):
        return getattr(appointment_service_pb2, descriptor.name)

    handlers = {
        method.name: grpc.unary_unary_rpc_method_handler(
            getattr(servicer, method.name),
            request_deserializer=message(method.input_type).FromString,
            response_serializer=None if method.name in PRE_ENCODED_RESPONSES else message(method.output_type).SerializeToString,
        )
        for method in service.methods
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service.full_name, handlers),))
    server.add_registered_method_handlers(service.full_name, handlers)


async def start_server(container: Container, address: str) -> tuple[grpc.aio.Server, int, Readiness]:
    # Outermost first: an undecodable request is refused before the deadline machinery runs.
    server = grpc.aio.server(
        options=SERVER_OPTIONS,
        interceptors=[RejectUndecodableRequests(), DeadlineInterceptor(container.settings.rpc_deadline_seconds)],
    )
    add_appointment_service(AppointmentServicer(container.availability, container.bookings, container.auth, container.holds), server)
    brochure_service_pb2_grpc.add_BrochureServiceServicer_to_server(BrochureServicer(container.brochures, container.auth), server)
    admin_service_pb2_grpc.add_AdminServiceServicer_to_server(AdminServicer(container.admin, container.auth), server)
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
    await container.relay.start()
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


def main() -> None:
    settings = AppointmentSettings()
    configure_logging("appointment_svc", settings.log_level, settings.log_format)
    asyncio.run(serve(settings))
