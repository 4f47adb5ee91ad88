"""The notification service against the real NATS JetStream, SMTP sink and S3 (SeaweedFS).

Every test gets its own streams, durable consumer, ledger bucket and recipient addresses (a tag
in every address), so tests sharing the session's servers never see each other's mail.
"""
from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import subprocess
import sys
import uuid
from datetime import datetime, timedelta, timezone
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import nats
import psutil
import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import create_async_engine

from appointment_svc.adapters.outbox import OutboxRelay
from appointment_svc.adapters.rate_limit import SlidingWindowRateLimiter
from appointment_svc.adapters.unit_of_work import SqlUnitOfWork
from appointment_svc.service_layer.brochures import BrochureService, RequestBrochure
from booking.v1 import events_pb2
from booking.v1 import resources_pb2 as res
from booking_mesh.brochure_pdf import provision_brochure
from mesh_common.config import NotificationSettings, sqlalchemy_url
from mesh_common.events import MSG_ID_HEADER, EventTopology, ensure_streams
from mesh_common.s3 import s3_client
from notification_svc.service import NotificationService
from tests.polling import eventually

PROJECT_ROOT = Path(__file__).resolve().parents[2]
UTC = timezone.utc



class Mailbox:
    """The SMTP sink's stored messages for one test (those whose envelope holds the test's tag)."""

    def __init__(self, maildir: Path, tag: str):
        self._maildir = maildir
        self._tag = tag
        # The sink is shared by the whole session: mail already there belongs to earlier tests.
        # Parsing those thousands of files on a poll made the tests see their own mail seconds
        # late, after the service under test had already finished what they meant to interrupt.
        self._earlier = set(maildir.glob("*.eml"))
        self._parsed: dict[Path, EmailMessage | None] = {}
        self._parser = BytesParser(policy=policy.default)

    def messages(self) -> list[EmailMessage]:
        for path in sorted(self._maildir.glob("*.eml")):
            if path in self._earlier or path in self._parsed:
                continue
            raw = path.read_bytes()
            self._parsed[path] = self._parser.parsebytes(raw) if self._tag.encode() in raw else None
        return [m for m in self._parsed.values() if m is not None and self._tag in m["X-Envelope-To"]]

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages() if address in m["X-Envelope-To"]]

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        await eventually(lambda: len(self.messages()) >= count, timeout, message=f"{count} emails")
        return self.messages()


class Bus:
    def __init__(self, backing, brochure, tag: str, **overrides):
        self.tag = tag
        self.topology = EventTopology(stream=f"N_{tag}", dlq_stream=f"N_{tag}_DLQ", subject_prefix=f"n{tag}.")
        bucket, key, _ = brochure
        s3 = backing["s3"]
        self.values = dict(
            nats_url=backing["nats"].url,
            database_url="postgresql://unused",
            redis_url="redis://unused",
            jwt_jwks_path="/nonexistent/jwks.json",
            smtp_url=backing["smtp"].url,
            s3_endpoint_url=s3.url,
            s3_access_key=s3.access_key,
            s3_secret_key=s3.secret_key,
            brochure_bucket=bucket,
            brochure_key=key,
            events_stream=self.topology.stream,
            events_dlq_stream=self.topology.dlq_stream,
            events_subject_prefix=self.topology.subject_prefix,
            notification_durable=f"notify-{tag}",
            notification_sent_bucket=f"sent_{tag}",
            team_email_domain=f"{tag}.example.co.uk",
            notification_ack_wait_seconds=2.0,
            notification_max_deliveries=3,
            notification_retry_base_seconds=0.1,
            notification_retry_max_seconds=0.5,
            notification_shutdown_grace_seconds=5.0,
            smtp_timeout_seconds=3.0,
            log_level="WARNING",
            log_format="console",
        )
        self.values.update(overrides)
        self.mailbox = Mailbox(backing["smtp"].maildir, tag)
        self.nc = None

    @property
    def settings(self) -> NotificationSettings:
        return NotificationSettings(**self.values)

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, **{k.upper(): str(v) for k, v in self.values.items()}, "PYTHONPATH": str(PROJECT_ROOT)}

    @property
    def js(self):
        return self.nc.jetstream()

    def customer(self, name: str = "jane") -> str:
        return f"{name}.{self.tag}@example.com"

    def team(self, team: str) -> str:
        return f"{team}-team@{self.tag}.example.co.uk"

    async def publish(self, subject: str, payload, msg_id: str | None = None) -> None:
        data = payload if isinstance(payload, bytes) else payload.SerializeToString()
        event_id = msg_id or (getattr(payload, "event_id", "") or uuid.uuid4().hex)
        await self.js.publish(self.topology.subject(subject), data, headers={MSG_ID_HEADER: event_id})

    async def idle(self) -> bool:
        info = await self.js.consumer_info(self.topology.stream, self.values["notification_durable"])
        return info.num_pending == 0 and info.num_ack_pending == 0

    async def dead_letters(self) -> int:
        return (await self.js.stream_info(self.topology.dlq_stream)).state.messages

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "notification_svc", *args],
            env=self.env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=30,
        )  # fmt: skip

    def spawn(self, log_path: Path) -> subprocess.Popen:
        with open(log_path, "ab") as log:
            return subprocess.Popen(
                [sys.executable, "-m", "notification_svc", "run"],
                env=self.env, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip


@pytest.fixture(scope="session")
def brochure(backing) -> tuple[str, str, bytes]:
    s3 = backing["s3"]
    bucket, key = f"brochures-{uuid.uuid4().hex[:8]}", "kitchens-and-bedrooms.pdf"
    assert provision_brochure(s3.url, s3.access_key, s3.secret_key, bucket, key)
    assert not provision_brochure(s3.url, s3.access_key, s3.secret_key, bucket, key)  # idempotent
    body = s3_client(s3.url, s3.access_key, s3.secret_key).get_object(Bucket=bucket, Key=key)["Body"].read()
    return bucket, key, body


async def open_bus(backing, brochure, **overrides) -> Bus:
    bus = Bus(backing, brochure, uuid.uuid4().hex[:10], **overrides)
    bus.nc = await nats.connect(backing["nats"].url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    await ensure_streams(bus.js, bus.topology)
    return bus


async def close_bus(bus: Bus) -> None:
    js = bus.js
    for name in (bus.topology.stream, bus.topology.dlq_stream, f"KV_{bus.values['notification_sent_bucket']}"):
        try:
            await js.delete_stream(name)
        except Exception:  # noqa: BLE001 - never created
            pass
    await bus.nc.close()


@pytest.fixture
async def bus(backing, brochure):
    bus = await open_bus(backing, brochure)
    yield bus
    await close_bus(bus)


@pytest.fixture
async def notifier(bus):
    service = NotificationService(bus.settings)
    await service.start()
    yield service
    await service.stop()


def appointment(bus: Bus, *, kitchen=True, bedroom=False, starts_at=datetime(2026, 7, 1, 9, 0, tzinfo=UTC), **extra):
    result = res.Appointment(
        booking_id=str(uuid.uuid4()), reference_code=f"BK-20260701-{uuid.uuid4().int % 10000:04d}", status=res.PENDING,
        type=res.HOME_MEASUREMENT, for_kitchen=kitchen, for_bedroom=bedroom, first_name="Jane", last_name="Doe",
        email=bus.customer(), phone="07700900123", postcode="SW1A 1AA", address="10 Downing Street, London",
        user_id="user-1", **extra,
    )  # fmt: skip
    result.slot.slot_id = str(uuid.uuid4())
    result.slot.starts_at.FromDatetime(starts_at)
    result.slot.ends_at.FromDatetime(starts_at + timedelta(hours=1))
    result.slot.consultant.name = "Amelia Hart"
    return result


def booking_created(bus: Bus, **kwargs) -> events_pb2.BookingCreated:
    event = events_pb2.BookingCreated(event_id=str(uuid.uuid4()), appointment=appointment(bus, **kwargs))
    event.occurred_at.GetCurrentTime()
    return event


def booking_cancelled(bus: Bus, created: events_pb2.BookingCreated) -> events_pb2.BookingCancelled:
    cancelled = res.Appointment()
    cancelled.CopyFrom(created.appointment)
    cancelled.status = res.CANCELLED
    cancelled.cancel_reason = "Moving house"
    event = events_pb2.BookingCancelled(event_id=str(uuid.uuid4()), appointment=cancelled, cancelled_by="user-1")
    event.occurred_at.GetCurrentTime()
    return event


def brochure_requested(bus: Bus, name: str = "john") -> events_pb2.BrochureRequested:
    event = events_pb2.BrochureRequested(
        event_id=str(uuid.uuid4()), request_id=str(uuid.uuid4()), first_name="John", last_name="Smith",
        email=bus.customer(name), phone="07700900456", postcode="M1 1AE", address="1 Piccadilly, Manchester",
    )  # fmt: skip
    event.occurred_at.GetCurrentTime()
    return event


def plain(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def calendar(message: EmailMessage) -> str:
    (part,) = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    content = part.get_content()
    return content if isinstance(content, str) else content.decode()


def uid(ics: str) -> str:
    return re.search(r"^UID:(.+?)\r?$", ics, re.M).group(1)


async def test_a_booking_emails_the_customer_and_each_requested_team_once(bus, notifier):
    both = booking_created(bus, kitchen=True, bedroom=True)
    kitchen_only = booking_created(bus, kitchen=True, bedroom=False)
    await bus.publish("booking.created", both)
    await bus.publish("booking.created", kitchen_only)
    await bus.mailbox.wait_for(5)
    await eventually(bus.idle)

    customer_mail = bus.mailbox.to(bus.customer())
    kitchen, bedroom = bus.mailbox.to(bus.team("kitchen")), bus.mailbox.to(bus.team("bedroom"))
    assert (len(customer_mail), len(kitchen), len(bedroom)) == (2, 2, 1)
    assert len(bus.mailbox.messages()) == 5

    ref = both.appointment.reference_code
    (confirmation,) = [m for m in customer_mail if ref in m["Subject"]]
    assert confirmation["To"] == bus.customer()
    body = plain(confirmation)
    for fact in (ref, "Wednesday 1 July 2026, 10:00", "Home measurement visit", "10 Downing Street, London", "SW1A 1AA"):
        assert fact in body
    ics = calendar(confirmation)
    assert "METHOD:REQUEST" in ics and uid(ics) == f"{both.appointment.booking_id}@booking-mesh"
    assert "DTSTART:20260701T090000Z" in ics

    (bedroom_alert,) = bedroom
    assert bedroom_alert["To"] == bus.team("bedroom") and ref in bedroom_alert["Subject"]
    for fact in ("Jane Doe", bus.customer(), "07700900123", "10 Downing Street, London", "Wednesday 1 July 2026, 10:00"):
        assert fact in plain(bedroom_alert)
    assert {ref, kitchen_only.appointment.reference_code} == {
        next(r for r in (ref, kitchen_only.appointment.reference_code) if r in m["Subject"]) for m in kitchen
    }


async def test_a_cancellation_cancels_the_calendar_entry_of_the_confirmation(bus, notifier):
    created = booking_created(bus)
    await bus.publish("booking.created", created)
    await bus.publish("booking.cancelled", booking_cancelled(bus, created))
    await bus.mailbox.wait_for(3)
    await eventually(bus.idle)
    mail = bus.mailbox.to(bus.customer())
    (confirmation,) = [m for m in mail if "Cancelled" not in m["Subject"]]
    (cancellation,) = [m for m in mail if "Cancelled" in m["Subject"]]
    assert created.appointment.reference_code in cancellation["Subject"]
    assert "Moving house" in plain(cancellation)
    invite, cancel = calendar(confirmation), calendar(cancellation)
    assert "METHOD:CANCEL" in cancel and uid(cancel) == uid(invite)
    sequence = lambda ics: int(re.search(r"SEQUENCE:(\d+)", ics).group(1))  # noqa: E731
    assert sequence(cancel) > sequence(invite)


async def test_a_brochure_request_emails_the_pdf_stored_in_s3(bus, notifier, brochure):
    await bus.publish("brochure.requested", brochure_requested(bus))
    (message,) = await bus.mailbox.wait_for(1)
    assert message["To"] == bus.customer("john")
    assert "brochure" in message["Subject"].lower() and "John" in plain(message)
    (pdf,) = [p for p in message.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert pdf.get_content() == brochure[2]


async def test_an_event_published_twice_sends_its_emails_once(bus, notifier):
    event = booking_created(bus, kitchen=True, bedroom=True)
    await bus.publish("booking.created", event)
    await bus.mailbox.wait_for(3)
    # A second copy beyond JetStream's duplicate window (another Nats-Msg-Id), e.g. a relay re-publish.
    await bus.publish("booking.created", event, msg_id=f"{event.event_id}-again")
    await eventually(bus.idle)
    info = await bus.js.consumer_info(bus.topology.stream, bus.values["notification_durable"])
    assert info.delivered.stream_seq == 2
    assert len(bus.mailbox.messages()) == 3


async def test_an_smtp_outage_delays_mail_without_losing_it(bus, notifier, backing):
    sink = backing["smtp"]
    sink.stop()
    try:
        await bus.publish("booking.created", booking_created(bus))
        await bus.publish("brochure.requested", brochure_requested(bus))

        async def retried() -> bool:
            info = await bus.js.consumer_info(bus.topology.stream, bus.values["notification_durable"])
            return info.num_redelivered > 0

        await eventually(retried)
        assert bus.mailbox.messages() == []
        assert await bus.dead_letters() == 0
    finally:
        sink.start()
    await bus.mailbox.wait_for(3)
    await eventually(bus.idle)
    assert len(bus.mailbox.messages()) == 3
    assert await bus.dead_letters() == 0


async def test_a_poison_message_is_dead_lettered_with_its_reason_and_listed(bus, notifier):
    await bus.publish("booking.created", b"\xff\xfe definitely not protobuf", msg_id="poison-1")
    await bus.publish("brochure.requested", brochure_requested(bus))  # the stream keeps flowing
    await bus.mailbox.wait_for(1)
    await eventually(lambda: bus.dead_letters())
    await eventually(bus.idle)
    raw = await bus.js.get_msg(bus.topology.dlq_stream, 1)
    assert "undecodable" in raw.headers["Dlq-Reason"]
    assert raw.headers["Dlq-Original-Subject"] == "booking.created"
    assert raw.headers["Dlq-Original-Msg-Id"] == "poison-1"
    listing = bus.cli("dlq", "list")
    assert listing.returncode == 0, listing.stderr
    assert "undecodable" in listing.stdout and "booking.created" in listing.stdout

    # Replaying poison only poisons again: it comes back as a new dead letter, nothing is lost.
    assert bus.cli("dlq", "replay", "--all").returncode == 0

    async def dead_lettered_again():
        info = await bus.js.stream_info(bus.topology.dlq_stream)
        return info.state.messages == 1 and info.state.first_seq == 2

    await eventually(dead_lettered_again)
    assert len(bus.mailbox.messages()) == 1


async def test_a_dead_letter_replays_once_its_cause_is_fixed(backing, brochure):
    bucket, _, pdf = brochure
    s3 = backing["s3"]
    missing_key = f"missing-{uuid.uuid4().hex[:8]}.pdf"
    bus = await open_bus(backing, brochure, brochure_key=missing_key)
    service = NotificationService(bus.settings)
    await service.start()
    try:
        await bus.publish("brochure.requested", brochure_requested(bus))
        await eventually(lambda: bus.dead_letters())
        raw = await bus.js.get_msg(bus.topology.dlq_stream, 1)
        assert "NoSuchKey" in raw.headers["Dlq-Reason"] and raw.headers["Dlq-Deliveries"] == "3"
        assert bus.mailbox.messages() == []

        provision_brochure(s3.url, s3.access_key, s3.secret_key, bucket, missing_key)
        replayed = bus.cli("dlq", "replay", "1")
        assert replayed.returncode == 0, replayed.stderr
        (message,) = await bus.mailbox.wait_for(1)
        (attachment,) = list(message.iter_attachments())
        assert attachment.get_content() == pdf
        await eventually(bus.idle)
        assert await bus.dead_letters() == 0
        assert "empty" in bus.cli("dlq", "list").stdout
        assert bus.cli("dlq", "replay", "1").returncode == 1  # already replayed: nothing to do
    finally:
        await service.stop()
        await close_bus(bus)


async def _publish_bookings(bus: Bus, count: int) -> None:
    for _ in range(count):
        await bus.publish("booking.created", booking_created(bus))  # confirmation + kitchen alert


async def _run_interrupted(bus: Bus, tmp_path: Path, interrupt: int, events: int, after_emails: int) -> list[EmailMessage]:
    log_path = tmp_path / "notification.log"
    first = bus.spawn(log_path)
    try:
        await _publish_bookings(bus, events)
        await bus.mailbox.wait_for(after_emails, timeout=20)
        first.send_signal(interrupt)
        assert first.wait(timeout=15) in (0, -signal.SIGKILL), log_path.read_text()
    finally:
        first.kill()
    assert len(bus.mailbox.messages()) < 2 * events, "stopped too late to test anything; publish more"
    second = bus.spawn(log_path)
    try:
        await bus.mailbox.wait_for(2 * events, timeout=30)
        await eventually(bus.idle, timeout=15)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=15)
    return bus.mailbox.messages()


async def test_killed_mid_stream_and_restarted_it_loses_and_duplicates_nothing(bus, tmp_path):
    messages = await _run_interrupted(bus, tmp_path, signal.SIGKILL, events=40, after_emails=10)
    ids = [m["Message-ID"] for m in messages]
    assert len(set(ids)) == 80  # every email of every event arrived
    # A kill between the SMTP server's "250 accepted" and the ledger write (a ~1 ms window) can
    # re-send that one email; it then carries the same Message-ID. Anything more is a bug.
    assert len(ids) - len(set(ids)) <= 1, sorted(ids)


async def test_sigterm_mid_stream_finishes_in_flight_work_so_nothing_is_lost_or_repeated(bus, tmp_path):
    messages = await _run_interrupted(bus, tmp_path, signal.SIGTERM, events=40, after_emails=10)
    ids = [m["Message-ID"] for m in messages]
    assert len(ids) == len(set(ids)) == 80


async def test_an_event_written_while_nats_is_down_is_emailed_after_it_returns(bus, notifier, backing, database_url, redis_url):
    engine = create_async_engine(sqlalchemy_url(database_url))
    redis = Redis.from_url(redis_url)
    limiter = SlidingWindowRateLimiter(redis, namespace=f"brochure-{bus.tag}", limit=3, window_seconds=3600)
    brochures = BrochureService(lambda: SqlUnitOfWork(engine), limiter)
    relay = OutboxRelay(engine, backing["nats"].url, bus.topology, publish_timeout=0.5, max_backoff_seconds=0.5)
    await relay.start()
    try:
        await eventually(lambda: relay.connected)
        backing["nats"].stop()
        try:
            await brochures.request(
                RequestBrochure("John", "Smith", bus.customer("john"), "07700 900456", "M1 1AE", "1 Piccadilly")
            )
            await eventually(lambda: relay.failed_passes > 0)
            assert bus.mailbox.messages() == []
        finally:
            backing["nats"].start()
        (message,) = await bus.mailbox.wait_for(1, timeout=20)
        assert message["To"] == bus.customer("john")
        await eventually(bus.idle, timeout=10)
    finally:
        await relay.stop()
        await redis.aclose()
        await engine.dispose()


async def test_stopped_at_any_moment_it_stops_at_once_and_every_email_still_arrives_once(bus):
    rng = random.Random()
    events = [booking_created(bus) for _ in range(30)]
    for event in events:
        await bus.publish("booking.created", event)
    for _ in range(10):
        service = NotificationService(bus.settings)
        await service.start()
        await asyncio.sleep(rng.uniform(0, 0.4))  # the injected fault: a stop in the middle of a fetch or a send
        # A hang fails here: stop() waits out the grace (5 s here), then 5 s after cancelling.
        async with asyncio.timeout(15):
            await service.stop()
    service = NotificationService(bus.settings)
    await service.start()
    try:
        messages = await bus.mailbox.wait_for(2 * len(events), timeout=30)
        await eventually(bus.idle, timeout=15)
    finally:
        await service.stop()
    ids = [m["Message-ID"] for m in messages]
    assert len(ids) == len(set(ids)) == 2 * len(events)


class ScriptedSmtp:
    """A real SMTP server (aiosmtpd) in the test's loop whose acceptance of a message can be slowed
    down or preceded by a fault, to reach the gap between SMTP's 250 and the ledger write."""

    def __init__(self, before_accepting):
        self.received: list[EmailMessage] = []
        self.url = ""
        self._before_accepting = before_accepting
        self._server = None

    async def handle_DATA(self, server, session, envelope) -> str:
        self.received.append(BytesParser(policy=policy.default).parsebytes(envelope.original_content or envelope.content))
        await self._before_accepting(len(self.received))
        return "250 Message accepted for delivery"

    async def __aenter__(self) -> "ScriptedSmtp":
        from aiosmtpd.smtp import SMTP

        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: SMTP(self, hostname="scripted"), "127.0.0.1", 0)
        self.url = f"smtp://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc) -> None:
        self._server.close()
        await self._server.wait_closed()


async def test_a_send_slower_than_the_ack_wait_is_not_redelivered_meanwhile(backing, brochure):
    async def slow(_count: int) -> None:
        await asyncio.sleep(5)  # 2.5 times the ack wait below: only the heartbeat keeps the message ours

    # An ack wait of 2 s leaves the heartbeat (every 2/3 s) more than a second of slack on a busy machine.
    bus = await open_bus(backing, brochure, notification_ack_wait_seconds=2.0, smtp_timeout_seconds=15.0)
    try:
        async with ScriptedSmtp(slow) as smtp:
            bus.values["smtp_url"] = smtp.url
            service = NotificationService(bus.settings)
            await service.start()
            try:
                await bus.publish("booking.created", booking_created(bus, kitchen=False, bedroom=True))
                await eventually(lambda: len(smtp.received) == 2, timeout=30, message="both emails")
                await eventually(bus.idle, timeout=30)
                info = await bus.js.consumer_info(bus.topology.stream, bus.values["notification_durable"])
            finally:
                await service.stop()
        assert info.num_redelivered == 0 and len(smtp.received) == 2
    finally:
        await close_bus(bus)


async def test_nats_lost_between_smtp_accepting_and_the_ledger_write_repeats_that_one_email_only(backing, brochure):
    nats_server = backing["nats"]

    async def freeze_nats_after_the_first(count: int) -> None:
        # Frozen, the ledger write goes into the socket and times out; killed afterwards, the
        # server takes that write with it. (A plain stop would not do: the client buffers writes
        # while disconnected and the ledger write lands after the reconnect.)
        if count == 1:
            psutil.Process(nats_server.pid).suspend()

    bus = await open_bus(backing, brochure, notification_ack_wait_seconds=1.0)
    try:
        async with ScriptedSmtp(freeze_nats_after_the_first) as smtp:
            bus.values["smtp_url"] = smtp.url
            service = NotificationService(bus.settings)
            await service.start()
            try:
                await bus.publish("booking.created", booking_created(bus, kitchen=False, bedroom=True))
                try:
                    await eventually(lambda: service.consumer.nats_troubles > 0, timeout=30, message="the failed ledger write")
                finally:
                    await asyncio.to_thread(nats_server.kill)
                    await asyncio.to_thread(nats_server.start)
                await eventually(lambda: len(smtp.received) == 3, timeout=30, message="the redelivered event's emails")
                await eventually(bus.idle, timeout=30)
            finally:
                await service.stop()
        first, *rest = smtp.received
        assert [m["Message-ID"] for m in rest].count(first["Message-ID"]) == 1  # that one email, once more
        assert len({m["Message-ID"] for m in smtp.received}) == 2  # and the other email only once
    finally:
        await close_bus(bus)
