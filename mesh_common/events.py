"""The event bus both services share: subjects, payload types, JetStream streams, connection.

Subjects are FIXED (`booking.created`, ...). An optional subject prefix and configurable stream
names let tests and side-by-side environments run isolated copies on one NATS server; with the
defaults the subjects on the wire are exactly the contract's.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import nats
from google.protobuf.message import Message
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, KeyValueConfig, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BucketNotFoundError, NotFoundError
from nats.js.kv import KeyValue

from booking.v1 import events_pb2
from mesh_common.logging import get_logger

log = get_logger(__name__)

BOOKING_CREATED = "booking.created"
BOOKING_CANCELLED = "booking.cancelled"
BOOKING_CONFIRMED = "booking.confirmed"
BOOKING_RESCHEDULED = "booking.rescheduled"
BOOKING_REMINDER_DUE = "booking.reminder_due"
BROCHURE_REQUESTED = "brochure.requested"

EVENT_TYPES: dict[str, type[Message]] = {
    BOOKING_CREATED: events_pb2.BookingCreated,
    BOOKING_CANCELLED: events_pb2.BookingCancelled,
    BOOKING_CONFIRMED: events_pb2.BookingConfirmed,
    BOOKING_RESCHEDULED: events_pb2.BookingRescheduled,
    BOOKING_REMINDER_DUE: events_pb2.BookingReminderDue,
    BROCHURE_REQUESTED: events_pb2.BrochureRequested,
}

MSG_ID_HEADER = "Nats-Msg-Id"


def recipient_fingerprint(address: str) -> str:
    """Identifies an email's recipient without carrying the address: the notification service's
    sent-ledger keys and Message-IDs hold it, and an erasure purges the ledger keys by it."""
    return hashlib.sha256(address.strip().lower().encode()).hexdigest()[:24]

# JetStream drops a second publish with the same Nats-Msg-Id inside this window, which covers
# the relay re-publishing a row whose PubAck it never saw. Consumers dedupe beyond it.
DUPLICATE_WINDOW_SECONDS = 2 * 3600
EVENT_MAX_AGE_SECONDS = 30 * 24 * 3600
DLQ_MAX_AGE_SECONDS = 365 * 24 * 3600

# Headers on a dead-lettered message.
DLQ_REASON = "Dlq-Reason"
DLQ_ORIGINAL_SUBJECT = "Dlq-Original-Subject"
DLQ_ORIGINAL_SEQUENCE = "Dlq-Original-Sequence"
DLQ_ORIGINAL_MSG_ID = "Dlq-Original-Msg-Id"
DLQ_EVENT_ID = "Dlq-Event-Id"
DLQ_DELIVERIES = "Dlq-Deliveries"
DLQ_FAILED_AT = "Dlq-Failed-At"


@dataclass(frozen=True)
class EventTopology:
    stream: str = "BOOKING_EVENTS"
    dlq_stream: str = "BOOKING_EVENTS_DLQ"
    subject_prefix: str = ""
    # Copies JetStream keeps of each stream: 1 on a single server, 3 on a three-node cluster (an
    # acknowledged publish then survives the loss of a node). ensure_streams applies it at start.
    replicas: int = 1

    @classmethod
    def from_settings(cls, settings) -> EventTopology:
        return cls(settings.events_stream, settings.events_dlq_stream, settings.events_subject_prefix, settings.events_stream_replicas)

    def subject(self, logical: str) -> str:
        """The wire subject of a logical one (`booking.created`)."""
        return self.subject_prefix + logical

    def logical(self, subject: str) -> str | None:
        """The logical subject of a wire subject of the event stream, or None if it is foreign."""
        if not subject.startswith(self.subject_prefix):
            return None
        return subject[len(self.subject_prefix):]

    def dlq_subject(self, logical: str) -> str:
        return f"{self.subject_prefix}dlq.{logical}"

    def stream_config(self) -> StreamConfig:
        return StreamConfig(
            name=self.stream,
            description="Booking and brochure events (booking.v1 protobuf payloads)",
            subjects=[self.subject("booking.>"), self.subject("brochure.>")],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            discard=DiscardPolicy.OLD,
            max_age=EVENT_MAX_AGE_SECONDS,
            duplicate_window=DUPLICATE_WINDOW_SECONDS,
            num_replicas=self.replicas,
        )

    def dlq_config(self) -> StreamConfig:
        return StreamConfig(
            name=self.dlq_stream,
            description="Events the notification service gave up on; see `notification_svc dlq`",
            subjects=[self.subject("dlq.>")],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            discard=DiscardPolicy.OLD,
            max_age=DLQ_MAX_AGE_SECONDS,
            duplicate_window=DUPLICATE_WINDOW_SECONDS,
            num_replicas=self.replicas,
        )


async def ensure_streams(js: JetStreamContext, topology: EventTopology = EventTopology()) -> None:
    """Create the event and dead-letter streams, or bring an existing one to this configuration."""
    for config in (topology.stream_config(), topology.dlq_config()):
        try:
            await js.stream_info(config.name)
        except NotFoundError:
            await js.add_stream(config)
        else:
            await js.update_stream(config)


async def key_value_bucket(js: JetStreamContext, bucket: str, ttl_seconds: float, description: str) -> KeyValue:
    """A file-backed key-value bucket keeping one value per key for `ttl_seconds`: created if missing,
    its TTL brought to `ttl_seconds` if it was made with another (a changed setting, an upgrade)."""
    try:
        kv = await js.key_value(bucket)
    except BucketNotFoundError:
        return await js.create_key_value(
            KeyValueConfig(bucket=bucket, history=1, ttl=ttl_seconds, storage=StorageType.FILE, description=description)
        )
    info = await js.stream_info(f"KV_{bucket}")
    if abs((info.config.max_age or 0) - ttl_seconds) > 1:
        info.config.max_age = ttl_seconds
        await js.update_stream(info.config)
    return kv


def decode_event(logical_subject: str, payload: bytes) -> Message:
    """The protobuf event of a subject; raises KeyError for an unknown subject, DecodeError for bad bytes."""
    event = EVENT_TYPES[logical_subject]()
    event.ParseFromString(payload)
    return event


async def connect(url: str, name: str, *, reconnect_wait: float = 0.5, connect_timeout: float = 2.0) -> NATS:
    """A client that keeps reconnecting forever (it also waits here until NATS is first reachable)."""
    failures = 0

    async def on_error(exc: Exception) -> None:
        nonlocal failures
        failures += 1
        if failures == 1 or failures % 60 == 0:  # an outage must not flood the log
            log.warning("nats connection problem", client=name, error=type(exc).__name__, failures=failures)

    async def on_reconnected() -> None:
        nonlocal failures
        failures = 0
        log.info("nats reconnected", client=name)

    return await nats.connect(
        url,
        name=name,
        max_reconnect_attempts=-1,
        reconnect_time_wait=reconnect_wait,
        connect_timeout=connect_timeout,
        error_cb=on_error,
        reconnected_cb=on_reconnected,
    )
