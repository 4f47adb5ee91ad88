"""One transaction, its repositories, and the events it carries out of the aggregates it touched."""
from __future__ import annotations

import abc
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from appointment_svc.domain.holds import SlotHold
from appointment_svc.domain.model import Booking, Slot
from appointment_svc.service_layer.lifecycle import write_event
from appointment_svc.service_layer.messagebus import MessageBus
from appointment_svc.service_layer.ports import EmailLedger, Outbox
from appointment_svc.service_layer.repositories import (
    BookingRepository,
    BrochureRepository,
    ConsultantRepository,
    HoldRepository,
    SlotRepository,
)


@dataclass(frozen=True)
class BookingFacts:
    """Everything the checks of one booking read: its slot, the booking its request id already
    made (with that request's fingerprint), and the counts the customer's and mailbox's limits use."""

    slot: Slot | None
    earlier: tuple[Booking, str] | None
    upcoming_active: int  # the customer's upcoming PENDING/CONFIRMED bookings
    emails_sent: list[datetime]  # booking emails to the recipient since `since`
    emails_promised: int  # active bookings whose emails go to the recipient
    # The slot's hold row as of this read. Read without the slot's row lock it is a hint; under the
    # lock the booking reads it again (HoldRepository.take_for_booking) in a statement of its own,
    # because a statement that waited for the row lock still sees other tables as they were.
    hold: SlotHold | None = None


class UnitOfWork(abc.ABC):
    """`async with uow:` opens a transaction; commit() writes the recorded events into it and makes it
    durable, leaving the block rolls back otherwise. Once the block is left, the bus gets the
    committed events: a rolled-back change causes no reaction."""

    bookings: BookingRepository
    slots: SlotRepository
    consultants: ConsultantRepository
    holds: HoldRepository
    brochures: BrochureRepository
    emails: EmailLedger
    outbox: Outbox

    def __init__(self, bus: MessageBus | None = None):
        self._bus = bus
        self._committed: list[object] = []

    async def __aenter__(self) -> UnitOfWork:
        self._committed = []
        await self._begin()
        return self

    async def __aexit__(self, *exc_info) -> None:
        # The transaction is closed (and its connection returned) before anyone reacts.
        await self._end()
        committed, self._committed = self._committed, []
        if committed and self._bus is not None:
            await self._bus.handle(committed)

    async def commit(self) -> None:
        written = []
        for event in self.collect_new_events():
            await write_event(self, event)
            written.append(event)
        await self._commit()
        self._committed.extend(written)

    async def booking_facts(
        self, *, slot_id: UUID, user_id: str, request_id: str | None, recipient: str, now: datetime, since: datetime,
        lock_slot: bool = False,
    ) -> BookingFacts:  # fmt: skip
        """The reads a booking is checked against, taken together: a storage adapter answers in one
        round trip. `lock_slot`: as SlotRepository.get(lock=True); the counts are exact only under
        serialise_booking."""
        earlier = await self.bookings.for_request(user_id, request_id) if request_id else None
        return BookingFacts(
            slot=await self.slots.get(slot_id, lock=lock_slot),
            earlier=earlier,
            upcoming_active=await self.bookings.upcoming_active(user_id, now),
            emails_sent=await self.emails.sent_since(recipient, since),
            emails_promised=await self.bookings.active_to(recipient),
            hold=await self.holds.for_slot(slot_id),
        )

    async def serialise_booking(self, user_id: str, recipient: str) -> None:
        """Wait for, then hold until the transaction ends, the customer's lock, then the mailbox's
        (every transaction takes them in this order; an adapter may take both in one round trip)."""
        await self.bookings.serialise_customer(user_id)
        await self.emails.serialise(recipient)

    def collect_new_events(self) -> Iterator[object]:
        for aggregate in (*self.bookings.seen, *self.brochures.seen):
            while aggregate.events:
                yield aggregate.events.pop(0)
        while self.slots.events:
            yield self.slots.events.pop(0)
        while self.consultants.events:
            yield self.consultants.events.pop(0)
        while self.holds.events:
            yield self.holds.events.pop(0)

    @abc.abstractmethod
    async def _begin(self) -> None: ...

    @abc.abstractmethod
    async def _commit(self) -> None: ...

    @abc.abstractmethod
    async def _end(self) -> None:
        """Roll back what was not committed and let go of the transaction."""
