"""The unit of work on PostgreSQL: one connection, one transaction, every repository on it."""
from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from appointment_svc.adapters.bookings import SqlBookingRepository, SqlEmailLedger, lock_customer_then_mailbox, read_booking_facts
from appointment_svc.adapters.brochures import SqlBrochureRepository
from appointment_svc.adapters.consultants import SqlConsultantRepository
from appointment_svc.adapters.event_codec import encode_event
from appointment_svc.adapters.holds import SqlHoldRepository
from appointment_svc.adapters.outbox import defer_event
from appointment_svc.adapters.slots import SqlSlotRepository
from appointment_svc.adapters.statement_batch import BatchingConnection
from appointment_svc.service_layer.messagebus import MessageBus
from appointment_svc.service_layer.unit_of_work import BookingFacts, UnitOfWork


class SqlOutbox:
    def __init__(self, conn: BatchingConnection):
        self.conn = conn

    async def add(self, event) -> None:
        subject, message = encode_event(event)
        await defer_event(self.conn, subject, message)


class SqlUnitOfWork(UnitOfWork):
    def __init__(self, engine: AsyncEngine, bus: MessageBus | None = None):
        super().__init__(bus)
        self._engine = engine
        self._connection: AsyncConnection | None = None

    @property
    def conn(self) -> AsyncConnection:
        return self._connection

    async def _begin(self) -> None:
        # The transaction begins with the first statement (SQLAlchemy's autobegin), so a unit of work
        # whose first statement needs none can run it on its own (BatchingConnection.exec_alone).
        self._connection = await self._engine.connect()
        # Every repository works through one batch: writes no one reads before the commit go together.
        self._batch = BatchingConnection(self._connection)
        self.bookings = SqlBookingRepository(self._batch)
        self.slots = SqlSlotRepository(self._batch)
        self.consultants = SqlConsultantRepository(self._batch)
        self.holds = SqlHoldRepository(self._batch)
        self.brochures = SqlBrochureRepository(self._batch)
        self.emails = SqlEmailLedger(self._batch)
        self.outbox = SqlOutbox(self._batch)

    async def booking_facts(
        self, *, slot_id, user_id, request_id, recipient, now, since, lock_slot=False
    ) -> BookingFacts:  # fmt: skip
        return await read_booking_facts(
            self.bookings, slot_id=slot_id, user_id=user_id, request_id=request_id, recipient=recipient,
            now=now, since=since, lock_slot=lock_slot,
        )  # fmt: skip

    async def serialise_booking(self, user_id: str, recipient: str) -> None:
        await lock_customer_then_mailbox(self._batch, user_id, recipient)

    async def _commit(self) -> None:
        await self._batch.flush()
        await self._connection.commit()

    async def _end(self) -> None:
        try:
            if self._connection.in_transaction():
                await self._connection.rollback()
        finally:
            await self._connection.close()
