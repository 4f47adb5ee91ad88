"""A booking's emails in the order its events happened, however many replicas share the consumer.

JetStream hands one durable consumer's messages to whichever replica fetches next, and a message
handed back (a failed send, a crash) comes again after later ones: so booking.cancelled could be
mailed before the booking.created it follows. Every booking event carries its booking's `sequence`
(1, 2, 3, ... numbered where the appointment service writes its outbox row), and this bucket keeps,
per booking, the last number whose emails are all sent. An event may go when its predecessor has:

- `sequence == last + 1` (or an unnumbered event, 0): handle it now;
- `sequence <= last`: a redelivery or a late replay: handle it now (the sent ledger skips what
  was already sent, and waiting could never help);
- `sequence > last + 1`: its predecessor is still on its way: hand it back (NAK) for `retry_seconds`
  and try again, for at most `max_wait_seconds` counted from the first time any replica held it
  back. Past that it goes anyway (logged, counted): a predecessor that is lost for good must not
  hold a booking's later emails for ever. A predecessor that is dead-lettered counts as handled
  (the consumer says so), so its successors do not wait out the bound.

Why a sequence check rather than per-booking subjects or partitions: the subjects are a fixed
contract, partitions would tie each booking to one replica (a dead replica stalls its share until
someone reassigns it), and the check keeps every replica interchangeable; an in-order event costs
one key lookup and one write. Why the same NATS KV as the sent ledger: nothing new to run, and the
marker lives beside the stream it orders.

The wait is shared by all replicas through a marker per held-back event, which also counts the
hand-backs, so the consumer's retry budget (max deliveries, backoff) sees only real failures.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from mesh_common.events import key_value_bucket
from mesh_common.logging import get_logger
from notification_svc.metrics import ORDER_WAITS, ORDER_WAITS_EXPIRED

log = get_logger(__name__)

# Concurrent writers of one booking's number are rare (a forced event beside its late predecessor):
# a few compare-and-set rounds always settle them.
CAS_ROUNDS = 10


@dataclass(frozen=True)
class Place:
    """Whether an event may be handled now, and how often it was already held back for order."""

    wait: float | None  # hand the event back for this many seconds; None: handle it now
    held_back: int = 0


def position(event) -> tuple[str, int] | None:
    """(booking id, sequence) of a numbered booking event; None for anything else."""
    sequence = getattr(event, "sequence", 0)
    if not sequence or not event.HasField("appointment") or not event.appointment.booking_id:
        return None
    return event.appointment.booking_id, sequence


class BookingOrder:
    def __init__(self, kv: KeyValue, *, retry_seconds: float = 0.5, max_wait_seconds: float = 300.0, clock: Callable[[], float] = time.time):
        self._kv = kv
        self._retry = retry_seconds
        self._max_wait = max_wait_seconds
        self._clock = clock

    @classmethod
    async def open(cls, js: JetStreamContext, bucket: str, ttl_seconds: float, **options) -> BookingOrder:
        description = "per booking, the sequence of the last event whose emails are sent"
        return cls(await key_value_bucket(js, bucket, ttl_seconds, description), **options)

    @staticmethod
    def _last_key(booking_id: str) -> str:
        return f"last.{booking_id}"

    @staticmethod
    def _wait_key(booking_id: str, sequence: int) -> str:
        return f"wait.{booking_id}.{sequence}"

    async def last_handled(self, booking_id: str) -> int:
        try:
            return int((await self._kv.get(self._last_key(booking_id))).value)
        except KeyNotFoundError:
            return 0

    async def place(self, event, redelivered: bool) -> Place:
        """May `event` be handled now? (`redelivered`: its delivery count is above one, so it may
        have been held back before, and what that cost is read back.)"""
        where = position(event)
        if where is None:
            return Place(None)
        booking_id, sequence = where
        if sequence > 1 and sequence > await self.last_handled(booking_id) + 1:
            return await self._hold_back(booking_id, sequence)
        return Place(None, await self._held_back(booking_id, sequence) if redelivered else 0)

    async def _held_back(self, booking_id: str, sequence: int) -> int:
        try:
            return json.loads((await self._kv.get(self._wait_key(booking_id, sequence))).value)["count"]
        except KeyNotFoundError:
            return 0

    async def _hold_back(self, booking_id: str, sequence: int) -> Place:
        key = self._wait_key(booking_id, sequence)
        now = self._clock()
        try:
            marker = json.loads((await self._kv.get(key)).value)
        except KeyNotFoundError:
            marker = {"since": now, "count": 0}
        waited = now - marker["since"]
        if waited >= self._max_wait:
            ORDER_WAITS_EXPIRED.inc()
            log.warning("event handled out of order: its predecessor did not come in time",
                        booking_id=booking_id, sequence=sequence, waited_seconds=round(waited, 1))  # fmt: skip
            return Place(None, marker["count"])
        # Last writer wins: replicas holding the same event back at once only undercount by one.
        marker["count"] += 1
        await self._kv.put(key, json.dumps(marker).encode())
        ORDER_WAITS.inc()
        return Place(min(self._retry, self._max_wait - waited), marker["count"])

    async def handled(self, event) -> None:
        """Record that `event`'s emails are all sent (or that it was given up on): its successor may go."""
        where = position(event)
        if where is None:
            return
        booking_id, sequence = where
        key = self._last_key(booking_id)
        for _ in range(CAS_ROUNDS):
            try:
                entry = await self._kv.get(key)
                current, revision = int(entry.value), entry.revision
            except KeyNotFoundError:
                current, revision = 0, None
            if current >= sequence:
                return
            try:
                if revision is None:
                    await self._kv.create(key, str(sequence).encode())
                else:
                    await self._kv.update(key, str(sequence).encode(), last=revision)
                return
            except KeyWrongLastSequenceError:
                continue
        log.warning("could not record a booking's handled sequence; its successor may wait", booking_id=booking_id, sequence=sequence)
