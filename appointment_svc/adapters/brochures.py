"""Brochure requests in PostgreSQL, and the per-address limit counted from them when Redis is down."""
from __future__ import annotations

from dataclasses import asdict

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from appointment_svc.adapters.advisory import lock_until_commit
from appointment_svc.adapters.tables import brochure_requests
from appointment_svc.domain.brochures import BrochureRequest
from appointment_svc.domain.validation import canonical_email
from appointment_svc.service_layer.repositories import BrochureRepository

# The (limit)-th newest request of the window: once it is older than the window, a slot is free.
# clock_timestamp(), not now(): a transaction that began before a rival committed would otherwise
# see that rival's created_at in its future and promise a Retry-After longer than the window.
_NTH_NEWEST_IN_WINDOW = text(
    """
    SELECT extract(epoch FROM created_at + make_interval(secs => :window) - clock_timestamp()) AS frees_in
    FROM brochure_requests
    WHERE canonical_email = :email AND created_at > clock_timestamp() - make_interval(secs => :window)
    ORDER BY created_at DESC
    OFFSET :offset LIMIT 1
    """
)


class SqlBrochureRepository(BrochureRepository):
    def __init__(self, conn: AsyncConnection):
        super().__init__()
        self.conn = conn

    async def serialise(self, recipient: str) -> None:
        await lock_until_commit(self.conn, f"brochure-limit:{recipient}")

    async def seconds_until_room(self, recipient: str, limit: int, window_seconds: int) -> float | None:
        frees_in = (
            await self.conn.execute(_NTH_NEWEST_IN_WINDOW, {"email": recipient, "window": window_seconds, "offset": limit - 1})
        ).scalar()
        return None if frees_in is None else float(frees_in)

    async def _add(self, request: BrochureRequest) -> None:
        await self.conn.execute(
            brochure_requests.insert().values(
                id=request.id,
                **asdict(request.contact),
                canonical_email=canonical_email(request.contact.email),
            )
        )
