"""A transaction's connection that holds back the writes nothing reads before the commit.

A booking writes five rows (the booking, its history step, its outbox message, its email in the
mailbox's ledger, and the ledger's pruning) and wakes the outbox relay: sent one by one, that is
six round trips, each a wait for PostgreSQL and, on a busy machine, a trip through the scheduler.
Deferred, they leave together as one statement (data-modifying CTEs: every part runs to
completion, foreign keys are checked at its end) just before the next statement that could read
them, or before the commit. A constraint a deferred write violates surfaces from that statement,
translated into the port's error as if the write had been sent alone.

Only writes whose outcome the caller does not look at may be deferred (no RETURNING, no rowcount),
and no two parts of one batch may touch the same row: PostgreSQL runs the parts on one snapshot,
in no promised order.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from appointment_svc.adapters.constraints import raise_translated


def insert_sql(table_name: str, columns: Iterable[str], expressions: Mapping[str, str] | None = None) -> str:
    """`INSERT INTO t (a, b) VALUES (%(a)s, %(b)s)` in psycopg's parameter style; `expressions`
    gives columns a fixed SQL expression instead of a parameter."""
    values = {column: f"%({column})s" for column in columns} | dict(expressions or {})
    return f"INSERT INTO {table_name} ({', '.join(values)}) VALUES ({', '.join(values.values())})"


class BatchingConnection:
    """What the repositories of one unit of work execute on: AsyncConnection.execute, plus `defer`."""

    def __init__(self, conn: AsyncConnection):
        self.conn = conn
        self._parts: list[tuple[str, dict[str, Any]]] = []
        self._errors: dict[str, type[Exception]] = {}
        self._channels: list[str] = []

    def defer(self, sql: str, params: Mapping[str, Any], errors: Mapping[str, type[Exception]] | None = None) -> None:
        """Send `sql` (psycopg parameter style) with the next flush; `errors` as for raise_translated."""
        self._parts.append((sql, dict(params)))
        self._errors.update(errors or {})

    def holds(self, sql: str) -> bool:
        """Whether `sql` waits in the batch."""
        return any(part == sql for part, _ in self._parts)

    def amend(self, sql: str, key: Mapping[str, Any], values: Mapping[str, Any]) -> bool:
        """Change `values` of the part of `sql` whose parameters include `key`, if it still waits in
        the batch (a later part may not touch the same row); False when no such part waits."""
        for part, params in self._parts:
            if part == sql and all(params.get(name) == value for name, value in key.items()):
                params.update(values)
                return True
        return False

    def notify(self, channel: str) -> None:
        """pg_notify(channel) with the next flush: delivered, as always, only when the transaction commits."""
        if channel not in self._channels:
            self._channels.append(channel)

    async def execute(self, statement, parameters=None):
        await self.flush()
        return await self.conn.execute(statement, parameters)

    async def exec_driver_sql(self, sql: str, parameters=None):
        await self.flush()
        return await self.conn.exec_driver_sql(sql, parameters)

    async def exec_alone(self, sql: str, parameters=None):
        """One statement that needs no transaction around it (a single read is one snapshot anyway):
        when none is open, PostgreSQL runs it as its own, which spares the BEGIN and the
        COMMIT/ROLLBACK round trips. Inside an open transaction it simply joins it."""
        await self.flush()
        if self.conn.in_transaction():
            return await self.conn.exec_driver_sql(sql, parameters)
        await self.conn.execution_options(isolation_level="AUTOCOMMIT")
        try:
            return await self.conn.exec_driver_sql(sql, parameters)
        finally:
            await self.conn.rollback()  # ends SQLAlchemy's bookkeeping only: PostgreSQL has no transaction
            await self.conn.execution_options(isolation_level=self.conn.default_isolation_level)

    async def flush(self) -> None:
        if not self._parts and not self._channels:
            return
        parts, errors, channels = self._parts, self._errors, self._channels
        self._parts, self._errors, self._channels = [], {}, []
        params: dict[str, Any] = {}
        ctes = []
        for i, (sql, values) in enumerate(parts):
            prefix = f"w{i}_"  # every part's parameters get their own names
            ctes.append(f"w{i} AS ({sql.replace('%(', '%(' + prefix)})")
            params.update({prefix + name: value for name, value in values.items()})
        for i, channel in enumerate(channels):
            params[f"channel{i}"] = channel
        final = "SELECT " + (", ".join(f"pg_notify(%(channel{i})s, '')" for i in range(len(channels))) or "1")
        try:
            await self.conn.exec_driver_sql((f"WITH {', '.join(ctes)} " if ctes else "") + final, params)
        except IntegrityError as exc:
            raise_translated(exc, errors)
