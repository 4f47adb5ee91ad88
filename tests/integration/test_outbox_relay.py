"""The outbox relay against real PostgreSQL and NATS JetStream."""
from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from datetime import timedelta

import nats
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from appointment_svc.adapters.outbox import OutboxRelay, add_event
from appointment_svc.adapters.tables import outbox
from booking.v1 import events_pb2
from mesh_common.config import sqlalchemy_url
from mesh_common.events import BROCHURE_REQUESTED, MSG_ID_HEADER, EventTopology
from tests.polling import eventually


@pytest.fixture
async def engine(database_url):
    engine = create_async_engine(sqlalchemy_url(database_url), pool_size=5)
    yield engine
    await engine.dispose()


# Named fixtures, so another module imports them without its parameters shadowing the import.
@pytest.fixture(name="topology")
async def topology_fixture(backing):
    tag = uuid.uuid4().hex[:10]
    topology = EventTopology(stream=f"T_{tag}", dlq_stream=f"T_{tag}_DLQ", subject_prefix=f"t{tag}.")
    yield topology
    nc = await nats.connect(backing["nats"].url)
    for name in (topology.stream, topology.dlq_stream):
        try:
            await nc.jetstream().delete_stream(name)
        except Exception:  # noqa: BLE001 - never created
            pass
    await nc.close()


@pytest.fixture(name="js_client")
async def js_client_fixture(backing):
    nc = await nats.connect(backing["nats"].url)
    yield nc
    await nc.close()


def brochure_event(**fields) -> events_pb2.BrochureRequested:
    return events_pb2.BrochureRequested(request_id=str(uuid.uuid4()), first_name="Jane", email="jane@example.com", **fields)


async def add_events(engine, count: int) -> list[uuid.UUID]:
    async with engine.begin() as conn:
        return [await add_event(conn, BROCHURE_REQUESTED, brochure_event()) for _ in range(count)]


async def unpublished(engine) -> int:
    async with engine.connect() as conn:
        return (await conn.execute(select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None)))).scalar_one()


async def stream_messages(js, topology: EventTopology) -> list:
    info = await js.stream_info(topology.stream)
    return [await js.get_msg(topology.stream, seq) for seq in range(info.state.first_seq, info.state.last_seq + 1)] if info.state.messages else []


async def test_add_event_assigns_the_event_id_used_as_row_id(engine):
    event = brochure_event()
    async with engine.begin() as conn:
        event_id = await add_event(conn, BROCHURE_REQUESTED, event)
    assert event.event_id == str(event_id) and event.HasField("occurred_at")
    async with engine.connect() as conn:
        row = (await conn.execute(select(outbox).where(outbox.c.id == event_id))).one()
    assert row.subject == BROCHURE_REQUESTED and row.published_at is None
    assert events_pb2.BrochureRequested.FromString(row.payload).event_id == str(event_id)


async def test_add_event_keeps_an_id_the_caller_chose_and_refuses_a_wrong_type(engine):
    chosen = uuid.uuid4()
    async with engine.begin() as conn:
        assert await add_event(conn, BROCHURE_REQUESTED, brochure_event(event_id=str(chosen))) == chosen
        with pytest.raises(ValueError):
            await add_event(conn, "booking.created", brochure_event())


async def test_committed_events_are_published_once_with_their_event_id_as_msg_id(engine, topology, backing, js_client):
    ids = await add_events(engine, 5)
    async with engine.connect() as conn:  # an event whose transaction rolls back is never published
        async with conn.begin() as tx:
            await add_event(conn, BROCHURE_REQUESTED, brochure_event())
            await tx.rollback()
    relay = OutboxRelay(engine, backing["nats"].url, topology)
    await relay.start()
    try:
        await eventually(lambda: _none_left(engine))
    finally:
        await relay.stop()
    messages = await stream_messages(js_client.jetstream(), topology)
    assert [m.headers[MSG_ID_HEADER] for m in messages] == [str(i) for i in ids]
    assert {m.subject for m in messages} == {topology.subject(BROCHURE_REQUESTED)}
    assert [events_pb2.BrochureRequested.FromString(m.data).event_id for m in messages] == [str(i) for i in ids]
    assert relay.published_count == 5


async def _none_left(engine) -> bool:
    return await unpublished(engine) == 0


async def test_relay_wakes_on_commit_without_waiting_for_its_poll(engine, topology, backing):
    relay = OutboxRelay(engine, backing["nats"].url, topology, poll_seconds=60)
    await relay.start()
    try:
        await add_events(engine, 1)  # first pass connects and ensures the streams
        await eventually(lambda: _none_left(engine))
        await add_events(engine, 1)
        # Far inside the 60 s poll: only the commit's NOTIFY can have woken it.
        await eventually(lambda: _none_left(engine), timeout=20)
    finally:
        await relay.stop()


async def test_two_relays_never_publish_the_same_row(engine, topology, backing, js_client):
    # A plain NATS subscription sees every publish, including ones JetStream would drop as duplicates.
    seen: Counter[str] = Counter()

    async def count(msg):
        seen[msg.headers[MSG_ID_HEADER]] += 1

    await js_client.subscribe(topology.subject(">"), cb=count)
    await js_client.flush()
    ids = await add_events(engine, 300)
    relays = [OutboxRelay(engine, backing["nats"].url, topology, batch_size=20, name=f"relay-{n}") for n in (1, 2)]
    await asyncio.gather(*(relay.start() for relay in relays))
    try:
        await eventually(lambda: _none_left(engine), timeout=20)
        await eventually(lambda: sum(seen.values()) >= 300)
    finally:
        await asyncio.gather(*(relay.stop() for relay in relays))
    await js_client.flush()
    assert sum(relay.published_count for relay in relays) == 300
    assert set(seen) == {str(i) for i in ids}
    assert max(seen.values()) == 1
    info = await js_client.jetstream().stream_info(topology.stream)
    assert info.state.messages == 300
    # ... and the stream holds them in the order they were committed, whichever relay sent each.
    in_stream = [m.headers[MSG_ID_HEADER] for m in await stream_messages(js_client.jetstream(), topology)]
    assert in_stream == [str(i) for i in ids]


async def test_relay_keeps_rows_while_nats_is_down_and_catches_up_after(engine, topology, backing):
    relay = OutboxRelay(engine, backing["nats"].url, topology, publish_timeout=0.5, max_backoff_seconds=0.5)
    await relay.start()
    nats_server = backing["nats"]
    try:
        await add_events(engine, 1)
        await eventually(lambda: _none_left(engine))
        nats_server.stop()
        try:
            await add_events(engine, 3)
            await eventually(lambda: relay.failed_passes > 0)
            async with engine.connect() as conn:
                rows = (await conn.execute(select(outbox).where(outbox.c.published_at.is_(None)))).all()
            assert len(rows) == 3
            assert any(row.attempts > 0 and row.last_error for row in rows)
        finally:
            nats_server.start()
        await eventually(lambda: _none_left(engine), timeout=15)
    finally:
        await relay.stop()
    nc = await nats.connect(nats_server.url)
    try:
        assert (await nc.jetstream().stream_info(topology.stream)).state.messages == 4
    finally:
        await nc.close()


async def test_published_rows_are_purged_after_the_retention_period(engine, topology, backing):
    relay = OutboxRelay(engine, backing["nats"].url, topology)
    await relay.start()
    try:
        old, recent = await add_events(engine, 2)
        await eventually(lambda: _none_left(engine))
    finally:
        await relay.stop()
    unsent = (await add_events(engine, 1))[0]
    async with engine.begin() as conn:
        await conn.execute(
            outbox.update().where(outbox.c.id.in_([old, unsent])).values(created_at=func.now() - timedelta(days=30))
        )
        await conn.execute(outbox.update().where(outbox.c.id == old).values(published_at=func.now() - timedelta(days=32)))
    assert await relay.purge_published() == 1
    async with engine.connect() as conn:
        assert set((await conn.execute(select(outbox.c.id))).scalars()) == {recent, unsent}


# A stop that takes longer than this is a hang: stop() gives its loops 5 s, then 5 s after cancelling.
STOP_BOUND_SECONDS = 15


async def test_the_relay_stops_whenever_it_is_stopped_and_no_event_is_lost_or_doubled(engine, topology, backing, js_client):
    rng = random.Random()
    written: list[uuid.UUID] = []

    async def keep_writing(stop: asyncio.Event) -> None:
        while not stop.is_set():
            written.extend(await add_events(engine, rng.randint(1, 3)))

    for _ in range(25):
        relay = OutboxRelay(engine, backing["nats"].url, topology, poll_seconds=rng.choice([0.01, 0.5, 60]))
        done_writing = asyncio.Event()
        writer = asyncio.create_task(keep_writing(done_writing))
        await relay.start()
        await asyncio.sleep(rng.uniform(0, 0.3))  # the injected fault: a stop at any moment of a pass
        async with asyncio.timeout(STOP_BOUND_SECONDS):
            await relay.stop()
        done_writing.set()
        await writer

    relay = OutboxRelay(engine, backing["nats"].url, topology)
    await relay.start()
    try:
        await eventually(lambda: _none_left(engine), timeout=30)
    finally:
        async with asyncio.timeout(STOP_BOUND_SECONDS):
            await relay.stop()
    # Within JetStream's duplicate window a re-published row (stopped after its PubAck, before
    # its commit) is dropped by Nats-Msg-Id: the stream holds every event exactly once.
    ids = [m.headers[MSG_ID_HEADER] for m in await stream_messages(js_client.jetstream(), topology)]
    assert sorted(ids) == sorted(str(i) for i in written)
