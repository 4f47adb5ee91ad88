"""Transactional outbox: events are rows written in the business transaction, then relayed.

`add_event` owns event identity: it gives the event an `event_id` (uuid4) unless the caller set
one, fills `occurred_at` if unset, and uses the event id as the outbox row id and, on the wire,
as `Nats-Msg-Id`. The row becomes visible (and the relay is woken by NOTIFY) only on commit.

`OutboxRelay` publishes rows in `created_at` order. Guarantees:
- no loss: a row is marked `published_at` only after JetStream's PubAck, in the transaction that
  claimed it; anything unacknowledged stays unpublished and is retried with backoff;
- no row published by two relays at once: rows are claimed with `FOR UPDATE SKIP LOCKED` and the
  locks are held until the publishes are acknowledged and marked;
- a re-publish (PubAck lost, crash before commit) carries the same Nats-Msg-Id, which JetStream's
  duplicate window drops; consumers dedupe on event_id beyond it;
- order: a batch's rows are written back to back on one connection and JetStream stores them in
  that order. Only a refusal of one message that its successor does not share (none of our events
  can provoke one: one stream, no per-message expectations) would let a retried row land after a
  later one.
Published rows are deleted after `keep_published` (31 days, a day longer than the events stream
keeps a message), hourly, in bounded chunks: until then the row says which booking or brochure
request the event is about (`owner_id`) and where JetStream stored it (`stream_seq`, from the
PubAck), which is how an erasure finds every copy of a person's events (issue 15).
"""
from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from datetime import datetime, timedelta, timezone
from uuid import UUID

import psycopg
from google.protobuf.message import Message
from nats.js.errors import NoStreamResponseError
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from appointment_svc.adapters.advisory import OUTBOX_RELAY_LOCK_KEY
from appointment_svc.adapters.metrics import OUTBOX_BACKLOG, OUTBOX_OLDEST_AGE, OUTBOX_PUBLISHED
from appointment_svc.adapters.statement_batch import BatchingConnection, insert_sql
from appointment_svc.adapters.tables import outbox
from mesh_common.events import EVENT_MAX_AGE_SECONDS, EVENT_TYPES, MSG_ID_HEADER, EventTopology, connect, ensure_streams
from mesh_common.lifecycle import stop_tasks, wait_until
from mesh_common.logging import get_logger
from mesh_common.tracing import TRACEPARENT, current_traceparent

log = get_logger(__name__)

NOTIFY_CHANNEL = "outbox"
PURGE_EVERY_SECONDS = 3600
# The backlog gauges are refreshed at most this often (one small query), not on every pass.
MEASURE_EVERY_SECONDS = 1.0
PURGE_CHUNK = 1000
LISTEN_CONNECT_TIMEOUT = 3
# How often the listener looks at the stop flag between notifications.
LISTEN_CHECK_SECONDS = 0.5


def _checked(subject: str, event: Message) -> UUID:
    """Refuse an event of the wrong type for `subject`; give it its id and time if unset."""
    expected = EVENT_TYPES.get(subject)
    if expected is None or not isinstance(event, expected):
        raise ValueError(f"{type(event).__name__} cannot be published on {subject!r}")
    if not event.event_id:
        event.event_id = str(uuid.uuid4())
    if not event.HasField("occurred_at"):
        event.occurred_at.FromDatetime(datetime.now(timezone.utc))
    return UUID(event.event_id)


def owner_of(event: Message) -> UUID | None:
    """The booking or brochure request an event is about (what an erasure of it must reach)."""
    fields = event.DESCRIPTOR.fields_by_name
    if "appointment" in fields and event.HasField("appointment") and event.appointment.booking_id:
        return UUID(event.appointment.booking_id)
    if "request_id" in fields and event.request_id:
        return UUID(event.request_id)
    return None


async def add_event(conn: AsyncConnection, subject: str, event: Message) -> UUID:
    """Write `event` into the outbox within the caller's transaction; returns its event id."""
    event_id = _checked(subject, event)
    await conn.execute(
        outbox.insert().values(
            id=event_id,
            subject=subject,
            payload=event.SerializeToString(),
            trace_context=current_traceparent(),
            owner_id=owner_of(event),
            # Not now(): that is the transaction's start, equal for every event of one transaction.
            created_at=func.clock_timestamp(),
        )
    )
    # Delivered to listeners only when the transaction commits; several collapse into one.
    await conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL})
    return event_id


# clock_timestamp() as in add_event: rows of one transaction keep the order they were added in.
INSERT_EVENT = insert_sql("outbox", ["id", "subject", "payload", "trace_context", "owner_id"], {"created_at": "clock_timestamp()"})


async def defer_event(conn: BatchingConnection, subject: str, event: Message) -> UUID:
    """add_event for a unit of work: the row and the NOTIFY leave with the transaction's other writes."""
    event_id = _checked(subject, event)
    if conn.holds(INSERT_EVENT):
        # The parts of one batch run in no promised order: a second event waits for the first to be
        # written, so their clock_timestamp()s, hence the order they are published in, follow the calls.
        await conn.flush()
    conn.defer(
        INSERT_EVENT,
        {
            "id": event_id,
            "subject": subject,
            "payload": event.SerializeToString(),
            "trace_context": current_traceparent(),
            "owner_id": owner_of(event),
        },
    )
    conn.notify(NOTIFY_CHANNEL)
    return event_id


# One statement for a whole batch: each acknowledged row gets its own stream sequence.
MARK_PUBLISHED = text(
    """
    UPDATE outbox SET published_at = now(), attempts = attempts + 1, last_error = NULL, stream_seq = acked.seq
    FROM unnest(CAST(:ids AS uuid[]), CAST(:seqs AS bigint[])) AS acked(id, seq)
    WHERE outbox.id = acked.id
    """
)


def _libpq_url(engine: AsyncEngine) -> str:
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


class OutboxRelay:
    """Background task publishing committed outbox rows to JetStream. `start()` / `stop()`."""

    def __init__(
        self,
        engine: AsyncEngine,
        nats_url: str,
        topology: EventTopology = EventTopology(),
        *,
        batch_size: int = 100,
        poll_seconds: float = 0.5,
        publish_timeout: float = 2.0,
        max_backoff_seconds: float = 5.0,
        keep_published: timedelta = timedelta(seconds=EVENT_MAX_AGE_SECONDS) + timedelta(days=1),
        name: str = "outbox-relay",
    ):
        self._engine = engine
        self._nats_url = nats_url
        self._topology = topology
        self._batch_size = batch_size
        self._poll_seconds = poll_seconds
        self._publish_timeout = publish_timeout
        self._max_backoff = max_backoff_seconds
        self._keep_published = keep_published
        self._next_purge = 0.0
        self._next_measure = 0.0
        self._name = name
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._nc = None
        self._js = None
        # Observability (and the tests' proof that two relays never publish one row twice).
        self.published_count = 0
        self.failed_passes = 0

    async def start(self) -> None:
        if self._tasks:
            return
        self._stopping.clear()
        self._tasks = [
            asyncio.create_task(self._run(), name=f"{self._name}-publish"),
            asyncio.create_task(self._listen(), name=f"{self._name}-listen"),
        ]

    async def stop(self, grace: float = 5.0) -> None:
        """Returns within about `grace` + 5 s whatever the loops are doing (a pass in flight may
        finish: its rows are then marked; if it is cut short they stay unpublished)."""
        self._stopping.set()
        self._wake.set()
        await stop_tasks(self._tasks, grace=grace)
        self._tasks = []
        if self._nc is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(self._publish_timeout):
                    await self._nc.close()
            self._nc = self._js = None

    @property
    def connected(self) -> bool:
        return self._js is not None and self._nc.is_connected

    def wake(self) -> None:
        """Ask for a pass now (LISTEN/NOTIFY does this after every commit that added events)."""
        self._wake.set()

    async def _run(self) -> None:
        backoff = 0.0
        while not self._stopping.is_set():
            # Cleared before the pass, so a commit during the pass makes the wait below return at once.
            self._wake.clear()
            try:
                if self._nc is None:
                    self._nc = await connect(self._nats_url, self._name, connect_timeout=self._publish_timeout)
                if self._js is None:
                    js = self._nc.jetstream(timeout=self._publish_timeout)
                    await ensure_streams(js, self._topology)
                    self._js = js
                    log.info("outbox relay connected to nats")
                while await self.relay_batch() == self._batch_size and not self._stopping.is_set():
                    pass
                if time.monotonic() >= self._next_measure:
                    self._next_measure = time.monotonic() + MEASURE_EVERY_SECONDS
                    await self.measure_backlog()
                backoff = 0.0
                if time.monotonic() >= self._next_purge:
                    self._next_purge = time.monotonic() + PURGE_EVERY_SECONDS
                    await self.purge_published()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - NATS or PostgreSQL trouble: back off, keep going
                if isinstance(exc, NoStreamResponseError):
                    self._js = None  # the stream vanished: create it again before the next publish
                self.failed_passes += 1
                backoff = min(self._max_backoff, max(0.1, backoff * 2))
                log.warning("outbox relay pass failed; retrying", error=type(exc).__name__, retry_in=backoff)
                await wait_until(self._stopping, backoff)
                continue
            await wait_until(self._wake, self._poll_seconds)

    async def measure_backlog(self) -> tuple[int, float]:
        """Set the backlog gauges: unpublished events, and the age in seconds of the oldest one."""
        async with self._engine.connect() as conn:
            count, age = (
                await conn.execute(
                    select(func.count(), func.coalesce(func.extract("epoch", func.now() - func.min(outbox.c.created_at)), 0))
                    .where(outbox.c.published_at.is_(None))
                )
            ).one()
        OUTBOX_BACKLOG.set(count)
        OUTBOX_OLDEST_AGE.set(max(0.0, float(age)))
        return count, float(age)

    async def purge_published(self) -> int:
        """Delete rows published longer ago than `keep_published` (in bounded chunks); returns how many."""
        purged = 0
        while True:
            async with self._engine.begin() as conn:
                doomed = (
                    select(outbox.c.id)
                    .where(outbox.c.published_at < func.now() - self._keep_published)
                    .limit(PURGE_CHUNK)
                    .scalar_subquery()
                )
                deleted = (await conn.execute(delete(outbox).where(outbox.c.id.in_(doomed)))).rowcount
            purged += deleted
            if deleted < PURGE_CHUNK:
                return purged

    async def relay_batch(self) -> int:
        """Claim up to batch_size unpublished rows, publish them in order; returns how many were published.

        The rows leave back to back and their PubAcks are awaited together (one round trip for the
        batch instead of one per row), then every acknowledged row is marked in one UPDATE. The
        order in the stream is still the order of the rows: one connection carries the publishes
        in the order they are written, and JetStream stores them in the order they arrive.
        Raises after recording the error on the rows that were not acknowledged (the acknowledged
        ones are still marked).
        """
        async with self._engine.begin() as conn:
            # One relay at a time across all service processes: events leave in commit order (a
            # booking's cancellation never overtakes its creation). SKIP LOCKED alone would let two
            # relays publish neighbouring batches concurrently, out of order.
            if not (await conn.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": OUTBOX_RELAY_LOCK_KEY})).scalar():
                return 0
            rows = (
                await conn.execute(
                    select(outbox.c.id, outbox.c.subject, outbox.c.payload, outbox.c.trace_context)
                    .where(outbox.c.published_at.is_(None))
                    .order_by(outbox.c.created_at, outbox.c.id)
                    .limit(self._batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            acked, failure = await self._publish_all(rows)
            if acked:
                await conn.execute(
                    MARK_PUBLISHED, {"ids": list(acked), "seqs": list(acked.values())}
                )
            if failure is not None:
                await conn.execute(
                    update(outbox)
                    .where(outbox.c.id.in_([row.id for row in rows if row.id not in acked]))
                    .values(attempts=outbox.c.attempts + 1, last_error=f"{type(failure).__name__}: {failure}"[:500])
                )
        self.published_count += len(acked)
        OUTBOX_PUBLISHED.inc(len(acked))
        if failure is not None:
            raise failure
        return len(acked)

    async def _publish_all(self, rows) -> tuple[dict[UUID, int], Exception | None]:
        """Publish `rows` in order; the ids JetStream acknowledged within the timeout (with the stream
        sequence each got), and the first failure."""
        pending: list[tuple[UUID, asyncio.Future]] = []
        failure: Exception | None = None
        try:
            for row in rows:
                headers = {MSG_ID_HEADER: str(row.id)}
                if row.trace_context:
                    headers[TRACEPARENT] = row.trace_context  # the consumer's spans join the writer's trace
                ack = await self._js.publish_async(self._topology.subject(row.subject), row.payload, headers=headers)
                pending.append((row.id, ack))
        except Exception as exc:  # noqa: BLE001 - the connection failed: what was written may still be acked
            failure = exc
        if pending:
            await asyncio.wait([ack for _, ack in pending], timeout=self._publish_timeout)
        acked: dict[UUID, int] = {}
        for row_id, ack in pending:
            if not ack.done():
                ack.cancel()  # frees its place among the pending publishes; the row is published again later
                failure = failure or asyncio.TimeoutError("no PubAck within the publish timeout")
            elif ack.exception() is not None:
                failure = failure or ack.exception()
            else:
                acked[row_id] = ack.result().seq
        return acked, failure

    async def _listen(self) -> None:
        backoff = 0.0
        while not self._stopping.is_set():
            try:
                async with await psycopg.AsyncConnection.connect(
                    _libpq_url(self._engine), autocommit=True, connect_timeout=LISTEN_CONNECT_TIMEOUT
                ) as conn:
                    await conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    backoff = 0.0
                    self.wake()  # events committed while we were not listening
                    while not self._stopping.is_set():
                        # Bounded, so the stop flag is seen without relying on cancellation.
                        async for _ in conn.notifies(timeout=LISTEN_CHECK_SECONDS):
                            self.wake()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - polling still runs; reconnect later
                backoff = min(self._max_backoff, max(0.2, backoff * 2))
                log.warning("outbox listen connection lost", error=type(exc).__name__, retry_in=backoff)
                await wait_until(self._stopping, backoff)
