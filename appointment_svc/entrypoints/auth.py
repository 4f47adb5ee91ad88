"""Identity comes only from a verified bearer token in the `authorization` metadata."""
from __future__ import annotations

import grpc

from appointment_svc.domain.errors import Forbidden, Unauthenticated
from mesh_common.auth import InvalidToken, Principal, TokenVerifier
from mesh_common.logging import get_logger

log = get_logger(__name__)


class Authenticator:
    def __init__(self, verifier: TokenVerifier):
        self._verifier = verifier

    def principal(self, context: grpc.aio.ServicerContext) -> Principal:
        values = [v for k, v in context.invocation_metadata() or () if k == "authorization"]
        if len(values) != 1:
            raise Unauthenticated("A valid bearer token is required." if not values else "Send exactly one bearer token.")
        try:
            return self._verifier.verify(values[0])
        except InvalidToken as exc:
            log.info("rejected token", reason=str(exc))
            raise Unauthenticated("The bearer token is invalid or has expired.") from exc

    def optional(self, context: grpc.aio.ServicerContext) -> Principal | None:
        """Public calls need no token, but one that is sent must be valid (as at the gateway)."""
        if not any(k == "authorization" for k, _ in context.invocation_metadata() or ()):
            return None
        return self.principal(context)

    def admin(self, context: grpc.aio.ServicerContext) -> Principal:
        principal = self.principal(context)
        if not principal.is_admin:
            raise Forbidden("This call needs the ADMIN role.")
        return principal
