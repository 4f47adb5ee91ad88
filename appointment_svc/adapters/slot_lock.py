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
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


class RedisSlotLock:
    def __init__(self, redis: Redis, ttl_seconds: int = 30):
        self._redis = redis
        self._ttl = ttl_seconds
        self._release = redis.register_script(_RELEASE)

    @staticmethod
    def key(slot_id: UUID) -> str:
        return f"slot:lock:{slot_id}"

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

    async def release(self, slot_id: UUID, token: str | bytes) -> None:
        # Shielded: a caller cancelled mid-release (client gone, deadline hit) must not strand the
        # lock; the release finishes on its own.
        await asyncio.shield(self._release_with_retry(slot_id, token))

    async def _release_with_retry(self, slot_id: UUID, token: str | bytes) -> None:
        for attempt in range(RELEASE_ATTEMPTS):
            try:
                await self._release(keys=[self.key(slot_id)], args=[token])
                return
            except (RedisError, OSError) as exc:
                if attempt + 1 == RELEASE_ATTEMPTS:
                    log.warning("slot lock release failed; it expires by itself", slot_id=str(slot_id), error=type(exc).__name__)
                    return
                await asyncio.sleep(0.05)
