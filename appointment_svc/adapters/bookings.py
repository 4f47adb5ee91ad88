"""The booking transaction's storage: one PostgreSQL transaction per unit of work."""
from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from uuid import UUID

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from appointment_svc.adapters.advisory import lock_until_commit
from appointment_svc.adapters.event_codec import encode_event
from appointment_svc.adapters.outbox import add_event
from appointment_svc.adapters.repository import SLOT_WITH_CONSULTANT, slot_from_row
from appointment_svc.adapters.tables import (
    booking_emails,
    booking_status_history,
    bookings,
    consultants,
    reference_counters,
    time_slots,
)
from appointment_svc.domain.model import ACTIVE_STATUSES, AppointmentType, Booking, BookingStatus, Slot
from appointment_svc.domain.validation import Contact, canonical_email

# A booking with its slot and consultant, in one row; the slot's columns start with `slot_`
# (bookings.slot_id is the slot's id). The booking's copy of its slot's start, there for the
# admin indexes, gives way to the slot's own.
BOOKING_WITH_SLOT_COLUMNS = [
    *(column for column in bookings.c if column is not bookings.c.slot_starts_at),
    time_slots.c.type.label("slot_type"),
    time_slots.c.starts_at.label("slot_starts_at"),
    time_slots.c.ends_at.label("slot_ends_at"),
    time_slots.c.is_booked.label("slot_is_booked"),
    time_slots.c.is_blocked.label("slot_is_blocked"),
    consultants.c.id.label("consultant_id"),
    consultants.c.name.label("consultant_name"),
    consultants.c.avatar_url,
    consultants.c.categories,
]
BOOKINGS_WITH_SLOTS = bookings.join(time_slots, time_slots.c.id == bookings.c.slot_id).join(
    consultants, consultants.c.id == time_slots.c.consultant_id
)


def booking_with_slot(row) -> Booking:
    return Booking(
        id=row.id,
        reference_code=row.reference_code,
        user_id=row.user_id,
        type=AppointmentType(row.type),
        for_kitchen=row.for_kitchen,
        for_bedroom=row.for_bedroom,
        contact=Contact(row.first_name, row.last_name, row.email, row.phone, row.postcode, row.address),
        slot=slot_from_row(row, prefix="slot_"),
        status=BookingStatus(row.status),
        created_at=row.created_at,
        cancelled_at=row.cancelled_at,
        cancel_reason=row.cancel_reason,
        request_id=row.request_id,
    )


class SqlUnitOfWork:
    """`async with uow:` opens a transaction; commit() makes it durable, leaving the block rolls back otherwise."""

    def __init__(self, engine: AsyncEngine):
        self._engine = engine
        self._connection: AsyncConnection | None = None
        self._transaction = None

    async def __aenter__(self) -> "SqlUnitOfWork":
        self._connection = await self._engine.connect()
        self._transaction = await self._connection.begin()
        return self

    async def __aexit__(self, *exc) -> None:
        try:
            if self._transaction.is_active:
                await self._transaction.rollback()
        finally:
            await self._connection.close()

    async def commit(self) -> None:
        await self._transaction.commit()

    @property
    def conn(self) -> AsyncConnection:
        return self._connection

    # -- slots

    async def lock_slot(self, slot_id: UUID) -> Slot | None:
        statement = SLOT_WITH_CONSULTANT.where(time_slots.c.id == slot_id).with_for_update(of=time_slots)
        row = (await self.conn.execute(statement)).first()
        return None if row is None else slot_from_row(row)

    async def peek_slot(self, slot_id: UUID) -> Slot | None:
        row = (await self.conn.execute(SLOT_WITH_CONSULTANT.where(time_slots.c.id == slot_id))).first()
        return None if row is None else slot_from_row(row)

    async def slot_free_and_unlocked(self, slot_id: UUID) -> bool:
        """Whether the slot is neither booked nor blocked nor locked by any open transaction.

        SKIP LOCKED rather than NOWAIT: a row another transaction holds simply is not returned, so
        "locked" is an answer, not a lock_not_available error to translate (nor an ERROR line in
        PostgreSQL's log per probe). The row lock, if taken, ends with this unit of work.
        """
        statement = (
            select(time_slots.c.id)
            .where(time_slots.c.id == slot_id, time_slots.c.is_booked.is_(False), time_slots.c.is_blocked.is_(False))
            .with_for_update(skip_locked=True)
        )
        return (await self.conn.execute(statement)).first() is not None

    async def mark_slot_booked(self, slot_id: UUID) -> bool:
        # Conditional: even if the row lock were bypassed, a booked slot is never booked again.
        result = await self.conn.execute(
            update(time_slots)
            .where(time_slots.c.id == slot_id, time_slots.c.is_booked.is_(False), time_slots.c.is_blocked.is_(False))
            .values(is_booked=True)
        )
        return result.rowcount == 1

    async def free_slot(self, slot_id: UUID) -> None:
        await self.conn.execute(update(time_slots).where(time_slots.c.id == slot_id).values(is_booked=False))

    # -- reference codes

    async def next_reference_number(self, day: date) -> int:
        statement = (
            insert(reference_counters)
            .values(day=day, last_value=1)
            .on_conflict_do_update(index_elements=[reference_counters.c.day], set_={"last_value": reference_counters.c.last_value + 1})
            .returning(reference_counters.c.last_value)
        )
        return (await self.conn.execute(statement)).scalar_one()

    # -- bookings

    async def add_booking(self, booking: Booking, fingerprint: str | None) -> None:
        await self.conn.execute(
            bookings.insert().values(
                id=booking.id,
                reference_code=booking.reference_code,
                user_id=booking.user_id,
                type=booking.type.value,
                for_kitchen=booking.for_kitchen,
                for_bedroom=booking.for_bedroom,
                **asdict(booking.contact),
                recipient=canonical_email(booking.contact.email),
                slot_id=booking.slot.id,
                status=booking.status.value,
                request_id=booking.request_id,
                request_fingerprint=fingerprint,
                created_at=booking.created_at,
                updated_at=booking.created_at,
            )
        )

    async def _one_booking(self, *where, lock: bool = False) -> Booking | None:
        statement = select(*BOOKING_WITH_SLOT_COLUMNS).select_from(BOOKINGS_WITH_SLOTS).where(*where)
        if lock:
            statement = statement.with_for_update(of=bookings)
        row = (await self.conn.execute(statement)).first()
        return None if row is None else booking_with_slot(row)

    async def get_booking(self, booking_id: UUID, *, lock: bool = False) -> Booking | None:
        return await self._one_booking(bookings.c.id == booking_id, lock=lock)

    async def booking_for_request(self, user_id: str, request_id: str) -> tuple[Booking, str] | None:
        booking = await self._one_booking(bookings.c.user_id == user_id, bookings.c.request_id == request_id)
        if booking is None:
            return None
        fingerprint = (
            await self.conn.execute(select(bookings.c.request_fingerprint).where(bookings.c.id == booking.id))
        ).scalar_one()
        return booking, fingerprint

    async def save_status(self, booking: Booking, now: datetime) -> None:
        await self.conn.execute(
            update(bookings)
            .where(bookings.c.id == booking.id)
            .values(status=booking.status.value, cancelled_at=booking.cancelled_at, cancel_reason=booking.cancel_reason, updated_at=now)
        )

    async def record_status_change(
        self, booking_id: UUID, from_status: BookingStatus | None, to_status: BookingStatus, by: str, at: datetime, reason: str = ""
    ) -> None:
        await self.conn.execute(
            booking_status_history.insert().values(
                booking_id=booking_id,
                from_status=from_status.value if from_status else None,
                to_status=to_status.value,
                changed_by=by,
                changed_at=at,
                reason=reason,
            )
        )

    async def list_for_user(self, user_id: str, offset: int, limit: int) -> tuple[list[Booking], int]:
        total = (await self.conn.execute(select(func.count()).select_from(bookings).where(bookings.c.user_id == user_id))).scalar_one()
        rows = await self.conn.execute(
            select(*BOOKING_WITH_SLOT_COLUMNS)
            .select_from(BOOKINGS_WITH_SLOTS)
            .where(bookings.c.user_id == user_id)
            .order_by(bookings.c.created_at.desc(), bookings.c.id)
            .offset(offset)
            .limit(limit)
        )
        return [booking_with_slot(row) for row in rows], total

    # -- abuse limits: each count is read under the advisory lock of what it counts

    async def serialise_customer(self, user_id: str) -> None:
        await lock_until_commit(self.conn, f"booking-customer:{user_id}")

    async def serialise_recipient(self, recipient: str) -> None:
        await lock_until_commit(self.conn, f"booking-email:{recipient}")

    async def upcoming_active_bookings(self, user_id: str, now: datetime) -> int:
        statement = select(func.count()).select_from(bookings).where(
            bookings.c.user_id == user_id,
            bookings.c.status.in_([s.value for s in ACTIVE_STATUSES]),
            bookings.c.slot_starts_at > now,
        )
        return (await self.conn.execute(statement)).scalar_one()

    async def active_bookings_to(self, recipient: str) -> int:
        statement = select(func.count()).select_from(bookings).where(
            bookings.c.recipient == recipient, bookings.c.status.in_([s.value for s in ACTIVE_STATUSES])
        )
        return (await self.conn.execute(statement)).scalar_one()

    async def booking_emails_since(self, recipient: str, since: datetime) -> list[datetime]:
        statement = select(booking_emails.c.sent_at).where(
            booking_emails.c.recipient == recipient, booking_emails.c.sent_at > since
        )
        return list((await self.conn.execute(statement)).scalars())

    async def record_booking_email(self, recipient: str, booking_id: UUID, kind: str, at: datetime, *, forget_before: datetime) -> None:
        # Rows older than the window never count again; pruning per address keeps the table small.
        await self.conn.execute(
            delete(booking_emails).where(booking_emails.c.recipient == recipient, booking_emails.c.sent_at < forget_before)
        )
        await self.conn.execute(booking_emails.insert().values(recipient=recipient, booking_id=booking_id, kind=kind, sent_at=at))

    # -- outbox

    async def publish(self, event) -> None:
        subject, message = encode_event(event)
        await add_event(self.conn, subject, message)
