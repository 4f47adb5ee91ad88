"""Use cases: book a slot (spec 2 and 3), cancel (spec 5), reschedule (issue 14), read one's bookings."""
from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Awaitable, Callable
from uuid import UUID

from appointment_svc.domain.errors import (
    BookingLimitReached,
    BookingNotFound,
    Forbidden,
    RateLimitExceeded,
    RequestIdConflict,
    SlotNotFound,
    SlotUnavailable,
)
from appointment_svc.domain.holds import check_hold_for_booking
from appointment_svc.domain.limits import EMAIL_WINDOW, BookingLimits
from appointment_svc.domain.model import (
    Booking,
    BookSlot,
    Slot,
    check_bookable,
    check_daily_capacity,
    london_date,
    reference_code,
)
from appointment_svc.domain.notice import ChangeNotice
from appointment_svc.domain.reminders import ReminderLead
from appointment_svc.domain.validation import canonical_email
from appointment_svc.service_layer.email_quota import check_room_for_a_booking, serialise_booking_emails
from appointment_svc.service_layer.lifecycle import save_status_change
from appointment_svc.service_layer.ports import DuplicateRequest, LockUnavailable, SlotLock, SlotTaken
from appointment_svc.service_layer.unit_of_work import BookingFacts, UnitOfWork
from mesh_common.clock import utc_now
from mesh_common.logging import get_logger
from mesh_common.principal import Principal

log = get_logger(__name__)

# Pauses between the three attempts at a slot lock someone else holds. The patience in all (0.4 s)
# is what may pass before a lock is suspected to have outlived its holder. While it waits, a racer
# looks for the holder's "just booked" mark every MARK_POLL_SECONDS (a cache read, not a database
# query), so a race that is decided is answered within that much of the winner's commit.
LOCK_RETRY_DELAYS = (0.1, 0.3)
MARK_POLL_SECONDS = 0.05


class _AnsweredBefore(Exception):
    """The request id already made a booking: the answer is that booking, nothing more is done."""

    def __init__(self, booking: Booking):
        super().__init__()
        self.booking = booking


class BookingService:
    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        lock: SlotLock,
        clock: Callable[[], datetime] = utc_now,
        limits: BookingLimits = BookingLimits(),
        notice: ChangeNotice = ChangeNotice(),
        reminder: ReminderLead = ReminderLead(),
    ):
        self._uow = uow_factory
        self._reminder = reminder
        self._lock = lock
        self._clock = clock
        self._limits = limits
        self._notice = notice

    async def book(self, command: BookSlot) -> Booking:
        try:
            return await self._book(command)
        except _AnsweredBefore as answered:
            return answered.booking
        except (SlotUnavailable, BookingLimitReached, RateLimitExceeded):
            # A concurrent retry of this very request may be what took the slot (or the last
            # place, or the last email): answer as it did.
            previous = await self._previous_answer(command) if command.request_id else None
            if previous is None:
                raise
            return previous

    async def _book(self, command: BookSlot) -> Booking:
        token = await self._acquire_lock(command.slot_id, lambda: self._check_slot(command))
        booked = False
        try:
            now = self._clock()
            # Numbered in its own short transaction: holding the per-day counter row until the
            # booking commits would serialise every booking of the day. A failed booking leaves a gap.
            async with self._uow() as uow:
                number = await uow.bookings.next_reference_number(london_date(now))
                # Before the commit: a refused booking rolls the counter back and writes nothing.
                check_daily_capacity(number, now)
                await uow.commit()
            booking = await self._book_in_transaction(command, reference_code(london_date(now), number))
            booked = True
        except (DuplicateRequest, SlotTaken) as exc:
            booking = await self._resolve_conflict(command, exc)
        finally:
            if token is not None:
                await self._lock.release(command.slot_id, token, booked=booked)
        return booking

    async def _previous_answer(self, command: BookSlot) -> Booking | None:
        async with self._uow() as uow:
            found = await uow.bookings.for_request(command.user_id, command.request_id)
        return None if found is None else self._same_request(command, found)

    @staticmethod
    def _same_request(command: BookSlot, earlier: tuple[Booking, str]) -> Booking:
        booking, fingerprint = earlier
        if fingerprint != command.fingerprint():
            raise RequestIdConflict()
        return booking

    async def _facts(self, uow: UnitOfWork, command: BookSlot, now: datetime, *, locked: bool) -> BookingFacts:
        return await uow.booking_facts(
            slot_id=command.slot_id,
            user_id=command.user_id,
            # Under the locks the request id was already looked up: the unique index guards a rival.
            request_id=None if locked else command.request_id,
            recipient=canonical_email(command.contact.email),
            now=now,
            since=now - EMAIL_WINDOW,
            lock_slot=locked,
        )

    async def _check_slot(self, command: BookSlot) -> None:
        """Cheap unlocked reads, in one go, so a retried request gets its earlier answer
        (_AnsweredBefore), losers of a race that is already decided get theirs at once, and a
        refused request takes no reference number or lock."""
        now = self._clock()
        async with self._uow() as uow:
            facts = await self._facts(uow, command, now, locked=False)
        if facts.earlier is not None:
            raise _AnsweredBefore(self._same_request(command, facts.earlier))
        if facts.slot is None:
            raise SlotNotFound()
        self._check_rules(facts.slot, command, now)
        check_hold_for_booking(facts.hold, command.user_id, command.hold_id, now)
        self._check_limits(facts, now)

    def _check_rules(self, slot: Slot, command: BookSlot, now: datetime) -> None:
        check_bookable(slot, command, now)
        self._limits.check_start(slot.starts_at, now, "slotId")

    def _check_limits(self, facts: BookingFacts, now: datetime) -> None:
        self._limits.check_active_bookings(facts.upcoming_active)
        check_room_for_a_booking(self._limits, facts, now)

    async def _acquire_lock(self, slot_id: UUID, precheck: Callable[[], Awaitable[None]]) -> str | None:
        """The slot's Redis lock once `precheck` (cheap unlocked reads) passed; None: go on guarded
        by PostgreSQL alone. A racer that finds the lock held learns the outcome from the holder's
        "just booked" mark, and runs `precheck` again only once it holds the lock itself (the slot
        may have changed while it waited), so a decided race costs the losers no second query."""
        await precheck()
        for attempt in range(len(LOCK_RETRY_DELAYS) + 1):
            try:
                token = await self._lock.acquire(slot_id)
            except LockUnavailable as exc:
                log.warning("slot lock unavailable, booking guarded by PostgreSQL only", reason=str(exc), slot_id=str(slot_id))
                return None
            if token is not None:
                if attempt > 0:
                    await self._precheck_holding(slot_id, token, precheck)
                return token
            if await self._lock.just_booked(slot_id):
                raise SlotUnavailable()
            if attempt < len(LOCK_RETRY_DELAYS):
                await self._wait_for_the_holder(slot_id, LOCK_RETRY_DELAYS[attempt])
        await self._overrule_stale_lock(slot_id)
        return None

    async def _wait_for_the_holder(self, slot_id: UUID, pause: float) -> None:
        """Sleep `pause`, answering 409 as soon as the holder marks the slot booked."""
        waited = 0.0
        while waited < pause:
            step = min(MARK_POLL_SECONDS, pause - waited)
            await asyncio.sleep(step)
            waited += step
            if waited < pause and await self._lock.just_booked(slot_id):
                raise SlotUnavailable()

    async def _precheck_holding(self, slot_id: UUID, token: str, precheck: Callable[[], Awaitable[None]]) -> None:
        try:
            await precheck()
        except BaseException:
            await self._lock.release(slot_id, token)
            raise

    async def _overrule_stale_lock(self, slot_id: UUID) -> None:
        """After the attempts failed: 409 unless PostgreSQL shows the lock outlived its holder.

        The Redis lock is only a hint. A SIGKILLed replica never releases its locks and Valkey's
        append-only file keeps them across a restart, so trusting the key would refuse a free slot
        for up to the lease (30 s). PostgreSQL decides instead: a live holder is either in its
        transaction (the row is locked: 409), or committed (booked: 409), or about to lock the row
        (then PostgreSQL serialises both bookings and one wins, as when Redis is down). Only a free,
        unlocked row lets this booking go on, guarded by PostgreSQL alone.
        """
        try:
            seen = await self._lock.holder(slot_id)
        except LockUnavailable:
            seen = None
        async with self._uow() as uow:
            free = await uow.slots.free_and_unlocked(slot_id)
        if not free:
            raise SlotUnavailable()
        log.warning("slot lock outlived its holder, booking guarded by PostgreSQL only", slot_id=str(slot_id))
        if seen is not None:
            # Compare-and-delete against the token judged stale, so later customers take a fresh
            # lock at once instead of paying the retries; a lock re-taken meanwhile is kept. Were
            # the token a live holder's about to lock the row, losing it costs only speed.
            await self._lock.release(slot_id, seen)

    async def _book_in_transaction(self, command: BookSlot, reference: str) -> Booking:
        async with self._uow() as uow:
            # Customer, then recipient, then slot: every transaction takes these locks in this order.
            await uow.serialise_booking(command.user_id, canonical_email(command.contact.email))
            now = self._clock()  # after the locks: the times a mailbox records only ever rise
            facts = await self._facts(uow, command, now, locked=True)
            self._check_limits(facts, now)
            slot = await self._take_slot(uow, facts, command, now)
            booking = Booking.create(command, slot, reference, now, reminder=self._reminder)
            await uow.bookings.add(booking, command.fingerprint() if command.request_id else None)
            await uow.commit()
        log.info("booking created", booking_id=str(booking.id), slot_id=str(slot.id), reference=booking.reference_code)
        return booking

    async def _take_slot(self, uow: UnitOfWork, facts: BookingFacts, command: BookSlot, now: datetime) -> Slot:
        """Under the slot's row lock (facts read with locked=True): check the slot as `command` wants
        it and mark it booked. The one way a slot is taken, by a new booking or a reschedule."""
        slot = facts.slot
        if slot is None:
            raise SlotNotFound()
        self._check_rules(slot, command, now)
        # Under the slot's row lock no hold comes or goes: the one taken here is the current one,
        # and it is used up by this change (or put back by the rollback of a refused one). Someone
        # else's live hold refuses a new booking and a move alike.
        check_hold_for_booking(await uow.holds.take_for_booking(slot.id), command.user_id, command.hold_id, now)
        if not await uow.slots.mark_booked(slot.id):
            raise SlotUnavailable()
        return slot

    async def _resolve_conflict(self, command: BookSlot, exc: DuplicateRequest | SlotTaken) -> Booking:
        # Two retries of one idempotent request raced: the loser answers with the winner's booking.
        if command.request_id and isinstance(exc, DuplicateRequest):
            previous = await self._previous_answer(command)
            if previous is not None:
                return previous
        if isinstance(exc, SlotTaken):
            raise SlotUnavailable() from exc
        raise exc

    async def cancel(self, booking_id: UUID, principal: Principal, reason: str) -> Booking:
        async with self._uow() as uow:
            booking = await uow.bookings.get(booking_id, lock=True)
            if booking is None:
                raise BookingNotFound()
            await serialise_booking_emails(uow, booking.contact.email)
            now = self._clock()
            booking.cancel(principal.user_id, reason, now, notice=self._notice)
            await save_status_change(uow, booking, now)
            await uow.commit()
        log.info("booking cancelled", booking_id=str(booking.id))
        return booking

    async def reschedule(self, booking_id: UUID, principal: Principal, slot_id: UUID) -> tuple[Booking, Slot]:
        """Move the booking to `slot_id` in one transaction: the new slot taken as a new booking takes
        it (same checks, Redis lock, row lock, conditional update, unique index), the old one freed.
        The owner before the notice window, or staff at any time; a refusal changes nothing.
        Returns the moved booking and the slot it left."""
        staff = principal.is_admin
        token = await self._acquire_lock(slot_id, lambda: self._check_reschedule(booking_id, principal, slot_id))
        moved = False
        try:
            async with self._uow() as uow:
                booking = await uow.bookings.get(booking_id, lock=True)
                if booking is None:
                    raise BookingNotFound()
                # Booking row, then customer, mailbox and slot: the order a new booking takes the last three in.
                await uow.serialise_booking(booking.user_id, canonical_email(booking.contact.email))
                now = self._clock()
                booking.check_reschedulable(principal.user_id, now, staff=staff, notice=self._notice)
                command = booking.wanting(slot_id)
                facts = await self._facts(uow, command, now, locked=True)
                if not staff:
                    self._check_room_for_the_move(facts, now)
                slot = await self._take_slot(uow, facts, command, now)
                previous = booking.slot
                booking.reschedule(slot, principal.user_id, now, staff=staff, notice=self._notice, reminder=self._reminder)
                await uow.bookings.save(booking, now)
                await uow.slots.free(previous.id)
                await uow.commit()
            moved = True
        except SlotTaken as exc:
            raise SlotUnavailable() from exc
        finally:
            if token is not None:
                await self._lock.release(slot_id, token, booked=moved)
        log.info("booking rescheduled", booking_id=str(booking.id), slot_id=str(slot.id), previous_slot_id=str(previous.id))
        return booking, previous

    async def _check_reschedule(self, booking_id: UUID, principal: Principal, slot_id: UUID) -> None:
        """The reschedule's cheap unlocked reads: who may move the booking, and whether the slot is
        one a new booking could take, so a refused move takes no lock and waits for nothing."""
        now = self._clock()
        async with self._uow() as uow:
            booking = await uow.bookings.get(booking_id)
        if booking is None:
            raise BookingNotFound()
        booking.check_reschedulable(principal.user_id, now, staff=principal.is_admin, notice=self._notice)
        command = booking.wanting(slot_id)
        async with self._uow() as uow:
            facts = await self._facts(uow, command, now, locked=False)
        if facts.slot is None:
            raise SlotNotFound()
        self._check_rules(facts.slot, command, now)
        if not principal.is_admin:
            self._check_room_for_the_move(facts, now)

    def _check_room_for_the_move(self, facts: BookingFacts, now: datetime) -> None:
        # The move's own email; the booking's cancellation notice was promised when it was made.
        self._limits.check_email_quota(facts.emails_sent, now, promised=facts.emails_promised, needs=1)

    async def get(self, booking_id: UUID, principal: Principal) -> Booking:
        async with self._uow() as uow:
            booking = await uow.bookings.get(booking_id)
        if booking is None:
            raise BookingNotFound()
        if booking.user_id != principal.user_id and not principal.is_admin:
            raise Forbidden("This booking belongs to someone else.")
        return booking

    async def list_mine(self, principal: Principal, page: int, limit: int) -> tuple[list[Booking], int]:
        async with self._uow() as uow:
            return await uow.bookings.list_for_user(principal.user_id, (page - 1) * limit, limit)


