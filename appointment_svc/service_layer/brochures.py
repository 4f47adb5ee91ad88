"""Use case: a brochure request (spec section 6, FR8.1-FR8.2)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Callable
from uuid import UUID

from appointment_svc.domain.brochures import BrochureRequest
from appointment_svc.domain.errors import RateLimitExceeded
from appointment_svc.domain.validation import canonical_email, clean_contact, raise_if_invalid, validate_contact
from appointment_svc.service_layer.ports import RateDecision, RateLimiter, RateLimiterUnavailable
from appointment_svc.service_layer.unit_of_work import UnitOfWork
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


class BrochureService:
    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        limiter: RateLimiter,
        *,
        clock: Callable[[], datetime] = utc_now,
    ):
        self._uow = uow_factory
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
        decision: RateDecision | None = None
        try:
            decision = await self._limiter.hit(subject)
        except RateLimiterUnavailable as exc:
            # Neither fail-open (unlimited mail to any address while Redis is down) nor
            # fail-closed (no brochures at all): the database enforces the same limit from the
            # requests it holds, serialised per address. Slower, equally correct.
            log.warning("rate limiter unavailable; enforcing the brochure limit in the database", error=str(exc))
        if decision is not None and not decision.allowed:
            raise RateLimitExceeded(
                decision.retry_after_seconds,
                f"At most {self._limiter.limit} brochure requests per hour for one email address. "
                f"Please try again in {_minutes(decision.retry_after_seconds)}.",
            )
        request = BrochureRequest.create(contact, self._clock())
        (event,) = request.events
        try:
            async with self._uow() as uow:
                if decision is None:
                    await self._enforce_limit_in_storage(uow, subject)
                await uow.brochures.add(request)
                await uow.commit()
        except BaseException:
            if decision is not None:
                await self._limiter.refund(subject, decision.token)
            raise
        log.info("brochure requested", request_id=str(request.id), event_id=str(event.event_id))
        return request.id

    async def _enforce_limit_in_storage(self, uow: UnitOfWork, subject: str) -> None:
        await uow.brochures.serialise(subject)
        frees_in = await uow.brochures.seconds_until_room(subject, self._limiter.limit, self._limiter.window_seconds)
        if frees_in is not None:
            raise RateLimitExceeded(max(1, math.ceil(frees_in)))


def _minutes(seconds: int) -> str:
    minutes = max(1, -(-seconds // 60))
    return "1 minute" if minutes == 1 else f"{minutes} minutes"
