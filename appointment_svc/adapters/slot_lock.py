"""The Redis slot lock: makes racers for one slot fail fast. Safety comes from PostgreSQL, not from here."""
from __future__ import annotations

import asyncio
import uuid
from uuid import UUID

from redis.asyncio import Redis
from redis.exceptions import RedisError

from appointment_svc.adapters.metrics import LOCK_CONTENDED, LOCK_TAKEN, LOCK_UNAVAILABLE
from appointment_svc.service_layer.ports import LockUnavailable
from mesh_common.logging import get_logger

log = get_logger(__name__)
RELEASE_ATTEMPTS = 3

# Delete only if we still own it: a lease that expired and was re-taken must not be released by us.
# A holder whose booking committed also leaves, for a few seconds, the mark racers read instead of
# asking PostgreSQL again (one round trip for both).
_RELEASE = """
if ARGV[2] == '1' then
  redis.call('set', KEYS[2], '1', 'EX', ARGV[3])
end
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""
# How long a committed booking's mark lasts: long enough for a burst of racers to read it, short
# enough that a mark a cancellation failed to remove (Redis down then) refuses a freed slot briefly.
BOOKED_MARK_SECONDS = 5


class RedisSlotLock:
    def __init__(self, redis: Redis, ttl_seconds: int = 30):
        self._redis = redis
        self._ttl = ttl_seconds
        self._release = redis.register_script(_RELEASE)

    @staticmethod
    def key(slot_id: UUID) -> str:
        return f"slot:lock:{slot_id}"

    @staticmethod
    def booked_key(slot_id: UUID) -> str:
        return f"slot:booked:{slot_id}"

    async def acquire(self, slot_id: UUID) -> str | None:
        token = uuid.uuid4().hex
        try:
            taken = await self._redis.set(self.key(slot_id), token, nx=True, ex=self._ttl)
        except (RedisError, OSError) as exc:
            LOCK_UNAVAILABLE.inc()
            raise LockUnavailable(type(exc).__name__) from exc
        (LOCK_TAKEN if taken else LOCK_CONTENDED).inc()
        return token if taken else None

    async def holder(self, slot_id: UUID) -> bytes | None:
        """The token the slot's lock holds now (None when free): what a later release must match."""
        try:
            return await self._redis.get(self.key(slot_id))
        except (RedisError, OSError) as exc:
            raise LockUnavailable(type(exc).__name__) from exc

    async def release(self, slot_id: UUID, token: str | bytes, *, booked: bool = False) -> None:
        # Shielded: a caller cancelled mid-release (client gone, deadline hit) must not strand the
        # lock; the release finishes on its own.
        await asyncio.shield(self._release_with_retry(slot_id, token, booked))

    async def just_booked(self, slot_id: UUID) -> bool:
        try:
            return bool(await self._redis.exists(self.booked_key(slot_id)))
        except (RedisError, OSError):
            return False  # unknown: the caller asks PostgreSQL

    async def forget_booked(self, slot_id: UUID) -> None:
        try:
            await self._redis.delete(self.booked_key(slot_id))
        except (RedisError, OSError) as exc:
            log.warning("booked mark not removed; it expires by itself", slot_id=str(slot_id), error=type(exc).__name__)

    async def _release_with_retry(self, slot_id: UUID, token: str | bytes, booked: bool) -> None:
        keys = [self.key(slot_id), self.booked_key(slot_id)]
        args = [token, "1" if booked else "0", BOOKED_MARK_SECONDS]
        for attempt in range(RELEASE_ATTEMPTS):
            try:
                await self._release(keys=keys, args=args)
                return
            except (RedisError, OSError) as exc:
                if attempt + 1 == RELEASE_ATTEMPTS:
                    log.warning("slot lock release failed; it expires by itself", slot_id=str(slot_id), error=type(exc).__name__)
                    return
                await asyncio.sleep(0.05)
