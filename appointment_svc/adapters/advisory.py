"""PostgreSQL advisory transaction locks on text keys: serialise the transactions that count something."""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")


async def lock_until_commit(conn: AsyncConnection, key: str) -> None:
    """Wait for, then hold until this transaction ends, the lock every transaction on `key` takes.

    A hash collision between two keys only serialises unrelated work a little, never wrongly.
    """
    await conn.execute(_LOCK, {"key": key})
