"""Fixtures the integration tests of the appointment service share: an engine on the test's own
database, a Valkey client, and the service's unit of work and staff use cases on them."""
from __future__ import annotations

import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import create_async_engine

from appointment_svc.adapters.cache import AvailabilityCache
from appointment_svc.adapters.slot_lock import RedisSlotLock
from appointment_svc.domain.limits import BookingLimits
from appointment_svc.service_layer.admin import AdminService
from appointment_svc.service_layer.booking import BookingService
from mesh_common.config import sqlalchemy_url
from tests.integration.booking_fixtures import units_of_work

# Slots the tests add may lie years ahead (their days must not collide): no horizon in the way.
FAR_HORIZON = BookingLimits(horizon_days=36_500)


@pytest.fixture
async def engine(database_url):
    engine = create_async_engine(sqlalchemy_url(database_url), pool_size=30, max_overflow=10)
    yield engine
    await engine.dispose()


@pytest.fixture
async def redis(redis_url):
    client = Redis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
    yield client
    await client.aclose()


@pytest.fixture
def uow(engine, redis):
    return units_of_work(engine, AvailabilityCache(redis), RedisSlotLock(redis))


@pytest.fixture
def admin(uow) -> AdminService:
    return AdminService(uow, limits=FAR_HORIZON)


@pytest.fixture
async def service(database_url, redis_url):
    """The booking use cases on a pool large enough for the racing tests (each racer a connection)."""
    engine = create_async_engine(sqlalchemy_url(database_url), pool_size=60, max_overflow=10)
    redis = Redis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
    yield BookingService(units_of_work(engine, AvailabilityCache(redis), RedisSlotLock(redis)), RedisSlotLock(redis))
    await redis.aclose()
    await engine.dispose()
