"""Sliding-window rate limits in Redis, decided atomically by one Lua script per request."""
from __future__ import annotations

import hashlib
import math
import uuid
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from appointment_svc.service_layer.ports import RateLimiterUnavailable

# Count the hits of the last window (server clock, so every app process agrees) and add this one
# only if it is under the limit: concurrent callers cannot overshoot, rejected calls cost nothing.
_HIT = """
local key, limit, window_ms, member = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window_ms)
if redis.call('ZCARD', key) >= limit then
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  return {0, tonumber(oldest[2]) + window_ms - now}
end
redis.call('ZADD', key, now, member)
redis.call('PEXPIRE', key, window_ms)
return {1, 0}
"""


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    retry_after_seconds: int
    token: str


class SlidingWindowRateLimiter:
    def __init__(self, redis: Redis, *, namespace: str, limit: int, window_seconds: int):
        self._redis = redis
        self._namespace = namespace
        self.limit = limit
        self.window_seconds = window_seconds
        self._hit = redis.register_script(_HIT)

    def _key(self, subject: str) -> str:
        # Hashed: Redis keys must not carry personal data such as email addresses.
        return f"ratelimit:{self._namespace}:{hashlib.sha256(subject.encode()).hexdigest()}"

    async def hit(self, subject: str) -> RateDecision:
        token = uuid.uuid4().hex
        try:
            allowed, retry_ms = await self._hit(
                keys=[self._key(subject)], args=[self.limit, self.window_seconds * 1000, token]
            )
        except (RedisError, OSError) as exc:
            raise RateLimiterUnavailable(type(exc).__name__) from exc
        return RateDecision(bool(allowed), max(1, math.ceil(int(retry_ms) / 1000)) if not allowed else 0, token)

    async def refund(self, subject: str, token: str) -> None:
        """Give back a hit whose request then failed (best effort)."""
        try:
            await self._redis.zrem(self._key(subject), token)
        except (RedisError, OSError):
            pass
