"""notification_svc.ordering's rules on a fake KV bucket: when a booking's event may go."""
from __future__ import annotations

import uuid

from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError

from booking.v1 import events_pb2
from booking.v1 import resources_pb2 as res
from notification_svc.ordering import BookingOrder, position


class Entry:
    def __init__(self, value: bytes, revision: int):
        self.value, self.revision = value, revision


class FakeKv:
    """The KeyValue calls BookingOrder makes, with revisions as JetStream keeps them."""

    def __init__(self):
        self.entries: dict[str, Entry] = {}
        self.revision = 0

    async def get(self, key):
        if key not in self.entries:
            raise KeyNotFoundError
        return self.entries[key]

    async def put(self, key, value):
        self.revision += 1
        self.entries[key] = Entry(value, self.revision)

    async def create(self, key, value):
        if key in self.entries:
            raise KeyWrongLastSequenceError
        await self.put(key, value)

    async def update(self, key, value, last):
        if self.entries[key].revision != last:
            raise KeyWrongLastSequenceError
        await self.put(key, value)


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


BOOKING = str(uuid.uuid4())


def event(sequence: int, booking: str = BOOKING) -> events_pb2.BookingCancelled:
    return events_pb2.BookingCancelled(event_id=str(uuid.uuid4()), appointment=res.Appointment(booking_id=booking), sequence=sequence)


def an_order(clock=None) -> BookingOrder:
    return BookingOrder(FakeKv(), retry_seconds=0.5, max_wait_seconds=10, clock=clock or Clock())


def test_unnumbered_events_and_brochures_are_never_ordered():
    assert position(event(0)) is None
    assert position(events_pb2.BrochureRequested(event_id=str(uuid.uuid4()))) is None
    assert position(event(3)) == (BOOKING, 3)


async def test_a_bookings_first_event_goes_at_once_and_its_successor_waits_for_it():
    order = an_order()
    assert (await order.place(event(1), redelivered=False)).wait is None
    held = await order.place(event(2), redelivered=False)
    assert held.wait == 0.5 and held.held_back == 1
    await order.handled(event(1))
    assert (await order.place(event(2), redelivered=True)) .wait is None


async def test_older_or_equal_numbers_are_redeliveries_and_go_at_once():
    order = an_order()
    for n in (1, 2, 3):
        await order.handled(event(n))
    assert (await order.place(event(2), redelivered=True)).wait is None
    assert (await order.place(event(3), redelivered=True)).wait is None
    assert await order.last_handled(BOOKING) == 3


async def test_the_wait_is_bounded_from_the_first_hold_back_and_counts_the_hand_backs():
    clock = Clock()
    order = an_order(clock)
    for _ in range(3):
        assert (await order.place(event(3), redelivered=True)).wait is not None
        clock.now += 3
    clock.now += 0.75
    last = await order.place(event(3), redelivered=True)
    assert last.wait == 0.25  # never past the bound
    clock.now += 0.25
    gone = await order.place(event(3), redelivered=True)
    assert gone.wait is None and gone.held_back == 4  # the consumer's retry budget ignores these four


async def test_the_handled_number_only_ever_rises():
    order = an_order()
    await order.handled(event(3))
    await order.handled(event(1))
    assert await order.last_handled(BOOKING) == 3
    assert await order.last_handled(str(uuid.uuid4())) == 0
