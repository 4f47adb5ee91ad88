"""Wires configuration, adapters and use cases into a runnable appointment service."""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from appointment_svc.adapters import metrics
from appointment_svc.adapters.cache import AvailabilityCache
from appointment_svc.adapters.outbox import OutboxRelay
from appointment_svc.adapters.periodic import Job, JobRunner
from appointment_svc.adapters.personal_data import ErasureFollowUp, SqlPersonalDataStore
from appointment_svc.adapters.pool_liveness import replace_closed_connections
from appointment_svc.adapters.rate_limit import SlidingWindowRateLimiter
from appointment_svc.adapters.redis_breaker import RedisBreaker
from appointment_svc.adapters.slot_lock import RedisSlotLock
from appointment_svc.adapters.slots import SqlSlotReader
from appointment_svc.adapters.unit_of_work import SqlUnitOfWork
from appointment_svc.domain import events
from appointment_svc.domain.limits import BookingLimits
from appointment_svc.domain.notice import ChangeNotice
from appointment_svc.domain.reminders import ReminderLead
from appointment_svc.entrypoints.auth import Authenticator
from appointment_svc.entrypoints.servicers import slot_in_list_response
from appointment_svc.service_layer import handlers, ports
from appointment_svc.service_layer.admin import AdminService
from appointment_svc.service_layer.availability import AvailabilityService
from appointment_svc.service_layer.booking import BookingService
from appointment_svc.service_layer.brochures import BrochureService
from appointment_svc.service_layer.holds import HoldService
from appointment_svc.service_layer.messagebus import Handler, MessageBus
from appointment_svc.service_layer.personal_data import RETENTION_BATCH, PersonalDataService
from appointment_svc.service_layer.reminders import ReminderService
from mesh_common.auth import TokenVerifier
from mesh_common.config import AppointmentSettings, sqlalchemy_url
from mesh_common.events import EventTopology


@dataclass
class Container:
    settings: AppointmentSettings
    engine: AsyncEngine
    redis: Redis
    availability: AvailabilityService
    bookings: BookingService
    holds: HoldService
    brochures: BrochureService
    relay: OutboxRelay
    admin: AdminService
    auth: Authenticator
    personal_data: PersonalDataService
    # The customer's notice window: the booking service enforces it, the servicers show it (changeable_until).
    notice: ChangeNotice
    # Scheduled jobs (reminders, retention, the erasure follow-up), started and stopped with the relay.
    jobs: JobRunner
    follow_up: ErasureFollowUp

    async def ping_database(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def start_background(self) -> None:
        await self.relay.start()
        await self.jobs.start()

    async def close(self) -> None:
        await self.jobs.stop()
        await self.follow_up.close()
        await self.relay.stop()
        await self.redis.aclose()
        await self.engine.dispose()


def event_handlers(cache: ports.AvailabilityCache, lock: ports.SlotLock) -> dict[type, list[Handler]]:
    """Every reaction to a committed event. A new side effect is one more entry here (the outbox and
    history rows are not reactions: the unit of work writes them inside the transaction)."""
    booked_day, slot_days, both_days = (
        partial(handlers.forget_availability_of_booked_day, cache),
        partial(handlers.forget_availability_of_slot_days, cache),
        partial(handlers.forget_availability_of_both_days, cache),
    )
    freed = partial(handlers.forget_that_the_slot_was_just_booked, lock)
    counted = metrics.count_booking_event
    return {
        events.BookingCreated: [booked_day, counted],
        events.BookingCancelled: [booked_day, freed, counted],
        events.BookingRescheduled: [both_days, freed, counted],
        events.BookingConfirmed: [counted],
        events.BookingCompleted: [counted],
        events.BookingMarkedNoShow: [counted],
        events.ReminderDue: [counted],
        events.SlotsAdded: [slot_days],
        events.SlotBlocked: [slot_days],
        events.SlotUnblocked: [slot_days],
        events.ConsultantAreasChanged: [slot_days],
        events.SlotHeld: [slot_days],
        events.SlotHoldReleased: [slot_days],
    }


def build(settings: AppointmentSettings) -> Container:
    engine = create_async_engine(
        sqlalchemy_url(settings.database_url),
        pool_size=10,
        max_overflow=20,
        # Both below the RPC deadline, so a dead server or an exhausted pool is an answer in time.
        pool_timeout=2,
        connect_args={"connect_timeout": 2},
        # Statement parameters are customers' personal data: never part of an exception's text.
        hide_parameters=True,
    )
    replace_closed_connections(engine)  # instead of pool_pre_ping's round trip per checkout
    # Short timeouts: Redis is an optimisation, a slow Redis must not slow bookings down.
    redis = Redis.from_url(settings.redis_url, socket_connect_timeout=0.5, socket_timeout=0.5)
    guarded = RedisBreaker(redis)
    cache = AvailabilityCache(guarded, ttl_seconds=settings.availability_cache_ttl_seconds)
    limits = BookingLimits(
        max_active_bookings=settings.max_active_bookings,
        max_emails_per_day=settings.max_booking_emails_per_day,
        horizon_days=settings.booking_horizon_days,
    )
    lock = RedisSlotLock(guarded, ttl_seconds=settings.slot_lock_ttl_seconds)
    bus = MessageBus(event_handlers(cache, lock))

    def uow() -> SqlUnitOfWork:
        return SqlUnitOfWork(engine, bus)

    reminders = ReminderService(uow)
    topology = EventTopology.from_settings(settings)
    personal_data = PersonalDataService(
        uow,
        SqlPersonalDataStore(engine),
        retention_days=settings.retention_days,
        brochure_retention_days=settings.brochure_retention_days,
    )
    follow_up = ErasureFollowUp(
        engine,
        settings.nats_url,
        topology,
        durable=settings.notification_durable,
        ledger_bucket=settings.notification_sent_bucket,
    )
    jobs = JobRunner(
        [
            Job("reminders", reminders.queue_due, settings.reminder_poll_seconds, batch_size=reminders.batch_size),
            Job("retention", personal_data.apply_retention, settings.retention_interval_seconds, batch_size=RETENTION_BATCH),
            Job("erasure-follow-up", follow_up.run_once, settings.erasure_followup_interval_seconds, batch_size=follow_up.batch_size),
        ]
    )
    notice = ChangeNotice(settings.change_notice_hours)
    verifier = TokenVerifier.from_file(settings.jwt_jwks_path, issuer=settings.jwt_issuer, audience=settings.jwt_audience)
    return Container(
        settings=settings,
        engine=engine,
        redis=redis,
        availability=AvailabilityService(SqlSlotReader(engine), cache, slot_in_list_response, limits=limits),
        bookings=BookingService(
            uow, lock, limits=limits, notice=notice,
            reminder=ReminderLead(settings.reminder_lead_minutes),
        ),  # fmt: skip
        holds=HoldService(uow, seconds=settings.slot_hold_seconds),
        admin=AdminService(uow, limits=limits),
        brochures=BrochureService(
            uow, SlidingWindowRateLimiter(guarded, namespace="brochure", limit=3, window_seconds=3600)
        ),
        relay=OutboxRelay(engine, settings.nats_url, topology, poll_seconds=settings.outbox_poll_seconds),
        auth=Authenticator(verifier),
        personal_data=personal_data,
        notice=notice,
        jobs=jobs,
        follow_up=follow_up,
    )
