"""A fake booking gRPC upstream for driving the real Envoy gateway in tests.

It implements the three booking.v1 services with canned answers and records every call
(method, metadata, request) so tests can check what the gateway forwarded. Any string field
of a request set to ``err:<CODE>`` makes the RPC fail the way the real services do: a
google.rpc.Status with ErrorInfo{reason=CODE, domain="booking.v1"} (plus BadRequest field
violations for VALIDATION_ERROR and a ``retry-after`` trailer for RATE_LIMIT_EXCEEDED);
``crash`` makes the handler raise, as a bug would.
"""
from __future__ import annotations

import threading
from concurrent import futures
from dataclasses import dataclass, field

import grpc
from google.protobuf import any_pb2, timestamp_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from grpc_status import rpc_status

from appointment_svc.entrypoints.server import SERVER_OPTIONS
from booking.v1 import (
    admin_service_pb2 as admin_pb2,
)
from booking.v1 import (
    admin_service_pb2_grpc as admin_grpc,
)
from booking.v1 import (
    appointment_service_pb2 as appt_pb2,
)
from booking.v1 import (
    appointment_service_pb2_grpc as appt_grpc,
)
from booking.v1 import (
    brochure_service_pb2 as brochure_pb2,
)
from booking.v1 import (
    brochure_service_pb2_grpc as brochure_grpc,
)
from booking.v1 import (
    resources_pb2 as res,
)
from mesh_common.errors import ERROR_DOMAIN, ERRORS

ERROR_PREFIX = "err:"
CRASH = "crash"  # a string field with this value makes the handler raise (gRPC UNKNOWN)
SECRET_DETAIL = "db password is hunter2"
BOOKING_ID = "6f1c2a8e-2d4b-4c55-9b1e-0a7c3f1d9e21"
SLOT_ID = "0b7d9a52-5a0e-4f3a-8a8e-6c1f2e3d4b5a"
CONSULTANT_ID = "c0ffee00-1111-4222-8333-444455556666"
# A message with characters JSON must escape, so the gateway's rewriting is checked for validity.
TRICKY_MESSAGE = 'Slot "10:00" was just taken \\ pick another — sorry\nreally'


def _ts(seconds: int) -> timestamp_pb2.Timestamp:
    return timestamp_pb2.Timestamp(seconds=seconds)


@dataclass
class Call:
    method: str
    metadata: dict[str, str]
    request: object


@dataclass
class _RichStatus(grpc.Status):
    code: grpc.StatusCode
    details: str
    trailing_metadata: tuple = field(default_factory=tuple)


def error_status(code: str, message: str | None = None) -> _RichStatus:
    """The status a real service aborts with for a contract error code."""
    kind = ERRORS[code]
    info = any_pb2.Any()
    info.Pack(error_details_pb2.ErrorInfo(reason=code, domain=ERROR_DOMAIN, metadata={"hint": "fake"}))
    details = [info]
    if code == "VALIDATION_ERROR":
        bad = any_pb2.Any()
        bad.Pack(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(field="firstName", description="is required"),
                    error_details_pb2.BadRequest.FieldViolation(field="email", description='"x@" is not an email address'),
                ]
            )
        )
        details.append(bad)
    if message is None:
        message = TRICKY_MESSAGE if code == "SLOT_UNAVAILABLE" else f"fake {code.lower().replace('_', ' ')}"
    proto = status_pb2.Status(code=kind.grpc_code.value[0], message=message, details=details)
    converted = rpc_status.to_status(proto)
    trailing = tuple(converted.trailing_metadata)
    if code == "RATE_LIMIT_EXCEEDED":
        trailing += (("retry-after", "30"),)
    return _RichStatus(converted.code, converted.details, trailing)


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._lock = threading.Lock()

    def record(self, method: str, request, context: grpc.ServicerContext) -> None:
        metadata = {k: v for k, v in context.invocation_metadata() if isinstance(v, str)}
        with self._lock:
            self.calls.append(Call(method, metadata, request))
        for descriptor, value in request.ListFields():
            if descriptor.type != descriptor.TYPE_STRING or not isinstance(value, str):
                continue
            if value.startswith(ERROR_PREFIX):
                context.abort_with_status(error_status(value[len(ERROR_PREFIX):]))
            if value == CRASH:
                raise RuntimeError(SECRET_DETAIL)


def _slot(n: int) -> res.Slot:
    start = 1_893_484_800 + n * 3600  # 2030-01-01T09:00:00Z onwards
    return res.Slot(
        slot_id=f"{SLOT_ID[:-1]}{n}",
        starts_at=_ts(start),
        ends_at=_ts(start + 3600),
        consultant=res.ConsultantSummary(name="Ada Fitter", avatar_url="https://example.test/ada.png"),
    )


def _appointment() -> res.Appointment:
    return res.Appointment(
        booking_id=BOOKING_ID,
        reference_code="BK-20300101-0001",
        status=res.PENDING,
        type=res.HOME_MEASUREMENT,
        for_kitchen=True,
        first_name="Jane",
        last_name="Doe",
        email="jane@example.test",
        slot=_slot(0),
        created_at=_ts(1_893_400_000),
        user_id="user-1",
    )


class _Appointments(appt_grpc.AppointmentServiceServicer):
    def __init__(self, rec: _Recorder) -> None:
        self._rec = rec

    def ListAvailableSlots(self, request, context):
        self._rec.record("ListAvailableSlots", request, context)
        return appt_pb2.ListAvailableSlotsResponse(slots=[_slot(0), _slot(1)])

    def CreateAppointment(self, request, context):
        self._rec.record("CreateAppointment", request, context)
        return appt_pb2.CreateAppointmentResponse(booking_id=BOOKING_ID, reference_code="BK-20300101-0001", status=res.PENDING)

    def CancelAppointment(self, request, context):
        self._rec.record("CancelAppointment", request, context)
        return appt_pb2.CancelAppointmentResponse(
            booking_id=request.booking_id,
            reference_code="BK-20300101-0001",
            status=res.CANCELLED,
            cancelled_at=_ts(1_893_450_000),
            cancel_reason=request.reason,
        )

    def RescheduleAppointment(self, request, context):
        self._rec.record("RescheduleAppointment", request, context)
        return appt_pb2.RescheduleAppointmentResponse(
            booking_id=request.booking_id, reference_code="BK-20300101-0001", status=res.PENDING,
            slot=_slot(1), previous_slot=_slot(0), reschedule_count=1,
        )  # fmt: skip

    def GetAppointment(self, request, context):
        self._rec.record("GetAppointment", request, context)
        return appt_pb2.GetAppointmentResponse(appointment=_appointment())

    def ListMyAppointments(self, request, context):
        self._rec.record("ListMyAppointments", request, context)
        return appt_pb2.ListMyAppointmentsResponse(data=[_appointment()], total=1, page=1, total_pages=1)


class _Brochures(brochure_grpc.BrochureServiceServicer):
    def __init__(self, rec: _Recorder) -> None:
        self._rec = rec

    def RequestBrochure(self, request, context):
        self._rec.record("RequestBrochure", request, context)
        return brochure_pb2.RequestBrochureResponse(message="Brochure on its way")


class _Admin(admin_grpc.AdminServiceServicer):
    def __init__(self, rec: _Recorder) -> None:
        self._rec = rec

    def ListAppointments(self, request, context):
        self._rec.record("ListAppointments", request, context)
        return admin_pb2.ListAppointmentsResponse(data=[_appointment()], total=1, page=1, total_pages=1)

    def GetAppointmentDetails(self, request, context):
        self._rec.record("GetAppointmentDetails", request, context)
        return admin_pb2.GetAppointmentDetailsResponse(appointment=_appointment())

    def ConfirmAppointment(self, request, context):
        self._rec.record("ConfirmAppointment", request, context)
        return admin_pb2.ConfirmAppointmentResponse(appointment=_appointment())

    def CompleteAppointment(self, request, context):
        self._rec.record("CompleteAppointment", request, context)
        return admin_pb2.CompleteAppointmentResponse(appointment=_appointment())

    def MarkNoShow(self, request, context):
        self._rec.record("MarkNoShow", request, context)
        return admin_pb2.MarkNoShowResponse(appointment=_appointment())

    def CancelAppointmentOnBehalf(self, request, context):
        self._rec.record("CancelAppointmentOnBehalf", request, context)
        return admin_pb2.CancelAppointmentOnBehalfResponse(appointment=_appointment())

    def CreateConsultant(self, request, context):
        self._rec.record("CreateConsultant", request, context)
        return admin_pb2.CreateConsultantResponse(consultant_id=CONSULTANT_ID)

    def ListConsultants(self, request, context):
        self._rec.record("ListConsultants", request, context)
        return admin_pb2.ListConsultantsResponse(
            consultants=[res.Consultant(consultant_id=CONSULTANT_ID, name="Ada Fitter", categories=[res.KITCHEN])]
        )

    def CreateSlot(self, request, context):
        self._rec.record("CreateSlot", request, context)
        return admin_pb2.CreateSlotResponse(slot_id=SLOT_ID)

    def GenerateSlots(self, request, context):
        self._rec.record("GenerateSlots", request, context)
        return admin_pb2.GenerateSlotsResponse(created=3, skipped=0)

    def BlockSlot(self, request, context):
        self._rec.record("BlockSlot", request, context)
        return admin_pb2.BlockSlotResponse(slot_id=request.slot_id, blocked=True)

    def UnblockSlot(self, request, context):
        self._rec.record("UnblockSlot", request, context)
        return admin_pb2.UnblockSlotResponse(slot_id=request.slot_id, blocked=False)


class _MethodLog(grpc.ServerInterceptor):
    """Every RPC path that reached the server, including reflection and health."""

    def __init__(self) -> None:
        self.methods: list[str] = []

    def intercept_service(self, continuation, handler_call_details):
        self.methods.append(handler_call_details.method)
        return continuation(handler_call_details)


class FakeBookingUpstream:
    """The three booking services plus gRPC health and reflection on 127.0.0.1:<free port>."""

    def __init__(self) -> None:
        self._recorder = _Recorder()
        self._method_log = _MethodLog()
        self._server: grpc.Server | None = None
        self.port: int | None = None

    @property
    def calls(self) -> list[Call]:
        """Booking RPCs handled since the last clear()."""
        return list(self._recorder.calls)

    @property
    def methods_seen(self) -> list[str]:
        """Every RPC path received since the last clear(), except Envoy's health checks."""
        return [m for m in self._method_log.methods if m != "/grpc.health.v1.Health/Check"]

    def clear(self) -> None:
        self._recorder.calls.clear()
        self._method_log.methods.clear()

    def start(self) -> int:
        # The real service's options (metadata limit), so header sizes behave as in production.
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=8), interceptors=[self._method_log], options=SERVER_OPTIONS)
        appt_grpc.add_AppointmentServiceServicer_to_server(_Appointments(self._recorder), server)
        brochure_grpc.add_BrochureServiceServicer_to_server(_Brochures(self._recorder), server)
        admin_grpc.add_AdminServiceServicer_to_server(_Admin(self._recorder), server)
        health_servicer = health.HealthServicer()
        health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
        health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
        names = [
            appt_pb2.DESCRIPTOR.services_by_name["AppointmentService"].full_name,
            brochure_pb2.DESCRIPTOR.services_by_name["BrochureService"].full_name,
            admin_pb2.DESCRIPTOR.services_by_name["AdminService"].full_name,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        ]
        reflection.enable_server_reflection(names, server)
        self.port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        self._server = server
        return self.port

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(grace=None)
            self._server = None
