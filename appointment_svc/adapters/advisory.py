"""PostgreSQL advisory transaction locks on text keys: serialise the transactions that count something."""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")

# Whole-database jobs lock fixed keys instead. Each job has its own, so none waits for another
# (nor does the relay, which only tries its lock, skip a round while a migration runs). Never
# renumber one: during a rolling restart, processes of the previous release still take the old one.
MIGRATION_LOCK_KEY = 421337  # two processes starting together migrate one after the other
SEED_LOCK_KEY = 421338  # an empty database is seeded once, however many processes start on it
OUTBOX_RELAY_LOCK_KEY = 421339  # one relay publishes at a time, so events leave in commit order


async def lock_until_commit(conn: AsyncConnection, key: str) -> None:
    """Wait for, then hold until this transaction ends, the lock every transaction on `key` takes.

    A hash collision between two keys only serialises unrelated work a little, never wrongly.
    """
    await conn.execute(_LOCK, {"key": key})
