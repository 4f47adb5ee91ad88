"""A circuit breaker in front of Redis: a hung Redis costs a few timeouts, not one per request.

Redis only makes things faster here (cache, fail-fast lock, rate-limit counters; PostgreSQL is the
guard for each), so when it stops answering the cheapest thing is to stop asking: after
`threshold` consecutive connection failures or timeouts every call fails at once for `cooldown`
seconds, and each adapter takes its Redis-less path (cache miss, database-only booking, database
rate limit). After the cooldown one call is let through; its success closes the circuit.
"""
from __future__ import annotations

import inspect
import time
from typing import Callable

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from mesh_common.logging import get_logger

log = get_logger(__name__)

# An answer from Redis, even an error answer (NOSCRIPT, WRONGTYPE), proves it is alive.
_OUTAGES = (RedisConnectionError, RedisTimeoutError, OSError)


class CircuitOpen(RedisConnectionError):
    """Redis failed repeatedly just now; not asked (a RedisError, so adapters treat it as down)."""


class RedisBreaker:
    def __init__(self, redis: Redis, *, threshold: int = 3, cooldown: float = 5.0, clock: Callable[[], float] = time.monotonic):
        self._redis = redis
        self._threshold = threshold
        self._cooldown = cooldown
        self._clock = clock
        self._failures = 0
        self._open_until = 0.0

    @property
    def is_open(self) -> bool:
        return self._failures >= self._threshold and self._clock() < self._open_until

    def register_script(self, script: str) -> AsyncScript:
        # Bound to the breaker, so the script's EVALSHA goes through it too.
        return AsyncScript(self, script)

    def __getattr__(self, name: str):
        attribute = getattr(self._redis, name)
        if not callable(attribute):
            return attribute

        def guarded(*args, **kwargs):
            # Commands are plain methods returning an awaitable; nothing is sent until it is awaited.
            result = attribute(*args, **kwargs)
            return self._call(result) if inspect.isawaitable(result) else result

        return guarded

    async def _call(self, command):
        if self.is_open:
            if inspect.iscoroutine(command):
                command.close()
            raise CircuitOpen("Redis failed repeatedly; not asking it for a few seconds")
        try:
            result = await command
        except _OUTAGES as exc:
            self._failed(exc)
            raise
        self._succeeded()
        return result

    def _failed(self, exc: BaseException) -> None:
        self._failures += 1
        if self._failures >= self._threshold:
            self._open_until = self._clock() + self._cooldown
            if self._failures == self._threshold:
                log.warning("redis circuit open: skipping redis", error=type(exc).__name__, cooldown_seconds=self._cooldown)

    def _succeeded(self) -> None:
        if self._failures >= self._threshold:
            log.info("redis circuit closed: redis answers again")
        self._failures = 0
