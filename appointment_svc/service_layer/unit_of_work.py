"""One transaction, its repositories, and the events it carries out of the aggregates it touched."""
from __future__ import annotations

import abc
from collections.abc import Iterator

from appointment_svc.service_layer.lifecycle import write_event
from appointment_svc.service_layer.messagebus import MessageBus
from appointment_svc.service_layer.ports import EmailLedger, Outbox
from appointment_svc.service_layer.repositories import (
    BookingRepository,
    BrochureRepository,
    ConsultantRepository,
    SlotRepository,
)


class UnitOfWork(abc.ABC):
    """`async with uow:` opens a transaction; commit() writes the recorded events into it and makes it
    durable, leaving the block rolls back otherwise. Once the block is left, the bus gets the
    committed events: a rolled-back change causes no reaction."""

    bookings: BookingRepository
    slots: SlotRepository
    consultants: ConsultantRepository
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

    def collect_new_events(self) -> Iterator[object]:
        for aggregate in (*self.bookings.seen, *self.brochures.seen):
            while aggregate.events:
                yield aggregate.events.pop(0)
        while self.slots.events:
            yield self.slots.events.pop(0)

    @abc.abstractmethod
    async def _begin(self) -> None: ...

    @abc.abstractmethod
    async def _commit(self) -> None: ...

    @abc.abstractmethod
    async def _end(self) -> None:
        """Roll back what was not committed and let go of the transaction."""
