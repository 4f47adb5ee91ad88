"""Thin gRPC servicers: proto in → command → handler → proto out (errors via `rpc`)."""
from __future__ import annotations

from appointment_svc.entrypoints import convert
from appointment_svc.entrypoints.auth import Authenticator
from appointment_svc.entrypoints.errors import rpc
from appointment_svc.service_layer.availability import AvailabilityService
from booking.v1 import appointment_service_pb2 as pb
from booking.v1 import appointment_service_pb2_grpc as pb_grpc


class AppointmentServicer(pb_grpc.AppointmentServiceServicer):
    def __init__(self, availability: AvailabilityService, auth: Authenticator):
        self._availability = availability
        self._auth = auth

    @rpc
    async def ListAvailableSlots(self, request: pb.ListAvailableSlotsRequest, context) -> pb.ListAvailableSlotsResponse:
        slots = await self._availability.list_available(convert.availability_query(request))
        return pb.ListAvailableSlotsResponse(slots=[convert.slot_message(s) for s in slots])
