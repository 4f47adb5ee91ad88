"""Redis availability cache. Redis is an optimisation: when it is down we read PostgreSQL."""
from __future__ import annotations

import math
import struct
import sys
from array import array
from datetime import date

from redis.asyncio import Redis
from redis.exceptions import RedisError

from appointment_svc.adapters.metrics import CACHE_ERROR, CACHE_HIT, CACHE_MISS
from appointment_svc.domain.model import AppointmentType, AvailabilityQuery, Category
from appointment_svc.service_layer.ports import EncodedGrid
from mesh_common.logging import get_logger

log = get_logger(__name__)


def cache_key(query: AvailabilityQuery) -> str:
    # Every filter is part of the key: the spec's key omits category, which would serve
    # kitchen-only consultants to a bedroom search.
    category = query.category.value if query.category else "ANY"
    key = f"slot:availability:{query.type.value}:{query.day.isoformat()}:{category}"
    # Coverage depends on the outward code alone (`SW1A`), so one entry serves every postcode in it.
    return key if query.outward_code is None else f"{key}:{query.outward_code}"


def area_index_key(day: date) -> str:
    """The set of the day's postcode-filtered keys: there is one per outward code asked about, too
    many to list, so invalidation reads them from here."""
    return f"slot:availability:areas:{day.isoformat()}"


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


# A postcode-filtered entry and its day's index in one atomic step: the index is refreshed with every
# entry and expires no sooner than it, so invalidate_day always finds every live entry of the day.
_PUT_INDEXED = """
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('SADD', KEYS[2], KEYS[1])
local left = redis.call('PTTL', KEYS[2])
if left < tonumber(ARGV[2]) then
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
end
return 1
"""


class AvailabilityCache:
    def __init__(self, redis: Redis, ttl_seconds: int = 30):
        self._redis = redis
        self._ttl = ttl_seconds
        self._put_indexed = redis.register_script(_PUT_INDEXED)

    async def get(self, query: AvailabilityQuery) -> EncodedGrid | None:
        try:
            raw = await self._redis.get(cache_key(query))
        except (RedisError, OSError) as exc:
            CACHE_ERROR.inc()
            log.warning("availability cache read failed; using the database", error=type(exc).__name__)
            return None
        grid = None if raw is None else _unpack(raw)
        (CACHE_MISS if grid is None else CACHE_HIT).inc()
        return grid

    async def put(self, query: AvailabilityQuery, grid: EncodedGrid, ttl_seconds: float | None = None) -> None:
        # `ttl_seconds`: a grid that hides a held slot lives no longer than the first such hold.
        if ttl_seconds is None or ttl_seconds >= self._ttl:
            milliseconds = self._ttl * 1000
        else:
            milliseconds = max(1, math.ceil(ttl_seconds * 1000))
        try:
            if query.outward_code is None:
                await self._redis.set(cache_key(query), _pack(grid), px=milliseconds)
                return
            # The day's index of postcode-filtered keys never expires before one of its keys.
            await self._put_indexed(keys=[cache_key(query), area_index_key(query.day)], args=[_pack(grid), milliseconds])
        except (RedisError, OSError) as exc:
            log.warning("availability cache write failed", error=type(exc).__name__)

    async def invalidate_day(self, day: date) -> None:
        keys = [
            cache_key(AvailabilityQuery(type=t, day=day, category=c))
            for t in AppointmentType
            for c in (None, *Category)
        ]
        index = area_index_key(day)
        try:
            keys += [key.decode() if isinstance(key, bytes) else key for key in await self._redis.smembers(index)]
            await self._redis.delete(*keys, index)
        except (RedisError, OSError) as exc:
            # A stale entry lives at most one TTL and booking it gives 409, never a double booking.
            log.warning("availability cache invalidation failed", error=type(exc).__name__)
