"""Helpers for the notification service tests: per-test streams, mailbox, events, a scripted SMTP server.

Every test gets its own streams, durable consumer, ledger bucket and recipient addresses (a tag
in every address), so tests sharing the session's servers never see each other's mail.
"""
from __future__ import annotations

import asyncio
import contextlib
import os
import re
import subprocess
import sys
import uuid
from datetime import datetime, timedelta, timezone
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import nats
import pytest

from booking.v1 import events_pb2
from booking.v1 import resources_pb2 as res
from booking_mesh.brochure_pdf import provision_brochure
from mesh_common.config import NotificationSettings
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
            notification_order_bucket=f"order_{tag}",
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


# Named fixtures so a test module imports them without its parameters shadowing the import.
@pytest.fixture(scope="session", name="brochure")
def brochure_fixture(backing) -> tuple[str, str, bytes]:
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
    buckets = (f"KV_{bus.values['notification_sent_bucket']}", f"KV_{bus.values['notification_order_bucket']}")
    for name in (bus.topology.stream, bus.topology.dlq_stream, *buckets):
        try:
            await js.delete_stream(name)
        except Exception:  # noqa: BLE001 - never created
            pass
    await bus.nc.close()


@pytest.fixture(name="bus")
async def bus_fixture(backing, brochure):
    bus = await open_bus(backing, brochure)
    yield bus
    await close_bus(bus)


@pytest.fixture(name="notifier")
async def notifier_fixture(bus):
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


def booking_rescheduled(bus: Bus, earlier) -> events_pb2.BookingRescheduled:
    moved = res.Appointment()
    moved.CopyFrom(earlier.appointment)
    moved.reschedule_count += 1
    moved.slot.slot_id = str(uuid.uuid4())
    moved.slot.starts_at.FromDatetime(moved.slot.starts_at.ToDatetime(tzinfo=UTC) + timedelta(days=1))
    moved.slot.ends_at.FromDatetime(moved.slot.ends_at.ToDatetime(tzinfo=UTC) + timedelta(days=1))
    event = events_pb2.BookingRescheduled(event_id=str(uuid.uuid4()), appointment=moved, rescheduled_by="user-1")
    event.previous_slot.CopyFrom(earlier.appointment.slot)
    event.occurred_at.GetCurrentTime()
    return event


def email_kind(message: EmailMessage) -> str:
    """The kind of email (notification_svc.emails), from its deterministic Message-ID."""
    return message["Message-ID"].strip("<>").split(".")[1]


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


class ScriptedSmtp:
    """A real SMTP server (aiosmtpd) in the test's loop whose acceptance of a message can be slowed
    down or preceded by a fault, to reach the gap between SMTP's 250 and the ledger write."""

    def __init__(self, before_accepting):
        self.received: list[EmailMessage] = []
        self.connections: list = []  # every SMTP session's protocol, in the order clients connected
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
        def connected() -> SMTP:
            self.connections.append(SMTP(self, hostname="scripted"))
            return self.connections[-1]

        self._server = await loop.create_server(connected, "127.0.0.1", 0)
        self.url = f"smtp://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc) -> None:
        self._server.close()
        await self._server.wait_closed()


@contextlib.asynccontextmanager
async def service_with_scripted_smtp(backing, brochure, before_accepting, **overrides):
    """A running notification service on a bus of its own, sending to a ScriptedSmtp: (bus, smtp, service)."""
    bus = await open_bus(backing, brochure, **overrides)
    try:
        async with ScriptedSmtp(before_accepting) as smtp:
            bus.values["smtp_url"] = smtp.url
            service = NotificationService(bus.settings)
            await service.start()
            try:
                yield bus, smtp, service
            finally:
                await service.stop()
    finally:
        await close_bus(bus)

