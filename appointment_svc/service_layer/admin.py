"""Staff use cases: the admin table (spec section 4), the booking lifecycle, consultants and slots."""

from __future__ import annotations

from datetime import datetime
from typing import Callable
from uuid import UUID

from appointment_svc.domain import staff
from appointment_svc.domain.errors import BookingNotFound, ConsultantNotFound, SlotNotFound
from appointment_svc.domain.limits import BookingLimits
from appointment_svc.domain.model import Booking, Consultant
from appointment_svc.domain.staff import (
    AppointmentTableQuery,
    CalendarSlot,
    GenerateSlots,
    NewConsultant,
    NewSlot,
    SlotCalendarQuery,
    StatusChange,
)
from appointment_svc.service_layer.lifecycle import save_status_change
from appointment_svc.service_layer.unit_of_work import UnitOfWork
from mesh_common.clock import utc_now
from mesh_common.logging import get_logger
from mesh_common.principal import Principal

log = get_logger(__name__)


class AdminService:
    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        clock: Callable[[], datetime] = utc_now,
        limits: BookingLimits = BookingLimits(),
    ):
        self._uow = uow_factory
        self._clock = clock
        self._limits = limits

    # -- the admin table

    async def appointment_table(self, query: AppointmentTableQuery) -> tuple[list[Booking], int]:
        async with self._uow() as uow:
            return await uow.bookings.table(query)

    async def details(self, booking_id: UUID) -> tuple[Booking, list[StatusChange]]:
        async with self._uow() as uow:
            booking = await uow.bookings.get(booking_id)
            if booking is None:
                raise BookingNotFound()
            return booking, await uow.bookings.history(booking_id)

    # -- lifecycle

    async def confirm(self, booking_id: UUID, admin: Principal) -> Booking:
        return await self._change(booking_id, admin, lambda booking, now: booking.confirm(admin.user_id, now))

    async def complete(self, booking_id: UUID, admin: Principal) -> Booking:
        return await self._change(booking_id, admin, lambda booking, now: booking.complete(admin.user_id, now))

    async def mark_no_show(self, booking_id: UUID, admin: Principal) -> Booking:
        return await self._change(booking_id, admin, lambda booking, now: booking.mark_no_show(admin.user_id, now))

    async def cancel_on_behalf(self, booking_id: UUID, admin: Principal, reason: str) -> Booking:
        return await self._change(
            booking_id, admin, lambda booking, now: booking.cancel(admin.user_id, reason, now, on_behalf=True)
        )

    async def _change(self, booking_id: UUID, admin: Principal, step: Callable[[Booking, datetime], None]) -> Booking:
        async with self._uow() as uow:
            # The row lock serialises concurrent changes: the second sees the first's status.
            booking = await uow.bookings.get(booking_id, lock=True)
            if booking is None:
                raise BookingNotFound()
            now = self._clock()
            step(booking, now)
            # Emails count against the customer's address but are never refused (service_layer/email_quota.py).
            change = await save_status_change(uow, booking, now)
            await uow.commit()
        log.info(
            "booking status changed by staff",
            booking_id=str(booking.id),
            from_status=change.from_status.value,
            to_status=change.to_status.value,
            by=admin.user_id,
        )
        return booking

    # -- consultants

    async def create_consultant(self, command: NewConsultant) -> UUID:
        async with self._uow() as uow:
            consultant_id = await uow.consultants.add(command)
            await uow.commit()
        log.info("consultant created", consultant_id=str(consultant_id))
        return consultant_id

    async def consultants(self) -> list[Consultant]:
        async with self._uow() as uow:
            return await uow.consultants.list()

    async def set_consultant_areas(self, consultant_id: UUID, areas: tuple[str, ...]) -> Consultant:
        """Replace the consultant's service areas (empty: everywhere). Bookings already made stay.
        The days of its open home visits are forgotten by the cache after commit; a grid cached
        in between may show the old areas until its TTL, and a booking the change ruled out is
        refused (OUTSIDE_SERVICE_AREA) by the booking transaction all the same."""
        async with self._uow() as uow:
            consultant = await uow.consultants.set_areas(consultant_id, areas, self._clock())
            if consultant is None:
                raise ConsultantNotFound()
            await uow.commit()
        log.info("consultant service areas set", consultant_id=str(consultant_id), areas=len(areas))
        return consultant

    # -- slots

    async def slot_calendar(self, query: SlotCalendarQuery) -> list[CalendarSlot]:
        async with self._uow() as uow:
            return await uow.slots.calendar(query)

    async def create_slot(self, command: NewSlot) -> UUID:
        staff.check_new_slot(command, self._clock(), self._limits)
        async with self._uow() as uow:
            if not await uow.consultants.lock(command.consultant_id):
                raise ConsultantNotFound()
            slot_id = await uow.slots.add(command)
            await uow.commit()
        log.info("slot created", slot_id=str(slot_id), consultant_id=str(command.consultant_id))
        return slot_id

    async def generate_slots(self, command: GenerateSlots) -> tuple[int, int]:
        """(created, skipped): skipped are pattern slots in the past or overlapping existing ones."""
        times, past = staff.slots_to_generate(command, self._clock(), self._limits)
        async with self._uow() as uow:
            if not await uow.consultants.lock(command.consultant_id):
                raise ConsultantNotFound()
            created = await uow.slots.add_generated(command, times)
            await uow.commit()
        skipped = past + len(times) - len(created)
        log.info("slots generated", consultant_id=str(command.consultant_id), created=len(created), skipped=skipped)
        return len(created), skipped

    async def block_slot(self, slot_id: UUID) -> None:
        await self._set_blocked(slot_id, True)

    async def unblock_slot(self, slot_id: UUID) -> None:
        await self._set_blocked(slot_id, False)

    async def _set_blocked(self, slot_id: UUID, blocked: bool) -> None:
        async with self._uow() as uow:
            # Same row lock as the booking transaction: a block and a booking never both win.
            slot = await uow.slots.get(slot_id, lock=True)
            if slot is None:
                raise SlotNotFound()
            if blocked:
                staff.check_blockable(slot)
            await uow.slots.set_blocked(slot, blocked)
            await uow.commit()
        log.info("slot blocked" if blocked else "slot unblocked", slot_id=str(slot_id))
