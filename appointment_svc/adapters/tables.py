"""Relational schema (SQLAlchemy Core). Alembic migrations create exactly this."""
from __future__ import annotations

import enum
from collections.abc import Iterable

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    Uuid,
    func,
    text,
)

from appointment_svc.domain.events import HistoryKind
from appointment_svc.domain.model import ACTIVE_STATUSES, AppointmentType, BookingStatus

metadata = MetaData()



def sql_in(column: str, values: Iterable[enum.Enum]) -> str:
    """`column IN ('A','B')` for enum members, spelled as migration 0001 wrote these checks.

    A member added to one of the enums changes the text here: the migrated-schema test then
    fails until a migration replaces the database's constraint (migrations are history).
    """
    return f"{column} IN (" + ",".join(f"'{member.value}'" for member in values) + ")"


KNOWN_TYPE_SQL = sql_in("type", AppointmentType)
KNOWN_STATUS_SQL = sql_in("status", BookingStatus)
ACTIVE_STATUS_SQL = sql_in("status", ACTIVE_STATUSES)

consultants = Table(
    "consultants",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", Text, nullable=False),
    Column("avatar_url", Text, nullable=False),
    Column("categories", ARRAY(Text), nullable=False),
    # Empty: visits everywhere (appointment_svc/domain/postcodes.py).
    Column("postcode_areas", ARRAY(Text), nullable=False, server_default=text("'{}'::text[]")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("cardinality(categories) > 0", name="consultants_has_category"),
)

time_slots = Table(
    "time_slots",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("consultant_id", Uuid, ForeignKey("consultants.id"), nullable=False),
    Column("type", Text, nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False),
    Column("is_booked", Boolean, nullable=False, server_default=text("false")),
    Column("is_blocked", Boolean, nullable=False, server_default=text("false")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("ends_at > starts_at", name="time_slots_positive_length"),
    CheckConstraint(KNOWN_TYPE_SQL, name="time_slots_known_type"),
    Index("ix_time_slots_open_by_type_start", "type", "starts_at", postgresql_where=text("NOT is_booked AND NOT is_blocked")),
    Index("ix_time_slots_consultant_start", "consultant_id", "starts_at"),
    # time_slots_no_overlap (EXCLUDE USING gist on consultant_id, tstzrange) lives in migration 0001.
)

bookings = Table(
    "bookings",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("reference_code", Text, nullable=False, unique=True),
    Column("user_id", Text, nullable=False),
    Column("type", Text, nullable=False),
    Column("for_kitchen", Boolean, nullable=False),
    Column("for_bedroom", Boolean, nullable=False),
    Column("first_name", Text, nullable=False),
    Column("last_name", Text, nullable=False),
    Column("email", Text, nullable=False),
    # validation.canonical_email of `email`: whose mailbox the booking's emails go to.
    Column("recipient", Text),
    Column("phone", Text, nullable=False),
    Column("postcode", Text, nullable=False),
    Column("address", Text, nullable=False),
    Column("slot_id", Uuid, ForeignKey("time_slots.id"), nullable=False),
    Column("status", Text, nullable=False),
    Column("request_id", Text),
    Column("request_fingerprint", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("cancelled_at", DateTime(timezone=True)),
    Column("cancel_reason", Text, nullable=False, server_default=""),
    # A copy of the slot's start for the admin table's index; triggers (migration 0002) write it.
    Column("slot_starts_at", DateTime(timezone=True), nullable=False),
    # Moves to another slot so far: the calendar invitations' SEQUENCE rises with it (migration 0005).
    Column("reschedule_count", Integer, nullable=False, server_default=text("0")),
    # Issue 15 (migration 0009): when the reminder email is due (domain/reminders.py; NULL: none is),
    # and when the last one was queued. The scheduler claims due rows and sets the first to NULL.
    Column("reminder_due_at", DateTime(timezone=True)),
    Column("reminder_sent_at", DateTime(timezone=True)),
    # The number the last event published about the booking carried (migration 0010).
    Column("event_sequence", Integer, nullable=False, server_default=text("0")),
    # When erasure or retention blanked the personal fields (migration 0011); NULL until then.
    Column("anonymised_at", DateTime(timezone=True)),
    CheckConstraint(KNOWN_STATUS_SQL, name="bookings_known_status"),
    CheckConstraint("reschedule_count >= 0", name="bookings_reschedule_count_not_negative"),
    CheckConstraint("event_sequence >= 0", name="bookings_event_sequence_not_negative"),
    CheckConstraint(KNOWN_TYPE_SQL, name="bookings_known_type"),
    CheckConstraint("for_kitchen OR for_bedroom", name="bookings_some_service"),
    # The last line of defence against double booking: one active booking per slot.
    Index("uq_bookings_active_slot", "slot_id", unique=True, postgresql_where=text(ACTIVE_STATUS_SQL)),
    Index("uq_bookings_user_request", "user_id", "request_id", unique=True, postgresql_where=text("request_id IS NOT NULL")),
    Index("ix_bookings_created", "created_at", "id"),
    Index("ix_bookings_status_created", "status", "created_at", "id"),
    Index("ix_bookings_slot_start", "slot_starts_at", "id"),
    Index("ix_bookings_status_slot_start", "status", "slot_starts_at", "id"),
    Index("ix_bookings_slot", "slot_id"),
    Index("ix_bookings_user_created", "user_id", "created_at"),
    Index("ix_bookings_email_lower", func.lower(text("email"))),
    Index("ix_bookings_active_recipient", "recipient", postgresql_where=text(ACTIVE_STATUS_SQL)),
    # The reminder scheduler's claim: only rows still owed a reminder, so it stays small.
    Index(
        "ix_bookings_reminder_due", "reminder_due_at",
        postgresql_where=text(f"reminder_due_at IS NOT NULL AND {ACTIVE_STATUS_SQL}"),
    ),  # fmt: skip
    Index("ix_bookings_recipient", "recipient"),
    Index("ix_bookings_retention", "slot_starts_at", postgresql_where=text("anonymised_at IS NULL")),
)

# Slot holds (issue 14). One row per slot and one per customer (the unique constraints), live
# while expires_at is ahead: a row that ran out is replaced under the slot's row lock, so "live"
# needs no clock in an index and two live holds of one slot cannot exist.
slot_holds = Table(
    "slot_holds",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("slot_id", Uuid, ForeignKey("time_slots.id"), nullable=False, unique=True),
    Column("user_id", Text, nullable=False, unique=True),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Append-only: migration 0003 makes the database refuse UPDATE and DELETE on it.
booking_status_history = Table(
    "booking_status_history",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("booking_id", Uuid, ForeignKey("bookings.id"), nullable=False, index=True),
    Column("from_status", Text),
    Column("to_status", Text, nullable=False),
    Column("changed_by", Text, nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("reason", Text, nullable=False, server_default=""),
    # events.HistoryKind: a change of status, a move, or a reminder queued (migration 0009).
    Column("kind", Text, nullable=False, server_default="STATUS"),
    CheckConstraint(sql_in("kind", HistoryKind), name="booking_status_history_known_kind"),
)

brochure_requests = Table(
    "brochure_requests",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("first_name", Text, nullable=False),
    Column("last_name", Text, nullable=False),
    Column("email", Text, nullable=False),
    Column("phone", Text, nullable=False),
    Column("postcode", Text, nullable=False),
    Column("address", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # The mailbox the per-address limit counts (validation.canonical_email).
    Column("canonical_email", Text, nullable=False),
    Column("anonymised_at", DateTime(timezone=True)),
    Index("ix_brochure_requests_canonical_created", "canonical_email", "created_at"),
    Index("ix_brochure_requests_retention", "created_at", postgresql_where=text("anonymised_at IS NULL")),
)

# One row per booking email a request caused, written with its event: the per-recipient limit.
booking_emails = Table(
    "booking_emails",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("recipient", Text, nullable=False),  # validation.canonical_email of the address
    Column("booking_id", Uuid, ForeignKey("bookings.id"), nullable=False),
    Column("kind", Text, nullable=False),
    # When the email was queued (its event written); the mail itself leaves moments later.
    Column("sent_at", DateTime(timezone=True), nullable=False),
    Index("ix_booking_emails_recipient_sent", "recipient", "sent_at"),
    Index("ix_booking_emails_booking", "booking_id"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("subject", Text, nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("published_at", DateTime(timezone=True)),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("last_error", Text),
    Column("trace_context", Text),  # the writer's W3C traceparent, sent on as a NATS header
    # The booking or brochure request the event is about, and the event's JetStream sequence once
    # published: how an erasure finds the event's copies outside PostgreSQL (migration 0011).
    Column("owner_id", Uuid),
    Column("stream_seq", BigInteger),
    Index("ix_outbox_unpublished", "created_at", postgresql_where=text("published_at IS NULL")),
    Index("ix_outbox_owner", "owner_id"),
)

# Erased bookings and brochure requests whose copies outside the tables are still to be removed
# (appointment_svc/adapters/personal_data.py, ErasureFollowUp). `fingerprints`: the sent ledger's
# recipient hashes of the erased addresses, cleared once done.
personal_data_scrubs = Table(
    "personal_data_scrubs",
    metadata,
    Column("owner_id", Uuid, primary_key=True),
    Column("fingerprints", ARRAY(Text), nullable=False, server_default=text("'{}'::text[]")),
    Column("requested_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("done_at", DateTime(timezone=True)),
    Index("ix_personal_data_scrubs_pending", "requested_at", postgresql_where=text("done_at IS NULL")),
)

reference_counters = Table(
    "reference_counters",
    metadata,
    Column("day", Date, primary_key=True),
    Column("last_value", Integer, nullable=False),
)
