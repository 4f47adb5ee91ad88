"""Staff RPCs. Every one is authorised here (role ADMIN), whatever the gateway did."""
from __future__ import annotations

from appointment_svc.domain.errors import DomainError
from appointment_svc.entrypoints.auth import Authenticator
from appointment_svc.entrypoints.errors import rpc
from booking.v1 import admin_service_pb2, admin_service_pb2_grpc


class NotYetAvailable(DomainError):
    code = "NOT_IMPLEMENTED"
    default_message = "This staff call is not available yet."


class AdminServicer(admin_service_pb2_grpc.AdminServiceServicer):
    def __init__(self, auth: Authenticator):
        self._auth = auth


def _authorised_placeholder(name: str):
    @rpc
    async def method(self, request, context):
        self._auth.admin(context)
        raise NotYetAvailable(f"{name} is not implemented yet.")

    method.__name__ = name
    return method


# Issue 6 implements these; until then an admin gets a clear error and nobody else gets past auth.
for _name in admin_service_pb2.DESCRIPTOR.services_by_name["AdminService"].methods_by_name:
    if _name not in vars(AdminServicer):
        setattr(AdminServicer, _name, _authorised_placeholder(_name))
