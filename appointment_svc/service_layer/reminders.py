"""Use case: queue the reminder emails that are due (issue 15). A job of adapters/periodic.JobRunner.

Exactly once, on any number of replicas, across crashes: one transaction claims due bookings
(`FOR UPDATE SKIP LOCKED`), clears their due time, and writes each reminder's history row and
outbox event; the outbox relay publishes it and the notification service's sent ledger sends its
email once per event id. A replica killed mid-pass rolls back and leaves its claims to the next
pass; two replicas skip each other's rows. The due time itself is the booking's
(domain/reminders.py), changed by a move in the same transaction as the move, and a cancelled
booking is never claimed: so no reminder can go out for a time the booking no longer has.

Why not JetStream's scheduled messages (`Nats-Schedule`, NATS 2.12+): the due time changes with
the booking (a move, a cancellation) in a PostgreSQL transaction the bus is not part of, so a
schedule on the bus would be a second copy to keep in step through the outbox (replace it on a
move, purge it on a cancellation) and could still fire for a stale time between the commit and the
relay; the history row "reminder sent" must be written when it fires, which a message firing on
the bus cannot do in the database; and the stream would need schedules allowed and a subject per
booking. Here PostgreSQL stays the one source of truth, and "exactly one" is a SQL assertion.
"""
from __future__ import annotations

from datetime import datetime
from typing import Callable

from appointment_svc.domain.model import Booking
from appointment_svc.service_layer.unit_of_work import UnitOfWork
from mesh_common.clock import utc_now
from mesh_common.logging import get_logger

log = get_logger(__name__)

# Who the history shows as having sent a reminder.
SCHEDULER = "reminder-scheduler"
DEFAULT_BATCH = 100


class ReminderService:
    def __init__(
        self, uow_factory: Callable[[], UnitOfWork], clock: Callable[[], datetime] = utc_now, *, batch_size: int = DEFAULT_BATCH
    ):
        self._uow = uow_factory
        self._clock = clock
        self.batch_size = batch_size

    async def queue_due(self) -> int:
        """One pass: queue up to batch_size due reminders in one transaction; how many."""
        async with self._uow() as uow:
            now = self._clock()
            claimed: list[Booking] = await uow.bookings.claim_due_reminders(now, self.batch_size)
            sent = [booking for booking in claimed if booking.remind(SCHEDULER, now)]
            await uow.bookings.save_reminded(claimed, sent, now)
            await uow.commit()
        sent_ids = {booking.id for booking in sent}
        for booking in claimed:
            what = "reminder queued" if booking.id in sent_ids else "reminder dropped: the appointment has started"
            log.info(what, booking_id=str(booking.id), reference=booking.reference_code)
        return len(claimed)
