"""The Redis circuit breaker against a real Valkey that hangs."""
from __future__ import annotations

import uuid

import pytest
from redis.asyncio import Redis

from appointment_svc.adapters.redis_breaker import CircuitOpen, RedisBreaker
from appointment_svc.adapters.slot_lock import RedisSlotLock
from appointment_svc.service_layer.ports import LockUnavailable
from tests.clock import ManualClock
from tests.faults import frozen


@pytest.fixture
async def redis(redis_url):
    client = Redis.from_url(redis_url, socket_connect_timeout=0.2, socket_timeout=0.2)
    yield client
    await client.aclose()


async def test_a_hung_redis_is_asked_three_times_then_skipped_until_the_cooldown_ends(backing, redis):
    clock = ManualClock()
    breaker = RedisBreaker(redis, threshold=3, cooldown=5.0, clock=clock)
    lock = RedisSlotLock(breaker)
    with frozen(backing["valkey"]):
        for _ in range(3):
            with pytest.raises(LockUnavailable, match="TimeoutError"):
                await lock.acquire(uuid.uuid4())
        assert breaker.is_open
        with pytest.raises(CircuitOpen):
            await breaker.get("anything")
        with pytest.raises(LockUnavailable, match="CircuitOpen"):
            await lock.acquire(uuid.uuid4())
    clock.now += 5.0  # the cooldown is over: the next call is tried, and Redis answers again
    slot = uuid.uuid4()
    token = await lock.acquire(slot)
    assert token is not None and not breaker.is_open
    await lock.release(slot, token)  # the release script also goes through the breaker
    assert await breaker.get(RedisSlotLock.key(slot)) is None


async def test_answers_that_are_errors_do_not_count_as_an_outage(redis):
    breaker = RedisBreaker(redis, threshold=1, cooldown=60)
    key = f"breaker-test:{uuid.uuid4()}"
    await breaker.set(key, "text")
    for _ in range(3):
        with pytest.raises(Exception, match="WRONGTYPE"):
            await breaker.lpush(key, "x")
    assert not breaker.is_open
    await breaker.delete(key)
