"""What the appointment service counts for Prometheus, beside mesh_common.metrics' RPC metrics.

Adapters count what they see (cache hits, lock contention, the outbox); committed domain events
are counted by a message-bus handler (bootstrap.event_handlers), so a rolled-back booking is never
counted as made.
"""
from __future__ import annotations

import re

from prometheus_client import Counter, Gauge

BOOKING_EVENTS = Counter(
    "booking_booking_events_total", "Committed booking changes, by event (created, cancelled, confirmed, ...)", ["event"]
)
CACHE_READS = Counter("booking_availability_cache_reads_total", "Availability cache reads, by result (hit, miss, error)", ["result"])
LOCK_ATTEMPTS = Counter(
    "booking_slot_lock_attempts_total", "Slot lock attempts, by result (taken, contended: someone else held it; unavailable)", ["result"]
)
OUTBOX_PUBLISHED = Counter("booking_outbox_published_total", "Outbox events published to JetStream")
OUTBOX_BACKLOG = Gauge("booking_outbox_backlog", "Outbox events not yet published (as the relay last looked)")
OUTBOX_OLDEST_AGE = Gauge("booking_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox event (0 when none)")

CACHE_HIT, CACHE_MISS, CACHE_ERROR = (CACHE_READS.labels(r) for r in ("hit", "miss", "error"))
LOCK_TAKEN, LOCK_CONTENDED, LOCK_UNAVAILABLE = (LOCK_ATTEMPTS.labels(r) for r in ("taken", "contended", "unavailable"))


def _event_label(event_type: type) -> str:
    # BookingCreated → created, BookingMarkedNoShow → marked_no_show
    name = event_type.__name__.removeprefix("Booking")
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


async def count_booking_event(event) -> None:
    """A message-bus handler: one more committed booking change of the event's kind."""
    BOOKING_EVENTS.labels(_event_label(type(event))).inc()
