"""Issue 15 against the real PostgreSQL: the export holds exactly the caller's data, erasure blanks
every personal field (the history's append-only trigger lets through only that), is idempotent,
and retention on two engines at once anonymises each expired record once, without errors."""
from __future__ import annotations

import asyncio
import uuid

import psycopg
import pytest
from nats.js.api import AckPolicy, ConsumerConfig, KeyValueConfig
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import create_async_engine

from appointment_svc.adapters.cache import AvailabilityCache
from appointment_svc.adapters.outbox import OutboxRelay
from appointment_svc.adapters.personal_data import ErasureFollowUp, SqlPersonalDataStore
from appointment_svc.adapters.rate_limit import SlidingWindowRateLimiter
from appointment_svc.adapters.slot_lock import RedisSlotLock
from appointment_svc.domain.model import AppointmentType, BookSlot
from appointment_svc.domain.validation import Contact
from appointment_svc.service_layer.admin import AdminService
from appointment_svc.service_layer.booking import BookingService
from appointment_svc.service_layer.brochures import BrochureService, RequestBrochure
from appointment_svc.service_layer.personal_data import PersonalDataService
from mesh_common.auth import Principal, Role
from mesh_common.config import sqlalchemy_url
from mesh_common.events import recipient_fingerprint
from tests.integration.booking_fixtures import add_consultant, add_slot, appointment_has_started, units_of_work
from tests.integration.conftest import FAR_HORIZON
from tests.integration.test_outbox_relay import js_client_fixture, topology_fixture  # noqa: F401 - fixtures
from tests.polling import eventually

STAFF = Principal("staff-1", Role.ADMIN)


class Person:
    """One customer's personal data, unique per test so a search for it finds no one else's."""

    def __init__(self, name: str):
        tag = uuid.uuid4().hex[:8]
        self.user = Principal(f"{name}-{tag}", Role.CUSTOMER)
        self.first, self.last = f"First{tag}", f"Last{tag}"
        self.email = f"{name}.{tag}@example.com"
        self.phone = f"07700 9{int(tag, 16) % 100000:05d}"
        self.address = f"{int(tag, 16) % 900 + 100} Erasure Street {tag}"
        self.postcode = "SW1A 1AA"  # a real one is needed; the test does not search for it (shared)
        self.reason = f"Moving house {tag}"

    def contact(self) -> Contact:
        return Contact(self.first, self.last, self.email, self.phone, self.postcode, self.address)

    def secrets(self) -> list[str]:
        return [self.first, self.last, self.email, self.phone, self.address, self.reason, self.email.lower()]


@pytest.fixture
async def mesh(database_url, redis_url):
    engine = create_async_engine(sqlalchemy_url(database_url), pool_size=20, max_overflow=10)
    redis = Redis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
    uow = units_of_work(engine, AvailabilityCache(redis), RedisSlotLock(redis))
    yield {
        "engine": engine,
        "bookings": BookingService(uow, RedisSlotLock(redis), limits=FAR_HORIZON),
        "admin": AdminService(uow, limits=FAR_HORIZON),
        "brochures": BrochureService(uow, SlidingWindowRateLimiter(redis, namespace=f"b{uuid.uuid4().hex}", limit=5, window_seconds=60)),
        "personal": PersonalDataService(uow, SqlPersonalDataStore(engine)),
        "uow": uow,
    }
    await redis.aclose()
    await engine.dispose()


async def book(mesh, database_url, person: Person):
    slot = add_slot(database_url, add_consultant(database_url))
    return await mesh["bookings"].book(
        BookSlot(
            user_id=person.user.user_id, type=AppointmentType.SHOWROOM_VISIT, for_kitchen=True, for_bedroom=False,
            contact=person.contact(), slot_id=slot,
        )  # fmt: skip
    )


async def ask_for_brochure(mesh, person: Person) -> None:
    c = person.contact()
    await mesh["brochures"].request(RequestBrochure(c.first_name, c.last_name, c.email, c.phone, c.postcode, c.address))


async def history_of_a_customer(mesh, database_url, person: Person):
    """A completed booking, one they cancelled with a reason, an upcoming one, and a brochure request."""
    done = await book(mesh, database_url, person)
    await mesh["admin"].confirm(done.id, STAFF)
    appointment_has_started(database_url, done.slot.id)
    await mesh["admin"].complete(done.id, STAFF)
    cancelled = await book(mesh, database_url, person)
    await mesh["bookings"].cancel(cancelled.id, person.user, person.reason)
    upcoming = await book(mesh, database_url, person)
    await ask_for_brochure(mesh, person)
    return done, cancelled, upcoming


def table_text(database_url: str) -> str:
    """Every row of every table of the database, as text."""
    with psycopg.connect(database_url) as connection:
        tables = [
            row[0]
            for row in connection.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()").fetchall()
        ]
        return "\n".join(
            str(row) for table in tables for row in connection.execute(f'SELECT t::text FROM "{table}" AS t').fetchall()
        )


async def test_the_export_holds_the_callers_bookings_history_emails_and_brochures_and_no_one_elses(mesh, database_url):
    alice, bob = Person("alice"), Person("bob")
    done, cancelled, upcoming = await history_of_a_customer(mesh, database_url, alice)
    await book(mesh, database_url, bob)
    await ask_for_brochure(mesh, bob)

    export = await mesh["personal"].export(alice.user)

    assert export.user_id == alice.user.user_id
    assert [r.booking.id for r in export.bookings] == [upcoming.id, cancelled.id, done.id]  # newest first
    assert {r.booking.contact.email for r in export.bookings} == {alice.email}
    by_id = {r.booking.id: r for r in export.bookings}
    assert [c.to_status.value for c in by_id[done.id].history] == ["PENDING", "CONFIRMED", "COMPLETED"]
    assert by_id[cancelled.id].history[-1].reason == alice.reason
    assert {(e.booking_id, e.kind) for e in export.emails} >= {(upcoming.id, "booking-confirmation"), (cancelled.id, "booking-cancellation")}
    assert {e.reference_code for e in export.emails} <= {done.reference_code, cancelled.reference_code, upcoming.reference_code}
    assert [b.contact.email for b in export.brochure_requests] == [alice.email]
    assert all(r.anonymised_at is None for r in export.bookings)
    assert bob.email not in repr(export) and bob.user.user_id not in repr(export)


async def test_erasure_cancels_the_upcoming_booking_then_blanks_every_personal_field_once(mesh, database_url):
    alice, bob = Person("alice"), Person("bob")
    done, cancelled, upcoming = await history_of_a_customer(mesh, database_url, alice)
    bobs = await book(mesh, database_url, bob)

    summary = await mesh["personal"].erase_mine(alice.user)

    assert (summary.bookings_cancelled, summary.bookings_anonymised, summary.brochure_requests_anonymised) == (1, 3, 1)
    assert summary.history_reasons_erased == 2  # her reason, and the erasure's own cancellation
    dump = table_text(database_url)
    assert [s for s in alice.secrets() if s in dump] == []
    assert bob.email in dump and bob.first in dump  # others' data untouched
    with psycopg.connect(database_url) as connection:
        statuses = dict(connection.execute("SELECT id, status FROM bookings WHERE user_id = %s", (alice.user.user_id,)).fetchall())
        assert statuses == {done.id: "COMPLETED", cancelled.id: "CANCELLED", upcoming.id: "CANCELLED"}
        refs = {row[0] for row in connection.execute("SELECT reference_code FROM bookings WHERE user_id = %s", (alice.user.user_id,))}
        assert refs == {done.reference_code, cancelled.reference_code, upcoming.reference_code}
        # The cancellation went out through the outbox, with what its emails need; the follow-up
        # (NATS) removes that copy once sent: every anonymised record has one pending.
        cancellations = connection.execute(
            "SELECT count(*) FROM outbox WHERE owner_id = %s AND subject = 'booking.cancelled'", (upcoming.id,)
        ).fetchone()[0]
        assert cancellations == 1
        pending = connection.execute("SELECT count(*) FROM personal_data_scrubs WHERE done_at IS NULL").fetchone()[0]
        assert pending >= 4
    export = await mesh["personal"].export(alice.user)
    assert all(r.anonymised_at is not None and r.booking.contact.email == "" for r in export.bookings)
    assert export.brochure_requests == []

    again = await mesh["personal"].erase_mine(alice.user)
    assert again == type(summary)()
    assert (await mesh["personal"].export(Principal(bob.user.user_id, Role.CUSTOMER))).bookings[0].booking.id == bobs.id


async def test_the_history_stays_append_only_but_for_blanking_an_erased_cancellations_reason(mesh, database_url):
    alice = Person("alice")
    booking = await book(mesh, database_url, alice)
    await mesh["bookings"].cancel(booking.id, alice.user, alice.reason)
    refused = [
        "UPDATE booking_status_history SET reason = '' WHERE booking_id = %s",  # not anonymised yet
        "DELETE FROM booking_status_history WHERE booking_id = %s",
    ]
    for sql in refused:
        with psycopg.connect(database_url) as connection, pytest.raises(psycopg.errors.RaiseException):
            connection.execute(sql, (booking.id,))
    await mesh["personal"].erase_mine(alice.user)
    for sql in [*refused, "UPDATE booking_status_history SET changed_by = 'x' WHERE booking_id = %s"]:
        with psycopg.connect(database_url) as connection, pytest.raises(psycopg.errors.RaiseException):
            connection.execute(sql, (booking.id,))


async def test_staff_erase_an_address_whatever_its_case_or_tag(mesh, database_url):
    alice = Person("alice")
    booking = await book(mesh, database_url, alice)
    await ask_for_brochure(mesh, alice)
    local, domain = alice.email.split("@")
    summary = await mesh["personal"].erase_address(STAFF, f"{local.upper()}+shop@{domain}")
    assert (summary.bookings_cancelled, summary.bookings_anonymised, summary.brochure_requests_anonymised) == (1, 1, 1)
    assert [s for s in alice.secrets() if s in table_text(database_url)] == []
    with psycopg.connect(database_url) as connection:
        changed_by = connection.execute(
            "SELECT changed_by FROM booking_status_history WHERE booking_id = %s AND to_status = 'CANCELLED'", (booking.id,)
        ).fetchone()[0]
    assert changed_by == STAFF.user_id
    assert (await mesh["personal"].erase_address(STAFF, alice.email)).bookings_anonymised == 0


async def test_retention_on_two_engines_at_once_anonymises_each_expired_record_once(mesh, database_url):
    people = [Person(f"old{i}") for i in range(12)]
    for person in people:
        booking = await book(mesh, database_url, person)
        with psycopg.connect(database_url) as connection:  # each booking has a consultant of its own
            connection.execute(
                "UPDATE time_slots SET starts_at = now() - interval '3 days', ends_at = now() - interval '3 days' + interval '1 hour'"
                " WHERE id = %s",
                (booking.slot.id,),
            )
        await ask_for_brochure(mesh, person)
    recent = Person("recent")
    await book(mesh, database_url, recent)
    with psycopg.connect(database_url) as connection:
        connection.execute("UPDATE brochure_requests SET created_at = now() - interval '3 days' WHERE email LIKE 'old%%'")
    engines = [create_async_engine(sqlalchemy_url(database_url), pool_size=4) for _ in range(2)]
    try:
        # Small batches, so the two runners meet on the same rows.
        runners = [
            PersonalDataService(
                mesh["uow"], SqlPersonalDataStore(engine), retention_days=1, brochure_retention_days=1, retention_batch=3
            )
            for engine in engines
        ]
        start = asyncio.Barrier(2)

        async def drain(runner) -> int:
            await start.wait()
            touched = 0
            for _ in range(100):
                batch = await runner.apply_retention()
                touched += batch
                if batch == 0:
                    return touched
            raise AssertionError("retention never finished")

        totals = await asyncio.gather(*(drain(r) for r in runners))
    finally:
        for engine in engines:
            await engine.dispose()
    assert sum(totals) == 24  # 12 bookings and 12 brochure requests, each anonymised once
    dump = table_text(database_url)
    assert [s for p in people for s in (p.first, p.email, p.address) if s in dump] == []
    assert recent.email in dump
    with psycopg.connect(database_url) as connection:
        assert connection.execute("SELECT count(*) FROM personal_data_scrubs").fetchone()[0] == 24


async def test_the_follow_up_waits_for_the_emails_then_two_replicas_remove_every_copy_once(
    mesh, database_url, topology, js_client, backing
):
    alice = Person("alice")
    await book(mesh, database_url, alice)
    await ask_for_brochure(mesh, alice)
    nats_url, tag = backing["nats"].url, uuid.uuid4().hex[:10]
    durable, bucket = f"notify-{tag}", f"sent_{tag}"
    relay = OutboxRelay(mesh["engine"], nats_url, topology, poll_seconds=0.05)
    await relay.start()
    try:
        await mesh["personal"].erase_mine(alice.user)  # cancels the booking: a third event
        await eventually(lambda: _all_published(database_url), message="every event published")
    finally:
        await relay.stop()
    js = js_client.jetstream()
    await js.add_consumer(topology.stream, ConsumerConfig(durable_name=durable, ack_policy=AckPolicy.EXPLICIT))
    kv = await js.create_key_value(KeyValueConfig(bucket=bucket, history=1))
    with psycopg.connect(database_url) as connection:
        event_ids = [row[0] for row in connection.execute("SELECT id FROM outbox")]
    assert len(event_ids) == 3
    for event_id in event_ids:
        await kv.put(f"{event_id}.booking-confirmation.{recipient_fingerprint(alice.email)}", b"sent")
    await kv.put(f"{uuid.uuid4()}.team-alert.{recipient_fingerprint('kitchen-team@example.co.uk')}", b"sent")
    engines = [create_async_engine(sqlalchemy_url(database_url), pool_size=2) for _ in range(2)]
    replicas = [
        ErasureFollowUp(engine, nats_url, topology, durable=durable, ledger_bucket=bucket) for engine in engines
    ]
    try:
        # Nothing acknowledged yet: the emails still need the plaintext.
        assert await asyncio.gather(*(r.run_once() for r in replicas)) == [0, 0]
        assert (await js.stream_info(topology.stream)).state.messages == 3
        subscription = await js.pull_subscribe_bind(durable=durable, stream=topology.stream)
        for message in await subscription.fetch(3, timeout=5):
            await message.ack_sync()

        done = await asyncio.gather(*(r.run_once() for r in replicas))

        assert sorted(done) == [0, 2]  # the booking and the brochure request, by one replica
        assert (await js.stream_info(topology.stream)).state.messages == 0
        assert len(await kv.keys()) == 1  # only the unrelated team alert's key is left
        with psycopg.connect(database_url) as connection:
            assert connection.execute("SELECT count(*) FROM outbox WHERE length(payload) > 0").fetchone()[0] == 0
            assert connection.execute("SELECT count(*) FROM personal_data_scrubs WHERE done_at IS NULL").fetchone()[0] == 0
        assert await asyncio.gather(*(r.run_once() for r in replicas)) == [0, 0]
    finally:
        for replica in replicas:
            await replica.close()
        for engine in engines:
            await engine.dispose()
        await js.delete_key_value(bucket)


async def _all_published(database_url) -> bool:
    with psycopg.connect(database_url) as connection:
        return connection.execute("SELECT count(*) FROM outbox WHERE published_at IS NULL").fetchone()[0] == 0
