"""Durable JetStream pull consumer: events in, emails out, exactly the right ones once.

Per message: decode → plan the emails → skip those the ledger says were sent → send the rest over
SMTP, recording each in the ledger right after the server accepted it → ack. So:
- nothing is lost: the ack comes only after every email of the event was accepted by SMTP;
  a crash before it means redelivery (after ack_wait), a failure means nak with backoff;
- nothing is sent twice by redelivery: the ledger is checked per (event id, kind, recipient).
  SMTP has no two-phase commit, so at-least-once with a deterministic Message-ID is the strongest
  guarantee; exactly two cases send one email twice, both in the gap between SMTP's 250 and the
  ledger write (about a millisecond), and each repeats only that one email, same Message-ID:
  1. this process dies in the gap (SIGKILL, OOM, power): the event is redelivered and the email
     is not in the ledger;
  2. the ledger write fails in the gap (NATS, which holds the ledger, is lost or times out): the
     event is handed back and redelivered, and the email is not in the ledger.
  A graceful stop (SIGTERM) finishes the event in hand first, so it repeats nothing.
- a crashed consumer's events come back after `ack_wait` (seconds): while a batch is in hand a
  heartbeat tells JetStream that each of its unfinished events is in progress, so a slow SMTP
  server, or a long batch, is not mistaken for a dead consumer.
- a booking's emails go in the order of its events (created, then confirmed or rescheduled, then
  cancelled), even with several replicas sharing the consumer: notification_svc.ordering holds an
  event back (hands it back for a moment) until its predecessor is handled, within a bound.
Throughput: one fetch brings up to `batch_size` events, the ledger lookups of an event go out
together, and the SMTP connection stays open from one event to the next (notification_svc.mailer).
"""
from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from datetime import datetime, timezone

import nats.errors
from google.protobuf.message import DecodeError
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from opentelemetry.trace import SpanKind

from mesh_common import events
from mesh_common.events import MSG_ID_HEADER, EventTopology
from mesh_common.lifecycle import wait_until
from mesh_common.logging import get_logger
from mesh_common.tracing import extract, span, tracer
from notification_svc.brochure import BrochureSource
from notification_svc.emails import EMAILS, EmailComposer
from notification_svc.failures import Outage, PermanentFailure, RetryableFailure
from notification_svc.ledger import SentLedger
from notification_svc.mailer import SmtpMailer
from notification_svc.metrics import DEAD_LETTERED, EMAILS_FAILED, EMAILS_SENT, EVENTS_HANDLED
from notification_svc.ordering import BookingOrder, Place

log = get_logger(__name__)
_tracer = tracer("booking.notification")


class _Attempt:
    """One delivery of a message. Hand-backs for order are no failures: the retry budget (backoff,
    max deliveries) counts only the deliveries beyond them."""

    def __init__(self, num_delivered: int):
        self.num_delivered = num_delivered
        self.held_back = 0

    @property
    def deliveries(self) -> int:
        return max(1, self.num_delivered - self.held_back)


class HeldBack(Exception):
    """An event whose predecessor is not handled yet: hand it back for `place.wait` seconds."""

    def __init__(self, place: Place):
        super().__init__(f"held back {place.wait:.2f} s for order")
        self.place = place


class NotificationConsumer:
    def __init__(
        self,
        js: JetStreamContext,
        topology: EventTopology,
        durable: str,
        composer: EmailComposer,
        mailer: SmtpMailer,
        brochures: BrochureSource,
        ledger: SentLedger,
        order: BookingOrder | None = None,
        *,
        max_deliveries: int = 8,
        retry_base_seconds: float = 2.0,
        retry_max_seconds: float = 60.0,
        ack_wait_seconds: float = 6.0,
        batch_size: int = 50,
    ):
        self._js = js
        self._topology = topology
        self._durable = durable
        self._composer = composer
        self._mailer = mailer
        self._brochures = brochures
        self._ledger = ledger
        self._order = order
        self._max_deliveries = max_deliveries
        self._retry_base = retry_base_seconds
        self._retry_max = retry_max_seconds
        self._ack_wait = ack_wait_seconds
        self._batch_size = batch_size
        self.emails_sent = 0
        self.nats_troubles = 0

    async def ensure_consumer(self) -> None:
        await self._js.add_consumer(
            self._topology.stream,
            ConsumerConfig(
                name=self._durable,
                durable_name=self._durable,
                description="notification_svc: booking and brochure emails",
                deliver_policy=DeliverPolicy.ALL,
                ack_policy=AckPolicy.EXPLICIT,
                ack_wait=self._ack_wait,
                # Unlimited: dead-lettering is ours (with the reason); the server's cap would
                # silently park a message instead.
                max_deliver=-1,
                max_ack_pending=1000,
            ),
        )

    def backoff(self, deliveries: int) -> float:
        delay = min(self._retry_max, self._retry_base * 2 ** max(0, deliveries - 1))
        return delay * random.uniform(0.8, 1.0)

    async def run(self, stopping: asyncio.Event) -> None:
        """Fetch and handle until `stopping` is set; fetched-but-unstarted messages are released."""
        sub = await self._js.pull_subscribe_bind(durable=self._durable, stream=self._topology.stream)
        try:
            while not stopping.is_set():
                try:
                    batch = await sub.fetch(self._batch_size, timeout=1.0)
                except asyncio.TimeoutError:
                    # Nothing arrived within the fetch's wait: idle, not a failure. nats-py raises its
                    # own TimeoutError or asyncio's, depending on where in the fetch the wait ran out.
                    continue
                except (nats.errors.Error, OSError) as exc:
                    log.warning("fetch failed; retrying", error=type(exc).__name__)
                    await wait_until(stopping, 0.5)
                    continue
                unfinished = list(batch)
                heartbeat = asyncio.create_task(self._heartbeat(unfinished), name="in-progress heartbeat")
                try:
                    pause = await self._handle_batch(batch, unfinished, stopping)
                finally:
                    heartbeat.cancel()
                    await asyncio.gather(heartbeat, return_exceptions=True)
                if pause:
                    # The dependency is down: do not hammer it with the next batch either.
                    await wait_until(stopping, pause)
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def _handle_batch(self, batch: list[Msg], unfinished: list[Msg], stopping: asyncio.Event) -> float | None:
        """In order; returns a pause when a dependency is down (the rest of the batch is handed back)."""
        for index, msg in enumerate(batch):
            if stopping.is_set():
                await self._release(batch[index:], delay=None)
                return None
            pause = await self.handle(msg)
            unfinished.remove(msg)
            if pause:
                await self._release(batch[index + 1 :], delay=pause)
                return pause
        return None

    async def _release(self, msgs: list[Msg], delay: float | None) -> None:
        for msg in msgs:
            with contextlib.suppress(Exception):
                await msg.nak(delay=delay)

    async def handle(self, msg: Msg) -> float | None:
        """Handle one message; returns a pause in seconds when a dependency is down, else None.

        Inside a CONSUMER span, child of the span that wrote the event (its traceparent header)."""
        name = f"handle {self._topology.logical(msg.subject) or msg.subject}"
        with span(_tracer, name, parent=extract(msg.headers), kind=SpanKind.CONSUMER):
            return await self._handle(msg)

    async def _handle(self, msg: Msg) -> float | None:
        meta = msg.metadata
        attempt = _Attempt(meta.num_delivered)
        try:
            await self._deliver(msg, attempt)
        except HeldBack as exc:
            with contextlib.suppress(Exception):
                await msg.nak(delay=exc.place.wait)
            return None
        except asyncio.CancelledError:
            # Shutdown grace exceeded: hand the message back now rather than after ack_wait.
            with contextlib.suppress(Exception):
                await asyncio.shield(msg.nak())
            raise
        except Outage as exc:
            delay = self.backoff(attempt.deliveries)
            log.warning("dependency down; will retry", reason=str(exc), seq=meta.sequence.stream, retry_in=round(delay, 2))
            with contextlib.suppress(Exception):
                await msg.nak(delay=delay)
            return delay
        except RetryableFailure as exc:
            if attempt.deliveries >= self._max_deliveries:
                await self._dead_letter(msg, f"gave up after {attempt.deliveries} deliveries: {exc}")
            else:
                delay = self.backoff(attempt.deliveries)
                log.warning("delivery failed; will retry", reason=str(exc), seq=meta.sequence.stream, retry_in=round(delay, 2))
                with contextlib.suppress(Exception):
                    await msg.nak(delay=delay)
        except PermanentFailure as exc:
            await self._dead_letter(msg, str(exc))
        except (nats.errors.Error, OSError, asyncio.TimeoutError) as exc:
            # NATS itself (the ledger) is in trouble: the message comes back after ack_wait.
            self.nats_troubles += 1
            log.warning("nats trouble while handling; message will be redelivered", error=type(exc).__name__)
            return 1.0
        except Exception as exc:  # an unforeseen failure counts like a retryable one
            log.exception("unexpected failure handling a message", seq=meta.sequence.stream)
            if attempt.deliveries >= self._max_deliveries:
                await self._dead_letter(msg, f"gave up after {attempt.deliveries} deliveries: {type(exc).__name__}: {exc}")
            else:
                with contextlib.suppress(Exception):
                    await msg.nak(delay=self.backoff(attempt.deliveries))
        return None

    async def _heartbeat(self, unfinished: list[Msg]) -> None:
        """Keep JetStream from redelivering messages we hold (ack_wait is short so a dead consumer's
        messages come back quickly): the one in hand and those of the batch still waiting for it."""
        while True:
            await asyncio.sleep(self._ack_wait / 3)
            for msg in list(unfinished):
                with contextlib.suppress(Exception):
                    await msg.in_progress()

    def _decode(self, msg: Msg):
        subject = self._topology.logical(msg.subject)
        if subject not in events.EVENT_TYPES:
            raise PermanentFailure(f"unknown subject {msg.subject}")
        try:
            event = events.decode_event(subject, msg.data)
        except DecodeError as exc:
            raise PermanentFailure(f"undecodable {subject} payload: {exc}") from exc
        try:
            uuid.UUID(event.event_id)
        except ValueError as exc:
            raise PermanentFailure(f"{subject} payload without a valid event_id") from exc
        try:
            deliveries = self._composer.plan(subject, event)
        except ValueError as exc:
            raise PermanentFailure(str(exc)) from exc
        return subject, event, deliveries

    async def _deliver(self, msg: Msg, attempt: _Attempt) -> None:
        subject, event, deliveries = self._decode(msg)
        if self._order is not None:
            place = await self._order.place(event, redelivered=attempt.num_delivered > 1)
            attempt.held_back = place.held_back
            if place.wait is not None:
                raise HeldBack(place)
        sent = await asyncio.gather(*(self._ledger.was_sent(event.event_id, d) for d in deliveries))
        pending = [d for d, was_sent in zip(deliveries, sent, strict=True) if not was_sent]
        if pending:
            pdf = await self._brochures.fetch() if any(EMAILS[d.kind].brochure for d in pending) else None
            async with self._mailer.session() as smtp:
                for delivery in pending:
                    try:
                        message = self._composer.render(subject, event, delivery, brochure_pdf=pdf)
                    except Exception as exc:  # a template or data bug will not heal by retrying
                        raise PermanentFailure(f"rendering {delivery.kind} failed: {type(exc).__name__}: {exc}") from exc
                    await msg.in_progress()
                    with span(_tracer, f"smtp send {delivery.kind}", kind=SpanKind.CLIENT):
                        try:
                            await smtp.send(message)
                        except Exception:
                            EMAILS_FAILED.labels(delivery.kind).inc()
                            raise
                    await self._ledger.mark_sent(event.event_id, delivery)
                    self.emails_sent += 1
                    EMAILS_SENT.labels(delivery.kind).inc()
                    log.info("email sent", event_id=event.event_id, kind=delivery.kind, seq=msg.metadata.sequence.stream)
        if self._order is not None:
            await self._order.handled(event)
        await msg.ack_sync()
        EVENTS_HANDLED.labels(subject).inc()

    async def _dead_letter(self, msg: Msg, reason: str) -> None:
        meta = msg.metadata
        subject = self._topology.logical(msg.subject) or msg.subject
        event_id, event = "", None
        with contextlib.suppress(Exception):
            event = events.decode_event(subject, msg.data)
            event_id = event.event_id
        headers = {
            # Idempotent per original stream message: a crash before the term re-publishes the same.
            MSG_ID_HEADER: f"dlq-{meta.stream}-{meta.sequence.stream}",
            events.DLQ_REASON: " ".join(reason.split())[:500],
            events.DLQ_ORIGINAL_SUBJECT: subject,
            events.DLQ_ORIGINAL_SEQUENCE: str(meta.sequence.stream),
            events.DLQ_ORIGINAL_MSG_ID: (msg.headers or {}).get(MSG_ID_HEADER, ""),
            events.DLQ_EVENT_ID: " ".join(event_id.split())[:100],
            events.DLQ_DELIVERIES: str(meta.num_delivered),
            events.DLQ_FAILED_AT: datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        try:
            await self._js.publish(self._topology.dlq_subject(subject), msg.data, headers=headers)
        except Exception as exc:  # noqa: BLE001 - without the dead-letter copy the original must stay
            log.error("dead-lettering failed; message will be redelivered", error=type(exc).__name__)
            with contextlib.suppress(Exception):
                await msg.nak(delay=self.backoff(meta.num_delivered))
            return
        if self._order is not None and event is not None:
            # Given up on: its booking's later events need not wait out the bound for it.
            with contextlib.suppress(Exception):
                await self._order.handled(event)
        await msg.term()
        DEAD_LETTERED.labels(subject).inc()
        log.error("message dead-lettered", seq=meta.sequence.stream, subject=subject, event_id=event_id, reason=headers[events.DLQ_REASON])

