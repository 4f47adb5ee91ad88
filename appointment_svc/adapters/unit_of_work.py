"""The unit of work on PostgreSQL: one connection, one transaction, every repository on it."""
from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncTransaction

from appointment_svc.adapters.bookings import SqlBookingRepository, SqlEmailLedger
from appointment_svc.adapters.brochures import SqlBrochureRepository
from appointment_svc.adapters.consultants import SqlConsultantRepository
from appointment_svc.adapters.event_codec import encode_event
from appointment_svc.adapters.outbox import add_event
from appointment_svc.adapters.slots import SqlSlotRepository
from appointment_svc.service_layer.messagebus import MessageBus
from appointment_svc.service_layer.unit_of_work import UnitOfWork


class SqlOutbox:
    def __init__(self, conn: AsyncConnection):
        self.conn = conn

    async def add(self, event) -> None:
        subject, message = encode_event(event)
        await add_event(self.conn, subject, message)


class SqlUnitOfWork(UnitOfWork):
    def __init__(self, engine: AsyncEngine, bus: MessageBus | None = None):
        super().__init__(bus)
        self._engine = engine
        self._connection: AsyncConnection | None = None
        self._transaction: AsyncTransaction | None = None

    @property
    def conn(self) -> AsyncConnection:
        return self._connection

    async def _begin(self) -> None:
        self._connection = await self._engine.connect()
        try:
            self._transaction = await self._connection.begin()
        except BaseException:
            await self._connection.close()
            raise
        self.bookings = SqlBookingRepository(self._connection)
        self.slots = SqlSlotRepository(self._connection)
        self.consultants = SqlConsultantRepository(self._connection)
        self.brochures = SqlBrochureRepository(self._connection)
        self.emails = SqlEmailLedger(self._connection)
        self.outbox = SqlOutbox(self._connection)

    async def _commit(self) -> None:
        await self._transaction.commit()

    async def _end(self) -> None:
        try:
            if self._transaction.is_active:
                await self._transaction.rollback()
        finally:
            await self._connection.close()
