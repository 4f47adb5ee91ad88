"""What was already sent, per (event id, email kind, recipient): a JetStream key-value bucket.

Why KV rather than a PostgreSQL table: the notification service then depends on nothing but
NATS (already required to receive anything), the marker lives next to the stream it guards,
and the bucket is file-backed with a TTL, so it needs no cleanup job and no schema migration.
"""
from __future__ import annotations

from datetime import datetime, timezone

from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

from mesh_common.events import key_value_bucket
from notification_svc.emails import Delivery


class SentLedger:
    def __init__(self, kv: KeyValue):
        self._kv = kv

    @classmethod
    async def open(cls, js: JetStreamContext, bucket: str, ttl_seconds: float) -> SentLedger:
        return cls(await key_value_bucket(js, bucket, ttl_seconds, "emails already sent, by event id, kind and recipient hash"))

    @staticmethod
    def key(event_id: str, delivery: Delivery) -> str:
        return f"{event_id}.{delivery.kind}.{delivery.fingerprint()}"

    async def was_sent(self, event_id: str, delivery: Delivery) -> bool:
        try:
            await self._kv.get(self.key(event_id, delivery))
        except KeyNotFoundError:  # also covers deleted/purged keys
            return False
        return True

    async def mark_sent(self, event_id: str, delivery: Delivery) -> None:
        await self._kv.put(self.key(event_id, delivery), datetime.now(timezone.utc).isoformat().encode())
