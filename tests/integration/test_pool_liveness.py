"""Pooled connections the server closed are replaced at checkout, without a ping per checkout."""
from __future__ import annotations

import socket

import psycopg
import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import create_async_engine

from appointment_svc.adapters.pool_liveness import replace_closed_connections, server_gave_up
from mesh_common.config import sqlalchemy_url
from tests.polling import eventually


@pytest.fixture
async def engine(database_url):
    engine = create_async_engine(sqlalchemy_url(database_url), pool_size=1, max_overflow=0)
    replace_closed_connections(engine)
    yield engine
    await engine.dispose()


def statements_sent(engine) -> list[str]:
    sent: list[str] = []
    event.listen(engine.sync_engine, "before_cursor_execute", lambda conn, cursor, statement, *rest: sent.append(statement))
    return sent


async def backend_pid(engine) -> int:
    async with engine.connect() as conn:
        return (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()


async def test_a_connection_the_server_terminated_is_replaced_and_the_caller_never_sees_it(engine, database_url):
    async with engine.connect() as conn:
        first = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        pooled = (await conn.get_raw_connection()).driver_connection  # back in the pool after the block
    with psycopg.connect(database_url, autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", (first,)).fetchone()[0]
    # The pooled connection's socket now holds the FATAL message and the end of the stream.
    await eventually(lambda: server_gave_up(pooled.pgconn.socket), message="the server's goodbye on the idle socket")
    second = await backend_pid(engine)  # no error: the checkout made a new connection
    assert second != first


async def test_a_healthy_pooled_connection_is_reused_without_a_ping(engine):
    first = await backend_pid(engine)
    sent = statements_sent(engine)
    assert await backend_pid(engine) == first
    assert sent == ["SELECT pg_backend_pid()"]  # nothing else went to the server


def test_only_a_socket_with_something_to_read_counts_as_given_up():
    ours, theirs = socket.socketpair()
    try:
        assert not server_gave_up(ours.fileno())
        theirs.sendall(b"E")  # what a terminated backend sends before it closes
        assert server_gave_up(ours.fileno())
    finally:
        ours.close()
        theirs.close()
    quiet, peer = socket.socketpair()
    try:
        peer.close()  # a server that died without a word: the stream just ends
        assert server_gave_up(quiet.fileno())
    finally:
        quiet.close()
