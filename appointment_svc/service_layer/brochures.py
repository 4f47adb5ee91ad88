"""Use case: a brochure request (spec section 6, FR8.1-FR8.2)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Protocol
from uuid import UUID

from appointment_svc.domain.errors import RateLimitExceeded
from appointment_svc.domain.validation import Contact, canonical_email, clean_contact, raise_if_invalid, validate_contact
from booking.v1 import events_pb2
from mesh_common.clock import utc_now
from mesh_common.logging import get_logger

log = get_logger(__name__)

@dataclass(frozen=True)
class RequestBrochure:
    first_name: str
    last_name: str
    email: str
    phone: str
    postcode: str
    address: str


class RateDecision(Protocol):
    allowed: bool
    retry_after_seconds: int
    token: str


class RateLimiter(Protocol):
    limit: int
    window_seconds: int

    async def hit(self, subject: str) -> RateDecision: ...
    async def refund(self, subject: str, token: str) -> None: ...


class BrochureRequestStore(Protocol):
    async def save(
        self,
        request_id: UUID,
        contact: Contact,
        event: events_pb2.BrochureRequested,
        *,
        enforce_limit: tuple[int, int] | None = None,
    ) -> None: ...


class BrochureService:
    def __init__(
        self,
        store: BrochureRequestStore,
        limiter: RateLimiter,
        *,
        clock: Callable[[], datetime] = utc_now,
    ):
        self._store = store
        self._limiter = limiter
        self._clock = clock

    async def request(self, command: RequestBrochure) -> UUID:
        """Validate, apply the per-address limit, store the request and its event; returns the request id."""
        raise_if_invalid(
            validate_contact(
                command.first_name, command.last_name, command.email, command.phone, command.postcode,
                command.address, address_required=True,
            )  # fmt: skip
        )
        contact = clean_contact(
            command.first_name, command.last_name, command.email, command.phone, command.postcode, command.address
        )
        # The mailbox, not the spelling: `victim+1@…`, Gmail dots and googlemail.com are one address.
        subject = canonical_email(contact.email)
        decision = None
        try:
            decision = await self._limiter.hit(subject)
        except Exception as exc:  # noqa: BLE001 - whatever stops the limiter, the guard below holds
            # Neither fail-open (unlimited mail to any address while Redis is down) nor
            # fail-closed (no brochures at all): the store enforces the same limit from the
            # requests it holds, serialised per address. Slower, equally correct.
            log.warning("rate limiter unavailable; enforcing the brochure limit in the database", error=type(exc).__name__)
        if decision is not None and not decision.allowed:
            raise RateLimitExceeded(
                decision.retry_after_seconds,
                f"At most {self._limiter.limit} brochure requests per hour for one email address. "
                f"Please try again in {_minutes(decision.retry_after_seconds)}.",
            )
        request_id = uuid.uuid4()
        event = events_pb2.BrochureRequested(
            request_id=str(request_id),
            first_name=contact.first_name,
            last_name=contact.last_name,
            email=contact.email,
            phone=contact.phone,
            postcode=contact.postcode,
            address=contact.address,
        )
        event.occurred_at.FromDatetime(self._clock())
        try:
            await self._store.save(
                request_id,
                contact,
                event,
                enforce_limit=None if decision is not None else (self._limiter.limit, self._limiter.window_seconds),
            )
        except BaseException:
            if decision is not None:
                await self._limiter.refund(subject, decision.token)
            raise
        log.info("brochure requested", request_id=str(request_id), event_id=event.event_id)
        return request_id


def _minutes(seconds: int) -> str:
    minutes = max(1, -(-seconds // 60))
    return "1 minute" if minutes == 1 else f"{minutes} minutes"
