"""Personal data in PostgreSQL and its copies in NATS: export, the one anonymiser, the erasure follow-up.

The anonymiser (`_anonymise_bookings`, `_anonymise_brochures`) is the only code that blanks
personal fields; erasure and retention differ only in which rows they hand it and whether they
wait for rows another transaction holds (erasure) or skip them (retention, on every replica).
Every anonymised booking or brochure request gets a `personal_data_scrubs` row in the same
transaction; `ErasureFollowUp` finishes those once the copies outside the tables may go.
"""
from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime
from uuid import UUID

from nats.aio.client import Client as NATS
from nats.js.errors import NotFoundError
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from appointment_svc.adapters.bookings import BOOKING_WITH_SLOT_COLUMNS, BOOKINGS_WITH_SLOTS, booking_with_slot
from appointment_svc.adapters.outbox import owner_of
from appointment_svc.adapters.tables import (
    ACTIVE_STATUS_SQL,
    booking_emails,
    booking_status_history,
    bookings,
    brochure_requests,
)
from appointment_svc.domain.model import BookingStatus
from appointment_svc.domain.personal_data import (
    BookingRecord,
    BrochureRecord,
    EmailRecord,
    ErasureSummary,
    PersonalDataExport,
    Whose,
)
from appointment_svc.domain.staff import StatusChange
from appointment_svc.domain.validation import Contact, canonical_email
from appointment_svc.service_layer.personal_data import PersonalDataStore
from mesh_common import events
from mesh_common.events import EventTopology, connect, recipient_fingerprint
from mesh_common.logging import get_logger

log = get_logger(__name__)

_UPCOMING_ACTIVE = f"{ACTIVE_STATUS_SQL} AND slot_starts_at > :now"

# A customer's bookings, or a mailbox's (recipient is its canonical address; rows from before it
# was stored are matched on the address itself).
_WHOSE_BOOKINGS = {
    "user_id": "user_id = :user_id",
    "mailbox": "(recipient = :mailbox OR (recipient IS NULL AND lower(email) = :mailbox))",
}


def _whose(whose: Whose) -> tuple[str, dict]:
    if whose.user_id is not None:
        return _WHOSE_BOOKINGS["user_id"], {"user_id": whose.user_id}
    return _WHOSE_BOOKINGS["mailbox"], {"mailbox": whose.mailbox}


_BLANK_BOOKINGS = text(
    """
    UPDATE bookings SET first_name = '', last_name = '', email = '', phone = '', postcode = '', address = '',
        cancel_reason = '', recipient = NULL, request_fingerprint = NULL, anonymised_at = :now
    WHERE id = ANY(:ids)
    """
)
# The one UPDATE migration 0011 lets through the history's append-only trigger.
_BLANK_HISTORY = text(
    "UPDATE booking_status_history SET reason = '' WHERE booking_id = ANY(:ids) AND to_status = 'CANCELLED' AND reason <> ''"
)
_BLANK_EMAILS = text("UPDATE booking_emails SET recipient = '' WHERE booking_id = ANY(:ids) AND recipient <> ''")
_BLANK_BROCHURES = text(
    """
    UPDATE brochure_requests SET first_name = '', last_name = '', email = '', phone = '', postcode = '', address = '',
        canonical_email = '', anonymised_at = :now
    WHERE id = ANY(:ids)
    """
)
_FOLLOW_UP = text(
    """
    INSERT INTO personal_data_scrubs (owner_id, fingerprints, requested_at)
    SELECT owner, ARRAY[fingerprint], :now FROM unnest(CAST(:owners AS uuid[]), CAST(:fingerprints AS text[])) AS f(owner, fingerprint)
    ON CONFLICT (owner_id) DO UPDATE SET done_at = NULL,
        fingerprints = personal_data_scrubs.fingerprints || excluded.fingerprints
    """
)


async def _anonymise_bookings(conn: AsyncConnection, rows, now: datetime) -> ErasureSummary:
    """Blank the bookings of `rows` (id, email: locked by the caller) and everything about them."""
    if not rows:
        return ErasureSummary()
    ids = [row.id for row in rows]
    blanked = (await conn.execute(_BLANK_BOOKINGS, {"ids": ids, "now": now})).rowcount
    reasons = (await conn.execute(_BLANK_HISTORY, {"ids": ids})).rowcount
    emails = (await conn.execute(_BLANK_EMAILS, {"ids": ids})).rowcount
    await conn.execute(
        _FOLLOW_UP, {"owners": ids, "fingerprints": [recipient_fingerprint(row.email) for row in rows], "now": now}
    )
    return ErasureSummary(bookings_anonymised=blanked, history_reasons_erased=reasons, emails_anonymised=emails)


async def _anonymise_brochures(conn: AsyncConnection, rows, now: datetime) -> int:
    if not rows:
        return 0
    ids = [row.id for row in rows]
    blanked = (await conn.execute(_BLANK_BROCHURES, {"ids": ids, "now": now})).rowcount
    await conn.execute(
        _FOLLOW_UP, {"owners": ids, "fingerprints": [recipient_fingerprint(row.email) for row in rows], "now": now}
    )
    return blanked


class SqlPersonalDataStore(PersonalDataStore):
    def __init__(self, engine: AsyncEngine):
        self._engine = engine

    async def export(self, user_id: str, now: datetime) -> PersonalDataExport:
        async with self._engine.connect() as conn, conn.begin():
            # One snapshot for the whole export.
            await conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
            rows = (
                await conn.execute(
                    select(*BOOKING_WITH_SLOT_COLUMNS)
                    .select_from(BOOKINGS_WITH_SLOTS)
                    .where(bookings.c.user_id == user_id)
                    .order_by(bookings.c.created_at.desc(), bookings.c.id)
                )
            ).all()
            ids = [row.id for row in rows]
            history: dict[UUID, list[StatusChange]] = {booking_id: [] for booking_id in ids}
            for change in await conn.execute(
                select(booking_status_history)
                .where(booking_status_history.c.booking_id.in_(ids))
                .order_by(booking_status_history.c.changed_at, booking_status_history.c.id)
            ):
                history[change.booking_id].append(
                    StatusChange(
                        from_status=BookingStatus(change.from_status) if change.from_status else None,
                        to_status=BookingStatus(change.to_status),
                        changed_by=change.changed_by,
                        changed_at=change.changed_at,
                        reason=change.reason,
                    )
                )
            emails = (
                await conn.execute(
                    select(booking_emails.c.booking_id, bookings.c.reference_code, booking_emails.c.kind, booking_emails.c.sent_at)
                    .select_from(booking_emails.join(bookings, bookings.c.id == booking_emails.c.booking_id))
                    .where(booking_emails.c.booking_id.in_(ids))
                    .order_by(booking_emails.c.sent_at, booking_emails.c.id)
                )
            ).all()
            mailboxes = sorted({canonical_email(row.email) for row in rows if row.email})
            brochures = (
                await conn.execute(
                    select(brochure_requests)
                    .where(brochure_requests.c.canonical_email.in_(mailboxes))
                    .order_by(brochure_requests.c.created_at, brochure_requests.c.id)
                )
            ).all()
        return PersonalDataExport(
            user_id=user_id,
            exported_at=now,
            bookings=[BookingRecord(booking_with_slot(row), history[row.id], row.anonymised_at) for row in rows],
            emails=[EmailRecord(row.booking_id, row.reference_code, row.kind, row.sent_at) for row in emails],
            brochure_requests=[
                BrochureRecord(
                    row.id, Contact(row.first_name, row.last_name, row.email, row.phone, row.postcode, row.address), row.created_at
                )
                for row in brochures
            ],
        )

    async def upcoming_active_bookings(self, whose: Whose, now: datetime) -> list[UUID]:
        where, params = _whose(whose)
        async with self._engine.connect() as conn:
            result = await conn.execute(
                text(f"SELECT id FROM bookings WHERE {where} AND {_UPCOMING_ACTIVE} ORDER BY slot_starts_at"), {**params, "now": now}
            )
            return list(result.scalars())

    async def anonymise(self, whose: Whose, now: datetime) -> ErasureSummary:
        where, params = _whose(whose)
        async with self._engine.begin() as conn:
            # Waits for rows another transaction holds (a retention batch, a cancellation): an
            # erasure must reach every row, and anonymised_at is checked again once the lock is ours.
            rows = (
                await conn.execute(
                    text(
                        f"SELECT id, email FROM bookings WHERE {where} AND anonymised_at IS NULL "
                        f"AND NOT ({_UPCOMING_ACTIVE}) ORDER BY id FOR UPDATE"
                    ),
                    {**params, "now": now},
                )
            ).all()
            if whose.mailbox is not None:
                mailboxes = [whose.mailbox]
            else:
                mailboxes = sorted({canonical_email(row.email) for row in rows if row.email})
            brochures = (
                await conn.execute(
                    text(
                        "SELECT id, email FROM brochure_requests WHERE canonical_email = ANY(:mailboxes) "
                        "AND anonymised_at IS NULL ORDER BY id FOR UPDATE"
                    ),
                    {"mailboxes": mailboxes},
                )
            ).all()
            summary = await _anonymise_bookings(conn, rows, now)
            return summary.plus(brochure_requests_anonymised=await _anonymise_brochures(conn, brochures, now))

    async def anonymise_expired(self, *, bookings_ended_before: datetime, brochures_before: datetime, limit: int) -> int:
        async with self._engine.begin() as conn:
            rows = (
                await conn.execute(
                    text(
                        """
                        SELECT b.id, b.email FROM bookings b JOIN time_slots s ON s.id = b.slot_id
                        WHERE b.anonymised_at IS NULL AND b.slot_starts_at < :before AND s.ends_at < :before
                        ORDER BY b.slot_starts_at LIMIT :limit
                        FOR UPDATE OF b SKIP LOCKED
                        """
                    ),
                    {"before": bookings_ended_before, "limit": limit},
                )
            ).all()
            brochures = (
                await conn.execute(
                    text(
                        "SELECT id, email FROM brochure_requests WHERE anonymised_at IS NULL AND created_at < :before "
                        "ORDER BY created_at LIMIT :limit FOR UPDATE SKIP LOCKED"
                    ),
                    {"before": brochures_before, "limit": limit},
                )
            ).all()
            now = (await conn.execute(text("SELECT now()"))).scalar_one()
            summary = await _anonymise_bookings(conn, rows, now)
            return summary.bookings_anonymised + await _anonymise_brochures(conn, brochures, now)


class ErasureFollowUp:
    """The Job that removes an anonymised record's copies outside the tables, once they may go.

    A `personal_data_scrubs` row waits until every outbox event of its record is published and
    the notification service's durable consumer has acknowledged it (its ack floor has passed the
    event's stream sequence): the erasure's own cancellation emails need the plaintext until they
    are sent. Then, in the transaction that claimed the row (`FOR UPDATE SKIP LOCKED`, so replicas
    share the work and never repeat it): the events stream messages are deleted, the sent
    ledger's keys of those events and of the erased addresses' fingerprints are purged (purged by
    subject, so no key name remains), matching dead letters are deleted, and the outbox payloads
    are blanked. Every step is idempotent: a pass cut short is repeated whole by the next.
    """

    def __init__(
        self, engine: AsyncEngine, nats_url: str, topology: EventTopology, *, durable: str, ledger_bucket: str,
        batch_size: int = 50, timeout: float = 2.0,
    ):  # fmt: skip
        self._engine = engine
        self._nats_url = nats_url
        self._topology = topology
        self._durable = durable
        self._bucket = ledger_bucket
        self.batch_size = batch_size
        self._timeout = timeout
        self._nc: NATS | None = None

    async def close(self) -> None:
        if self._nc is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(self._timeout):
                    await self._nc.close()
            self._nc = None

    async def _js(self):
        if self._nc is None:
            self._nc = await connect(self._nats_url, "erasure-follow-up", connect_timeout=self._timeout)
        return self._nc.jetstream(timeout=self._timeout)

    async def run_once(self) -> int:
        async with self._engine.begin() as conn:
            claimed = (
                await conn.execute(
                    text(
                        "SELECT owner_id, fingerprints FROM personal_data_scrubs WHERE done_at IS NULL "
                        "ORDER BY requested_at LIMIT :limit FOR UPDATE SKIP LOCKED"
                    ),
                    {"limit": self.batch_size},
                )
            ).all()
            if not claimed:
                return 0
            owners = [row.owner_id for row in claimed]
            copies = (
                await conn.execute(
                    text("SELECT id, owner_id, published_at, stream_seq FROM outbox WHERE owner_id = ANY(:owners)"),
                    {"owners": owners},
                )
            ).all()
            js = await self._js()
            floor = await self._ack_floor(js)
            waiting = {
                row.owner_id
                for row in copies
                if row.published_at is None or (row.stream_seq is not None and (floor is None or row.stream_seq > floor))
            }
            ready = [row for row in claimed if row.owner_id not in waiting]
            if not ready:
                await conn.execute(
                    text("UPDATE personal_data_scrubs SET attempts = attempts + 1 WHERE owner_id = ANY(:owners)"), {"owners": owners}
                )
                return 0
            ready_owners = {row.owner_id for row in ready}
            ready_copies = [row for row in copies if row.owner_id in ready_owners]
            for row in ready_copies:
                if row.stream_seq is not None:
                    await self._forget(js.delete_msg(self._topology.stream, row.stream_seq))
            ledger = f"KV_{self._bucket}"
            subjects = [f"$KV.{self._bucket}.{row.id}.>" for row in ready_copies]
            subjects += [f"$KV.{self._bucket}.*.*.{fp}" for row in ready for fp in row.fingerprints]
            for subject in subjects:
                await self._forget(js.purge_stream(ledger, subject=subject))
            await self._delete_dead_letters(js, {str(row.id) for row in ready_copies}, {str(owner) for owner in ready_owners})
            await conn.execute(
                text("UPDATE outbox SET payload = '' WHERE owner_id = ANY(:owners) AND published_at IS NOT NULL"),
                {"owners": list(ready_owners)},
            )
            await conn.execute(
                text("UPDATE personal_data_scrubs SET done_at = now(), fingerprints = '{}' WHERE owner_id = ANY(:owners)"),
                {"owners": list(ready_owners)},
            )
        log.info("erased records' copies removed", records=len(ready_owners), stream_messages=len(ready_copies))
        return len(ready_owners)

    async def _ack_floor(self, js) -> int | None:
        """The stream sequence up to which the notification service acknowledged everything; None
        while its consumer does not exist (then nothing it would send may be removed yet)."""
        try:
            info = await js.consumer_info(self._topology.stream, self._durable)
        except NotFoundError:
            return None
        return info.ack_floor.stream_seq

    @staticmethod
    async def _forget(removal) -> None:
        """A removal whose target is already gone (expired, removed by an earlier pass) is done."""
        try:
            await removal
        except NotFoundError:
            pass

    async def _delete_dead_letters(self, js, event_ids: set[str], owners: set[str]) -> None:
        """Dead letters of the erased records: by event id, or by the record the payload names
        (its outbox row may be long gone). The dead-letter stream is small: an alert fires on any."""
        try:
            if (await js.stream_info(self._topology.dlq_stream)).state.messages == 0:
                return
        except NotFoundError:
            return
        seq = 1
        while True:
            try:
                raw = await js.get_msg(self._topology.dlq_stream, seq=seq, subject=self._topology.subject("dlq.>"), next=True)
            except NotFoundError:
                return
            seq = raw.seq + 1
            headers = raw.headers or {}
            if headers.get(events.DLQ_EVENT_ID) in event_ids or _payload_owner(headers, raw.data) in owners:
                await self._forget(js.delete_msg(self._topology.dlq_stream, raw.seq))


def _payload_owner(headers: dict, payload: bytes | None) -> str | None:
    try:
        event = events.decode_event(headers.get(events.DLQ_ORIGINAL_SUBJECT, ""), payload or b"")
    except Exception:  # noqa: BLE001 - an undecodable dead letter names no record
        return None
    owner = owner_of(event)
    return None if owner is None else str(owner)
