"""Thin gRPC servicers: proto in → command → handler → proto out (errors via `rpc`)."""
from __future__ import annotations

import math

from appointment_svc.domain.model import Slot
from appointment_svc.domain.notice import ChangeNotice
from appointment_svc.domain.validation import raise_if_invalid
from appointment_svc.entrypoints import convert
from appointment_svc.entrypoints.auth import Authenticator
from appointment_svc.entrypoints.errors import rpc
from appointment_svc.service_layer.availability import AvailabilityService
from appointment_svc.service_layer.booking import BookingService
from appointment_svc.service_layer.holds import HoldService
from appointment_svc.service_layer.personal_data import PersonalDataService
from booking.v1 import appointment_service_pb2 as pb
from booking.v1 import appointment_service_pb2_grpc as pb_grpc
from booking.v1 import resources_pb2 as res


def slot_in_list_response(slot: Slot) -> bytes:
    """One slot as ListAvailableSlotsResponse bytes. Serialised messages concatenate into their
    merge, and `slots` is the response's only field, so any run of these is a whole response."""
    return pb.ListAvailableSlotsResponse(slots=[convert.slot_message(slot)]).SerializeToString()


# Methods whose servicer answers the response's serialised bytes (server.py registers them without serialiser).
PRE_ENCODED_RESPONSES = frozenset({"ListAvailableSlots"})


class AppointmentServicer(pb_grpc.AppointmentServiceServicer):
    def __init__(
        self,
        availability: AvailabilityService,
        bookings: BookingService,
        auth: Authenticator,
        holds: HoldService,
        personal_data: PersonalDataService | None = None,
        *,
        notice: ChangeNotice,
    ):
        self._availability = availability
        self._notice = notice
        self._bookings = bookings
        self._auth = auth
        self._holds = holds
        self._personal_data = personal_data

    @rpc
    async def ListAvailableSlots(self, request: pb.ListAvailableSlotsRequest, context) -> bytes:
        self._auth.optional(context)
        return await self._availability.list_available(convert.availability_query(request))

    @rpc
    async def CreateAppointment(self, request: pb.CreateAppointmentRequest, context) -> pb.CreateAppointmentResponse:
        principal = self._auth.principal(context)
        booking = await self._bookings.book(convert.book_slot_command(request, principal.user_id))
        return pb.CreateAppointmentResponse(
            booking_id=str(booking.id), reference_code=booking.reference_code, status=res.BookingStatus.Value(booking.status.value)
        )

    @rpc
    async def CreateSlotHold(self, request: pb.CreateSlotHoldRequest, context) -> pb.CreateSlotHoldResponse:
        principal = self._auth.principal(context)
        hold = await self._holds.hold(convert.required_uuid(request.slot_id, "slotId"), principal)
        return pb.CreateSlotHoldResponse(hold_id=str(hold.id), slot_id=str(hold.slot_id), expires_at=convert.timestamp(hold.expires_at))

    @rpc
    async def ReleaseSlotHold(self, request: pb.ReleaseSlotHoldRequest, context) -> pb.ReleaseSlotHoldResponse:
        principal = self._auth.principal(context)
        hold = await self._holds.release(convert.required_uuid(request.hold_id, "holdId"), principal)
        return pb.ReleaseSlotHoldResponse(hold_id=str(hold.id), slot_id=str(hold.slot_id))

    @rpc
    async def CancelAppointment(self, request: pb.CancelAppointmentRequest, context) -> pb.CancelAppointmentResponse:
        principal = self._auth.principal(context)
        violations: list = []
        reason = convert.cancel_reason(request.reason, violations, required=False)
        raise_if_invalid(violations)
        booking = await self._bookings.cancel(convert.booking_id(request.booking_id), principal, reason)
        return pb.CancelAppointmentResponse(
            booking_id=str(booking.id),
            reference_code=booking.reference_code,
            status=res.BookingStatus.Value(booking.status.value),
            cancelled_at=convert.timestamp(booking.cancelled_at),
            cancel_reason=booking.cancel_reason,
        )

    @rpc
    async def RescheduleAppointment(self, request: pb.RescheduleAppointmentRequest, context) -> pb.RescheduleAppointmentResponse:
        principal = self._auth.principal(context)
        booking_id, slot_id = convert.reschedule_target(request)
        booking, previous = await self._bookings.reschedule(booking_id, principal, slot_id)
        return pb.RescheduleAppointmentResponse(
            booking_id=str(booking.id),
            reference_code=booking.reference_code,
            status=res.BookingStatus.Value(booking.status.value),
            slot=convert.slot_message(booking.slot),
            previous_slot=convert.slot_message(previous),
            reschedule_count=booking.reschedule_count,
        )

    @rpc
    async def GetAppointment(self, request: pb.GetAppointmentRequest, context) -> pb.GetAppointmentResponse:
        principal = self._auth.principal(context)
        booking = await self._bookings.get(convert.booking_id(request.booking_id), principal)
        return pb.GetAppointmentResponse(appointment=convert.appointment_message(booking, self._notice))

    @rpc
    async def ListMyAppointments(self, request: pb.ListMyAppointmentsRequest, context) -> pb.ListMyAppointmentsResponse:
        principal = self._auth.principal(context)
        violations: list = []
        page, limit = convert.page_and_limit(request, violations)
        raise_if_invalid(violations)
        found, total = await self._bookings.list_mine(principal, page, limit)
        return pb.ListMyAppointmentsResponse(
            data=[convert.appointment_message(b, self._notice) for b in found], total=total, page=page, total_pages=math.ceil(total / limit)
        )

    @rpc
    async def ExportMyData(self, request: pb.ExportMyDataRequest, context) -> pb.ExportMyDataResponse:
        principal = self._auth.principal(context)
        return convert.export_response(await self._personal_data.export(principal), self._notice)

    @rpc
    async def EraseMyData(self, request: pb.EraseMyDataRequest, context) -> pb.EraseMyDataResponse:
        principal = self._auth.principal(context)
        return pb.EraseMyDataResponse(erased=convert.erasure_summary(await self._personal_data.erase_mine(principal)))
