"""BrochureService over gRPC (and REST through the gateway): no auth, rate limited per address."""
from __future__ import annotations

from appointment_svc.entrypoints.auth import Authenticator
from appointment_svc.entrypoints.errors import rpc
from appointment_svc.service_layer.brochures import BrochureService, RequestBrochure
from booking.v1 import brochure_service_pb2 as pb
from booking.v1 import brochure_service_pb2_grpc as pb_grpc

ACCEPTED_MESSAGE = "Brochure on its way"


class BrochureServicer(pb_grpc.BrochureServiceServicer):
    def __init__(self, brochures: BrochureService, auth: Authenticator | None = None):
        self._brochures = brochures
        self._auth = auth

    @rpc
    async def RequestBrochure(self, request: pb.RequestBrochureRequest, context) -> pb.RequestBrochureResponse:
        if self._auth is not None:
            self._auth.optional(context)
        await self._brochures.request(
            RequestBrochure(
                first_name=request.first_name,
                last_name=request.last_name,
                email=request.email,
                phone=request.phone,
                postcode=request.postcode,
                address=request.address,
            )
        )
        return pb.RequestBrochureResponse(message=ACCEPTED_MESSAGE)
