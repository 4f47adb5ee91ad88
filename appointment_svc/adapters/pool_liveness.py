"""Pooled connections the server has closed are replaced at checkout, without a round trip.

`pool_pre_ping` sends `SELECT 1` at every checkout: three of a booking's eleven round trips
(bench/RESULTS.md, issue 13). A server that restarts or dies closes its sockets (a restarting
PostgreSQL first sends each session a FATAL "terminating connection"), so an idle pooled
connection whose socket has something to read is one the server gave up: nothing else arrives on
an idle connection of ours (no LISTEN on pooled connections; the relay listens on its own).
A zero-timeout poll of the socket sees that. What it cannot see, a silently partitioned network,
a ping would not have answered in time either: the RPC deadline bounds that case.
"""
from __future__ import annotations

import select

from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine

_READABLE = select.POLLIN | select.POLLPRI | select.POLLHUP | select.POLLERR | select.POLLNVAL


def server_gave_up(socket_fd: int) -> bool:
    """Whether an idle connection's socket has data, an error or a hang-up waiting."""
    poller = select.poll()
    poller.register(socket_fd, _READABLE)
    return bool(poller.poll(0))


def replace_closed_connections(engine: AsyncEngine) -> None:
    """At each checkout, a connection the server closed meanwhile is discarded and a new one made
    (SQLAlchemy retries the checkout when the listener raises DisconnectionError)."""

    @event.listens_for(engine.sync_engine, "checkout")
    def _check(dbapi_connection, connection_record, connection_proxy) -> None:
        try:
            fd = dbapi_connection.driver_connection.pgconn.socket
        except Exception as exc:  # psycopg raises if the connection is already closed
            raise DisconnectionError("connection already closed") from exc
        if server_gave_up(fd):
            raise DisconnectionError("the server closed this pooled connection")
