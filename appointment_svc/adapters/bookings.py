"""Bookings, their history and the booking-email ledger in PostgreSQL (SQLAlchemy Core, async psycopg 3)."""
from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from uuid import UUID

from sqlalchemy import case, func, select, update
from sqlalchemy.exc import IntegrityError

from appointment_svc.adapters.advisory import lock_until_commit
from appointment_svc.adapters.constraints import raise_translated
from appointment_svc.adapters.slots import slot_from_row
from appointment_svc.adapters.statement_batch import BatchingConnection, insert_sql
from appointment_svc.adapters.tables import (
    ACTIVE_STATUS_SQL,
    booking_emails,
    booking_status_history,
    bookings,
    consultants,
    time_slots,
)
from appointment_svc.domain.events import BookingEvent, HistoryKind
from appointment_svc.domain.holds import SlotHold
from appointment_svc.domain.model import (
    ACTIVE_STATUSES,
    DAILY_BOOKING_CAPACITY,
    AppointmentType,
    Booking,
    BookingStatus,
    london_day_bounds,
)
from appointment_svc.domain.staff import AppointmentTableQuery, StatusChange
from appointment_svc.domain.validation import Contact, canonical_email
from appointment_svc.service_layer.ports import DuplicateRequest, SlotTaken
from appointment_svc.service_layer.repositories import BookingRepository
from appointment_svc.service_layer.unit_of_work import BookingFacts

ACTIVE_SLOT_INDEX = "uq_bookings_active_slot"
USER_REQUEST_INDEX = "uq_bookings_user_request"

# The hot statements of a booking, written once in psycopg's parameter style and sent without
# SQLAlchemy compiling anything (psycopg prepares them server-side after a few uses).
BOOKING_COLUMNS = [
    c.name for c in bookings.c
    if c.name not in ("slot_starts_at", "cancelled_at", "cancel_reason", "reschedule_count", "reminder_sent_at", "anonymised_at")
]
INSERT_BOOKING = insert_sql("bookings", BOOKING_COLUMNS)
INSERT_HISTORY = insert_sql(
    "booking_status_history", ["booking_id", "from_status", "to_status", "changed_by", "changed_at", "reason", "kind"]
)
INSERT_EMAIL = insert_sql("booking_emails", ["recipient", "booking_id", "kind", "sent_at"])
SET_EVENT_SEQUENCE = "UPDATE bookings SET event_sequence = %(event_sequence)s WHERE id = %(id)s"
FORGET_EMAILS = "DELETE FROM booking_emails WHERE recipient = %(recipient)s AND sent_at < %(before)s"


NEXT_REFERENCE_NUMBER = """
INSERT INTO reference_counters (day, last_value) VALUES (%(day)s, 1)
ON CONFLICT (day) DO UPDATE SET last_value = reference_counters.last_value + 1 WHERE reference_counters.last_value < %(last)s
RETURNING last_value
"""


def customer_lock_key(user_id: str) -> str:
    return f"booking-customer:{user_id}"


def mailbox_lock_key(recipient: str) -> str:
    return f"booking-email:{recipient}"


# Two advisory locks in one round trip; PostgreSQL evaluates a select list left to right, so the
# customer's lock is always taken before the mailbox's, as every other transaction takes them.
LOCK_CUSTOMER_THEN_MAILBOX = (
    "SELECT pg_advisory_xact_lock(hashtextextended(%(customer)s, 0)), pg_advisory_xact_lock(hashtextextended(%(mailbox)s, 0))"
)

# Everything a booking is checked against, in one statement (one snapshot): the slot with its
# consultant (row-locked when {lock} says FOR UPDATE) and its hold row, the booking this request id already made,
# the customer's upcoming active bookings, and the mailbox's recent and promised emails. The
# counts match SqlBookingRepository.upcoming_active / active_to and SqlEmailLedger.sent_since.
# The consultant's service areas are read, not locked: a booking checked against the areas of its
# snapshot is the same as one made just before staff changed them, and a change of areas never
# undoes bookings already made.
BOOKING_FACTS = f"""
SELECT slot.*, earlier.id AS earlier_id, earlier.request_fingerprint AS earlier_fingerprint, hold.*,
    (SELECT count(*) FROM bookings
      WHERE user_id = %(user_id)s AND {ACTIVE_STATUS_SQL} AND slot_starts_at > %(now)s) AS upcoming_active,
    ARRAY(SELECT sent_at FROM booking_emails WHERE recipient = %(recipient)s AND sent_at > %(since)s) AS emails_sent,
    (SELECT count(*) FROM bookings WHERE recipient = %(recipient)s AND {ACTIVE_STATUS_SQL}) AS emails_promised
FROM (SELECT) AS one
LEFT JOIN LATERAL (
    SELECT s.id, s.type, s.starts_at, s.ends_at, s.is_booked, s.is_blocked,
        c.id AS consultant_id, c.name AS consultant_name, c.avatar_url, c.categories, c.postcode_areas
    FROM time_slots s JOIN consultants c ON c.id = s.consultant_id
    WHERE s.id = %(slot_id)s {{lock}}
) AS slot ON true
LEFT JOIN LATERAL (
    SELECT id, request_fingerprint FROM bookings WHERE user_id = %(user_id)s AND request_id = %(request_id)s
) AS earlier ON true
LEFT JOIN LATERAL (
    SELECT id AS hold_id, user_id AS hold_user_id, expires_at AS hold_expires_at FROM slot_holds WHERE slot_id = %(slot_id)s
) AS hold ON true
"""
READ_BOOKING_FACTS = BOOKING_FACTS.format(lock="")
LOCK_BOOKING_FACTS = BOOKING_FACTS.format(lock="FOR UPDATE OF s")

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
    consultants.c.postcode_areas,
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
        reschedule_count=row.reschedule_count,
        reminder_due_at=row.reminder_due_at,
        event_sequence=row.event_sequence,
    )


FILTER_FIRST_MAX = 5_000  # matches that the page query fetches and sorts rather than walking to


def _table_filters(query: AppointmentTableQuery) -> list:
    where = []
    if query.status is not None:
        where.append(bookings.c.status == query.status.value)
    if query.first_day is not None:
        where.append(bookings.c.slot_starts_at >= london_day_bounds(query.first_day)[0])
    if query.last_day is not None:
        where.append(bookings.c.slot_starts_at < london_day_bounds(query.last_day)[1])
    if query.reference_code is not None:
        where.append(bookings.c.reference_code == query.reference_code)
    if query.email is not None:
        where.append(func.lower(bookings.c.email) == query.email)
    return where


def _table_order(query: AppointmentTableQuery, source=bookings) -> list:
    key = source.c.slot_starts_at if query.sort.by_start else source.c.created_at
    if query.sort.descending:
        return [key.desc(), source.c.id.desc()]
    return [key.asc(), source.c.id.asc()]


def _filter_first(query: AppointmentTableQuery, total: int | None) -> bool:
    """Sort the matches instead of walking the creation index until a page of them turns up?

    Filtering on the slot's days while ordering by creation is the one combination no index
    serves: PostgreSQL assumes the matches are spread evenly along ix_bookings_created and walks
    it, but the bookings of one past week were all made around then, so it may walk most of the
    table first. When the count says the matches are few, fetching and sorting them is cheap.
    """
    has_days = query.first_day is not None or query.last_day is not None
    return has_days and not query.sort.by_start and total is not None and total <= FILTER_FIRST_MAX


def table_page_statement(query: AppointmentTableQuery, total: int | None = None):
    """One query: the page's ids from bookings alone, then only those rows joined.

    Joining before OFFSET/LIMIT would make PostgreSQL join (and sort) every matching booking for
    a deep page; choosing the ids first keeps each page as cheap as the index walk to it.
    """
    source = bookings
    if _filter_first(query, total):
        source = (
            select(bookings.c.id, bookings.c.created_at, bookings.c.slot_starts_at)
            .where(*_table_filters(query))
            .cte("matches")
            .prefix_with("MATERIALIZED")
        )
        page = select(source.c.id)
    else:
        page = select(bookings.c.id).where(*_table_filters(query))
    page = page.order_by(*_table_order(query, source)).offset(query.offset).limit(query.limit).subquery("page")
    rows = (
        page.join(bookings, bookings.c.id == page.c.id)
        .join(time_slots, time_slots.c.id == bookings.c.slot_id)
        .join(consultants, consultants.c.id == time_slots.c.consultant_id)
    )
    return select(*BOOKING_WITH_SLOT_COLUMNS).select_from(rows).order_by(*_table_order(query))


def table_count_statement(query: AppointmentTableQuery):
    return select(func.count()).select_from(bookings).where(*_table_filters(query))


class SqlBookingRepository(BookingRepository):
    def __init__(self, conn: BatchingConnection):
        super().__init__()
        self.conn = conn
        # The slot each loaded booking had: only a move writes slot_id (its trigger then copies the start).
        self._slots_loaded: dict[UUID, UUID] = {}

    async def _add(self, booking: Booking, fingerprint: str | None) -> None:
        # Deferred: a rival booking of the slot or request surfaces at the latest from the commit.
        self.conn.defer(
            INSERT_BOOKING,
            dict(
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
                reminder_due_at=booking.reminder_due_at,
                created_at=booking.created_at,
                updated_at=booking.created_at,
                event_sequence=booking.event_sequence,
            ),
            errors={ACTIVE_SLOT_INDEX: SlotTaken, USER_REQUEST_INDEX: DuplicateRequest},
        )

    async def _one_booking(self, *where) -> Booking | None:
        statement = select(*BOOKING_WITH_SLOT_COLUMNS).select_from(BOOKINGS_WITH_SLOTS).where(*where)
        row = (await self.conn.execute(statement)).first()
        return None if row is None else booking_with_slot(row)

    async def _get(self, booking_id: UUID, *, lock: bool) -> Booking | None:
        if lock:
            # The row lock alone first, then the booking with its slot in a fresh snapshot. Locking
            # the joined read would let PostgreSQL re-check a booking a rival just moved to another
            # slot against the old slot's row (it re-reads only the locked table), drop the row, and
            # answer "not found" for a booking that exists.
            locked = select(bookings.c.id).where(bookings.c.id == booking_id).with_for_update()
            if (await self.conn.execute(locked)).first() is None:
                return None
        booking = await self._one_booking(bookings.c.id == booking_id)
        if booking is not None:
            self._slots_loaded[booking.id] = booking.slot.id
        return booking

    async def for_request(self, user_id: str, request_id: str) -> tuple[Booking, str] | None:
        booking = await self._one_booking(bookings.c.user_id == user_id, bookings.c.request_id == request_id)
        if booking is None:
            return None
        fingerprint = (
            await self.conn.execute(select(bookings.c.request_fingerprint).where(bookings.c.id == booking.id))
        ).scalar_one()
        return booking, fingerprint

    async def save(self, booking: Booking, now: datetime) -> None:
        values = dict(status=booking.status.value, cancelled_at=booking.cancelled_at, cancel_reason=booking.cancel_reason, updated_at=now)
        if self._slots_loaded.get(booking.id) != booking.slot.id:
            # Only a move gives a new reminder time: any other save writing the loaded value back
            # could re-arm a reminder the scheduler claimed since.
            values.update(
                slot_id=booking.slot.id, reschedule_count=booking.reschedule_count, reminder_due_at=booking.reminder_due_at
            )
        statement = update(bookings).where(bookings.c.id == booking.id).values(**values)
        try:
            await self.conn.execute(statement)
        except IntegrityError as exc:
            # Moved onto a slot another active booking holds: the partial unique index refuses it.
            raise_translated(exc, {ACTIVE_SLOT_INDEX: SlotTaken})
        self._slots_loaded[booking.id] = booking.slot.id

    async def add_history(self, event: BookingEvent) -> None:
        self.conn.defer(
            INSERT_HISTORY,
            dict(
                booking_id=event.booking.id,
                from_status=event.from_status.value if event.from_status else None,
                to_status=event.to_status.value,
                changed_by=event.by,
                changed_at=event.at,
                reason=event.reason,
                kind=event.history_kind.value,
            ),
        )

    async def _store_event_sequence(self, booking: Booking) -> None:
        # A new booking's row usually still waits in the batch: its INSERT carries the number, as
        # two parts of one batch may not touch one row. Otherwise an UPDATE leaves with the batch.
        values = {"event_sequence": booking.event_sequence}
        if not self.conn.amend(INSERT_BOOKING, {"id": booking.id}, values):
            self.conn.defer(SET_EVENT_SEQUENCE, {"id": booking.id, **values})

    async def history(self, booking_id: UUID) -> list[StatusChange]:
        rows = (
            await self.conn.execute(
                select(booking_status_history)
                .where(booking_status_history.c.booking_id == booking_id)
                .order_by(booking_status_history.c.changed_at, booking_status_history.c.id)
            )
        ).all()
        return [
            StatusChange(
                from_status=BookingStatus(row.from_status) if row.from_status else None,
                to_status=BookingStatus(row.to_status),
                changed_by=row.changed_by,
                changed_at=row.changed_at,
                reason=row.reason,
                kind=HistoryKind(row.kind),
            )
            for row in rows
        ]

    async def _claim_due_reminders(self, now: datetime, limit: int) -> list[Booking]:
        # SKIP LOCKED: a booking another scheduler (or a customer's change) holds is left to it. The
        # row locks last until the commit that writes the reminders' outbox events and clears the
        # due times (save_reminded), so a claim is either all of that or nothing.
        claim = (
            select(bookings.c.id)
            .where(bookings.c.reminder_due_at <= now, bookings.c.status.in_([s.value for s in ACTIVE_STATUSES]))
            .order_by(bookings.c.reminder_due_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        ids = list((await self.conn.execute(claim)).scalars())
        if not ids:
            return []
        # The locked rows with their slots, read after the locks (a fresh snapshot: what the locks hold).
        rows = await self.conn.execute(
            select(*BOOKING_WITH_SLOT_COLUMNS)
            .select_from(BOOKINGS_WITH_SLOTS)
            .where(bookings.c.id.in_(ids))
            .order_by(bookings.c.reminder_due_at, bookings.c.id)
        )
        claimed = [booking_with_slot(row) for row in rows]
        for booking in claimed:
            self._slots_loaded[booking.id] = booking.slot.id
        return claimed

    async def save_reminded(self, claimed: list[Booking], sent: list[Booking], at: datetime) -> None:
        if not claimed:
            return
        sent_ids = [b.id for b in sent]
        await self.conn.execute(
            update(bookings)
            .where(bookings.c.id.in_([b.id for b in claimed]))
            .values(
                reminder_due_at=None,
                reminder_sent_at=case((bookings.c.id.in_(sent_ids), at), else_=bookings.c.reminder_sent_at)
                if sent_ids else bookings.c.reminder_sent_at,
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

    async def table(self, query: AppointmentTableQuery) -> tuple[list[Booking], int]:
        # The count first: it is cheap, and tells the page query how to find its rows (or that a
        # page past the end has none, without walking the index to get there).
        total = (await self.conn.execute(table_count_statement(query))).scalar_one()
        if query.offset >= total:
            return [], total
        rows = (await self.conn.execute(table_page_statement(query, total))).all()
        return [booking_with_slot(row) for row in rows], total

    async def next_reference_number(self, day: date) -> int:
        # Its own transaction when it comes first (as the booking use case asks for it), so the
        # counter row is held only while PostgreSQL commits the one statement; and never past the
        # last number a reference can hold, so a refused booking leaves the day's counter as it was.
        row = (await self.conn.exec_alone(NEXT_REFERENCE_NUMBER, {"day": day, "last": DAILY_BOOKING_CAPACITY})).first()
        return DAILY_BOOKING_CAPACITY + 1 if row is None else row.last_value

    # -- abuse limits: each count is read under the advisory lock of what it counts

    async def serialise_customer(self, user_id: str) -> None:
        await lock_until_commit(self.conn, customer_lock_key(user_id))

    async def upcoming_active(self, user_id: str, now: datetime) -> int:
        statement = select(func.count()).select_from(bookings).where(
            bookings.c.user_id == user_id,
            bookings.c.status.in_([s.value for s in ACTIVE_STATUSES]),
            bookings.c.slot_starts_at > now,
        )
        return (await self.conn.execute(statement)).scalar_one()

    async def active_to(self, recipient: str) -> int:
        statement = select(func.count()).select_from(bookings).where(
            bookings.c.recipient == recipient, bookings.c.status.in_([s.value for s in ACTIVE_STATUSES])
        )
        return (await self.conn.execute(statement)).scalar_one()


class SqlEmailLedger:
    def __init__(self, conn: BatchingConnection):
        self.conn = conn

    async def serialise(self, recipient: str) -> None:
        await lock_until_commit(self.conn, mailbox_lock_key(recipient))

    async def sent_since(self, recipient: str, since: datetime) -> list[datetime]:
        statement = select(booking_emails.c.sent_at).where(
            booking_emails.c.recipient == recipient, booking_emails.c.sent_at > since
        )
        return list((await self.conn.execute(statement)).scalars())

    async def record(self, recipient: str, booking_id: UUID, kind: str, at: datetime, *, forget_before: datetime) -> None:
        # Rows older than the window never count again; pruning per address keeps the table small.
        # Both deferred: the pruned rows are older than the window, so no read before the commit misses them.
        self.conn.defer(FORGET_EMAILS, {"recipient": recipient, "before": forget_before})
        self.conn.defer(INSERT_EMAIL, {"recipient": recipient, "booking_id": booking_id, "kind": kind, "sent_at": at})


async def lock_customer_then_mailbox(conn: BatchingConnection, user_id: str, recipient: str) -> None:
    """serialise_customer, then SqlEmailLedger.serialise, in one round trip."""
    await conn.exec_driver_sql(LOCK_CUSTOMER_THEN_MAILBOX, {"customer": customer_lock_key(user_id), "mailbox": mailbox_lock_key(recipient)})


async def read_booking_facts(
    repository: SqlBookingRepository, *, slot_id: UUID, user_id: str, request_id: str | None, recipient: str,
    now: datetime, since: datetime, lock_slot: bool,
) -> BookingFacts:  # fmt: skip
    """UnitOfWork.booking_facts in one statement (two when a retried request id finds its booking)."""
    params = {"slot_id": slot_id, "user_id": user_id, "request_id": request_id, "recipient": recipient, "now": now, "since": since}
    if lock_slot:
        row = (await repository.conn.exec_driver_sql(LOCK_BOOKING_FACTS, params)).one()
    else:
        row = (await repository.conn.exec_alone(READ_BOOKING_FACTS, params)).one()
    earlier = None
    if row.earlier_id is not None:
        booking = await repository._one_booking(bookings.c.id == row.earlier_id)
        earlier = None if booking is None else (booking, row.earlier_fingerprint)
    return BookingFacts(
        slot=None if row.id is None else slot_from_row(row),
        earlier=earlier,
        upcoming_active=row.upcoming_active,
        emails_sent=list(row.emails_sent),
        emails_promised=row.emails_promised,
        hold=None if row.hold_id is None or row.id is None else SlotHold(
            row.hold_id, row.id, row.hold_user_id, row.hold_expires_at, row.starts_at
        ),
    )
