"""Redis availability cache. Redis is an optimisation: when it is down we read PostgreSQL."""
from __future__ import annotations

import json
from datetime import date, datetime
from uuid import UUID

from redis.asyncio import Redis
from redis.exceptions import RedisError

from appointment_svc.domain.model import AppointmentType, AvailabilityQuery, Category, Consultant, Slot
from mesh_common.logging import get_logger

log = get_logger(__name__)


def cache_key(query: AvailabilityQuery) -> str:
    # Every filter is part of the key: the spec's key omits category, which would serve
    # kitchen-only consultants to a bedroom search.
    category = query.category.value if query.category else "ANY"
    return f"slot:availability:{query.type.value}:{query.day.isoformat()}:{category}"


def _encode(slots: list[Slot]) -> str:
    return json.dumps(
        [
            {
                "id": str(s.id),
                "type": s.type.value,
                "startsAt": s.starts_at.isoformat(),
                "endsAt": s.ends_at.isoformat(),
                "consultant": {
                    "id": str(s.consultant.id),
                    "name": s.consultant.name,
                    "avatarUrl": s.consultant.avatar_url,
                    "categories": [c.value for c in s.consultant.categories],
                },
            }
            for s in slots
        ]
    )


def _decode(raw: str | bytes) -> list[Slot]:
    return [
        Slot(
            id=UUID(item["id"]),
            type=AppointmentType(item["type"]),
            starts_at=datetime.fromisoformat(item["startsAt"]),
            ends_at=datetime.fromisoformat(item["endsAt"]),
            consultant=Consultant(
                id=UUID(item["consultant"]["id"]),
                name=item["consultant"]["name"],
                avatar_url=item["consultant"]["avatarUrl"],
                categories=tuple(Category(c) for c in item["consultant"]["categories"]),
            ),
        )
        for item in json.loads(raw)
    ]


class AvailabilityCache:
    def __init__(self, redis: Redis, ttl_seconds: int = 30):
        self._redis = redis
        self._ttl = ttl_seconds

    async def get(self, query: AvailabilityQuery) -> list[Slot] | None:
        try:
            raw = await self._redis.get(cache_key(query))
        except (RedisError, OSError) as exc:
            log.warning("availability cache read failed; using the database", error=type(exc).__name__)
            return None
        return None if raw is None else _decode(raw)

    async def put(self, query: AvailabilityQuery, slots: list[Slot]) -> None:
        try:
            await self._redis.set(cache_key(query), _encode(slots), ex=self._ttl)
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
