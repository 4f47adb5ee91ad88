"""Use cases of issue 15: a customer's export and erasure, staff's erasure of an address, retention.

Erasure runs in two steps, each safe to repeat: first every upcoming PENDING/CONFIRMED booking of
the person is cancelled exactly as a cancellation always is (Booking.cancel, its history row, its
outbox event: the customer's email and the team's alert go out with the details they need), each
in its own transaction; then one transaction blanks the personal fields of everything the person
left (PersonalDataStore.anonymise) and records the follow-up that removes the copies outside the
tables once the cancellation emails have gone (adapters/personal_data.py, ErasureFollowUp). A
crash between the steps leaves cancelled bookings with their details: the next call finishes.
Retention is the same anonymiser, asked for records past their time instead of a person's.
"""
from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime, timedelta
from uuid import UUID

from appointment_svc.domain.errors import BookingNotFound, FieldViolation, ValidationFailed
from appointment_svc.domain.model import ACTIVE_STATUSES
from appointment_svc.domain.notice import NO_NOTICE
from appointment_svc.domain.personal_data import ERASURE_REASON, ErasureSummary, PersonalDataExport, Whose
from appointment_svc.domain.validation import EMAIL_MAX, is_email, normalise_email
from appointment_svc.service_layer.email_quota import serialise_booking_emails
from appointment_svc.service_layer.lifecycle import save_status_change
from appointment_svc.service_layer.unit_of_work import UnitOfWork
from mesh_common.clock import utc_now
from mesh_common.logging import get_logger
from mesh_common.principal import Principal

log = get_logger(__name__)

RETENTION_BATCH = 100


class PersonalDataStore(abc.ABC):
    """Where personal data is read for an export and erased (one implementation for erasure and retention)."""

    @abc.abstractmethod
    async def export(self, user_id: str, now: datetime) -> PersonalDataExport: ...

    @abc.abstractmethod
    async def upcoming_active_bookings(self, whose: Whose, now: datetime) -> list[UUID]:
        """The person's PENDING/CONFIRMED bookings whose slot has not started: cancelled before erasing."""

    @abc.abstractmethod
    async def anonymise(self, whose: Whose, now: datetime) -> ErasureSummary:
        """Blank every personal field the person left (but an upcoming active booking's, which a
        racing booking may have just made), and record the follow-up for the copies outside the tables."""

    @abc.abstractmethod
    async def anonymise_expired(self, *, bookings_ended_before: datetime, brochures_before: datetime, limit: int) -> int:
        """One bounded batch of retention (rows other runners hold are skipped); how many records it anonymised."""


class PersonalDataService:
    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        store: PersonalDataStore,
        clock: Callable[[], datetime] = utc_now,
        *,
        retention_days: int = 730,
        brochure_retention_days: int = 30,
        retention_batch: int = RETENTION_BATCH,
    ):
        self._uow = uow_factory
        self._store = store
        self._clock = clock
        self._retention = timedelta(days=retention_days)
        self._brochure_retention = timedelta(days=brochure_retention_days)
        self._retention_batch = retention_batch

    async def export(self, principal: Principal) -> PersonalDataExport:
        return await self._store.export(principal.user_id, self._clock())

    async def erase_mine(self, principal: Principal) -> ErasureSummary:
        summary = await self._erase(Whose.customer(principal.user_id), principal, on_behalf=False)
        log.info("personal data erased", by="customer", **asdict(summary))
        return summary

    async def erase_address(self, principal: Principal, email: str) -> ErasureSummary:
        summary = await self._erase(Whose.address(checked_email(email)), principal, on_behalf=True)
        log.info("personal data erased", by="staff", staff=principal.user_id, **asdict(summary))
        return summary

    async def _erase(self, whose: Whose, principal: Principal, *, on_behalf: bool) -> ErasureSummary:
        cancelled = 0
        for booking_id in await self._store.upcoming_active_bookings(whose, self._clock()):
            cancelled += await self._cancel(booking_id, principal, on_behalf=on_behalf)
        summary = await self._store.anonymise(whose, self._clock())
        return summary.plus(bookings_cancelled=cancelled)

    async def _cancel(self, booking_id: UUID, principal: Principal, *, on_behalf: bool) -> int:
        """BookingService.cancel's path, without the notice window (an erasure cannot wait for a phone
        call); 0 when a concurrent change already ended the booking."""
        async with self._uow() as uow:
            booking = await uow.bookings.get(booking_id, lock=True)
            if booking is None:
                raise BookingNotFound()
            if booking.status not in ACTIVE_STATUSES or booking.slot.starts_at <= self._clock():
                return 0
            await serialise_booking_emails(uow, booking.contact.email)
            now = self._clock()
            # The customer's own erasure cancels as the customer; staff's as staff on their behalf.
            by = principal.user_id if on_behalf else booking.user_id
            booking.cancel(by, ERASURE_REASON, now, on_behalf=on_behalf, notice=NO_NOTICE)
            await save_status_change(uow, booking, now)
            await uow.commit()
        log.info("booking cancelled for an erasure", booking_id=str(booking_id))
        return 1

    async def apply_retention(self) -> int:
        """One bounded retention batch: the Job the scheduler runs (rows it anonymised)."""
        now = self._clock()
        return await self._store.anonymise_expired(
            bookings_ended_before=now - self._retention, brochures_before=now - self._brochure_retention, limit=self._retention_batch
        )


def checked_email(value: str) -> str:
    email = normalise_email(value or "")
    if not email:
        raise ValidationFailed([FieldViolation("email", "is required")])
    if len(email) > EMAIL_MAX or not is_email(email):
        raise ValidationFailed([FieldViolation("email", "must be an email address")])
    return email
