"""PostgreSQL persistence of brochure requests: the row and its outbox event in one transaction."""
from __future__ import annotations

import math
from dataclasses import asdict
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from appointment_svc.adapters.advisory import lock_until_commit
from appointment_svc.adapters.outbox import add_event
from appointment_svc.adapters.tables import brochure_requests
from appointment_svc.domain.errors import RateLimitExceeded
from appointment_svc.domain.validation import Contact, canonical_email
from booking.v1 import events_pb2
from mesh_common.events import BROCHURE_REQUESTED

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


class BrochureStore:
    def __init__(self, engine: AsyncEngine):
        self._engine = engine

    async def save(
        self,
        request_id: UUID,
        contact: Contact,
        event: events_pb2.BrochureRequested,
        *,
        enforce_limit: tuple[int, int] | None = None,
    ) -> None:
        """Store the request and its `brochure.requested` event atomically.

        `enforce_limit=(limit, window_seconds)` also applies the per-email limit here, from the
        stored requests, serialised per address by an advisory lock (used when Redis is down).
        """
        email = canonical_email(contact.email)
        async with self._engine.begin() as conn:
            if enforce_limit is not None:
                limit, window = enforce_limit
                await lock_until_commit(conn, f"brochure-limit:{email}")
                frees_in = (
                    await conn.execute(_NTH_NEWEST_IN_WINDOW, {"email": email, "window": window, "offset": limit - 1})
                ).scalar()
                if frees_in is not None:
                    raise RateLimitExceeded(max(1, math.ceil(float(frees_in))))
            await conn.execute(
                brochure_requests.insert().values(
                    id=request_id,
                    **asdict(contact),
                    canonical_email=email,
                )
            )
            await add_event(conn, BROCHURE_REQUESTED, event)
