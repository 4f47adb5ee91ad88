"""Redis availability cache. Redis is an optimisation: when it is down we read PostgreSQL."""
from __future__ import annotations

import math
import struct
import sys
from array import array
from datetime import date

from redis.asyncio import Redis
from redis.exceptions import RedisError

from appointment_svc.domain.model import AppointmentType, AvailabilityQuery, Category
from appointment_svc.service_layer.ports import EncodedGrid
from mesh_common.logging import get_logger

log = get_logger(__name__)


def cache_key(query: AvailabilityQuery) -> str:
    # Every filter is part of the key: the spec's key omits category, which would serve
    # kitchen-only consultants to a bedroom search.
    category = query.category.value if query.category else "ANY"
    return f"slot:availability:{query.type.value}:{query.day.isoformat()}:{category}"


# The stored form: a version tag, the slot count, every start (int64 µs since the epoch), every
# offset (uint32), then the encoded slots. A read turns it back with a few C-level copies and
# decodes no slot. Anything without the tag (an entry of an older release) reads as a miss.
_TAG = b"grid1"
_COUNT = struct.Struct("<I")
_BIG_ENDIAN = sys.byteorder == "big"


def _little_endian(numbers: array) -> array:
    if _BIG_ENDIAN:
        numbers.byteswap()
    return numbers


def _pack(grid: EncodedGrid) -> bytes:
    starts, offsets = _little_endian(array("q", grid.starts)), _little_endian(array("I", grid.offsets))
    return b"".join((_TAG, _COUNT.pack(len(starts)), starts.tobytes(), offsets.tobytes(), grid.body))


def _unpack(raw: bytes) -> EncodedGrid | None:
    if not raw.startswith(_TAG):
        return None
    (count,) = _COUNT.unpack_from(raw, len(_TAG))
    starts, offsets = array("q"), array("I")
    position = len(_TAG) + _COUNT.size
    starts.frombytes(raw[position : position + count * starts.itemsize])
    position += count * starts.itemsize
    offsets.frombytes(raw[position : position + count * offsets.itemsize])
    position += count * offsets.itemsize
    return EncodedGrid(raw[position:], _little_endian(starts), _little_endian(offsets))


class AvailabilityCache:
    def __init__(self, redis: Redis, ttl_seconds: int = 30):
        self._redis = redis
        self._ttl = ttl_seconds

    async def get(self, query: AvailabilityQuery) -> EncodedGrid | None:
        try:
            raw = await self._redis.get(cache_key(query))
        except (RedisError, OSError) as exc:
            log.warning("availability cache read failed; using the database", error=type(exc).__name__)
            return None
        return None if raw is None else _unpack(raw)

    async def put(self, query: AvailabilityQuery, grid: EncodedGrid, ttl_seconds: float | None = None) -> None:
        if ttl_seconds is None or ttl_seconds >= self._ttl:
            lifetime = {"ex": self._ttl}
        else:
            lifetime = {"px": max(1, math.ceil(ttl_seconds * 1000))}
        try:
            await self._redis.set(cache_key(query), _pack(grid), **lifetime)
        except (RedisError, OSError) as exc:
            log.warning("availability cache write failed", error=type(exc).__name__)

    async def invalidate_day(self, day: date) -> None:
        keys = [
            cache_key(AvailabilityQuery(type=t, day=day, category=c))
            for t in AppointmentType
            for c in (None, *Category)
        ]
        try:
            await self._redis.delete(*keys)
        except (RedisError, OSError) as exc:
            # A stale entry lives at most one TTL and booking it gives 409, never a double booking.
            log.warning("availability cache invalidation failed", error=type(exc).__name__)
