"""Brochure requests against the real PostgreSQL and Valkey (and over gRPC)."""
from __future__ import annotations

import asyncio
import uuid

import grpc
import psycopg
import pytest
from google.rpc import error_details_pb2, status_pb2
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import create_async_engine

from appointment_svc.adapters.rate_limit import SlidingWindowRateLimiter
from appointment_svc.adapters.unit_of_work import SqlUnitOfWork
from appointment_svc.domain.errors import RateLimitExceeded, ValidationFailed
from appointment_svc.entrypoints.brochure_servicer import BrochureServicer
from appointment_svc.service_layer.brochures import BrochureService, RequestBrochure
from booking.v1 import brochure_service_pb2 as pb
from booking.v1 import brochure_service_pb2_grpc as pb_grpc
from booking.v1 import events_pb2
from booking_mesh.embedded.ports import free_port
from mesh_common.config import sqlalchemy_url


def form(email: str, **overrides) -> RequestBrochure:
    values = dict(first_name="John", last_name="Smith", email=email, phone="07700 900456", postcode="m1 1ae",
                  address="1 Piccadilly, Manchester")  # fmt: skip
    values.update(overrides)
    return RequestBrochure(**values)


def unique_email() -> str:
    return f"john.{uuid.uuid4().hex[:10]}@example.com"


@pytest.fixture
async def engine(database_url):
    engine = create_async_engine(sqlalchemy_url(database_url), pool_size=20)
    yield engine
    await engine.dispose()


async def make_service(engine, redis_url: str):
    redis = Redis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
    limiter = SlidingWindowRateLimiter(redis, namespace=f"brochure-{uuid.uuid4().hex[:8]}", limit=3, window_seconds=3600)
    return BrochureService(lambda: SqlUnitOfWork(engine), limiter), redis


@pytest.fixture
async def service(engine, redis_url):
    service, redis = await make_service(engine, redis_url)
    yield service
    await redis.aclose()


@pytest.fixture
async def service_without_redis(engine):
    # Nothing listens on this port: every Redis call fails, as when Valkey is down.
    service, redis = await make_service(engine, f"redis://127.0.0.1:{free_port()}/0")
    yield service
    await redis.aclose()


def stored(database_url: str, email: str) -> list:
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT * FROM brochure_requests WHERE lower(email) = lower(%s)", (email.strip(),)).fetchall()


def outbox_events(database_url: str) -> list[events_pb2.BrochureRequested]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT id, subject, payload FROM outbox ORDER BY created_at").fetchall()
    assert {row[1] for row in rows} <= {"brochure.requested"}
    events = [events_pb2.BrochureRequested.FromString(row[2]) for row in rows]
    assert [e.event_id for e in events] == [str(row[0]) for row in rows]
    return events


async def outcomes(service: BrochureService, requests: list[RequestBrochure]) -> list:
    return await asyncio.gather(*(service.request(r) for r in requests), return_exceptions=True)


async def test_request_is_stored_with_its_event_in_one_transaction(service, database_url):
    email = unique_email()
    request_id = await service.request(form(email))
    (row,) = stored(database_url, email)
    assert row[0] == request_id
    (event,) = outbox_events(database_url)
    assert event.request_id == str(request_id)
    assert (event.email, event.first_name, event.postcode, event.phone) == (email, "John", "M1 1AE", "07700900456")


async def test_nothing_is_stored_when_the_event_cannot_be_written(service, database_url):
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'outbox down'; END $$;"
            "CREATE TRIGGER refuse BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION refuse();"
        )
    email = unique_email()
    with pytest.raises(Exception, match="outbox down"):
        await service.request(form(email))
    assert stored(database_url, email) == []
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DROP TRIGGER refuse ON outbox")
    # The failed attempt was given back to the rate limit: three more still fit in the hour.
    for _ in range(3):
        await service.request(form(email))
    assert len(stored(database_url, email)) == 3


async def test_invalid_requests_name_the_fields_and_store_nothing(service, database_url):
    with pytest.raises(ValidationFailed) as failure:
        await service.request(form("not-an-email", first_name=" ", phone="12345", postcode="SW1A", address=""))
    assert [v.field for v in failure.value.violations] == ["firstName", "email", "phone", "postcode", "address"]
    assert outbox_events(database_url) == []


async def test_fourth_request_within_the_hour_is_refused_with_retry_after(service, database_url):
    email = unique_email()
    for _ in range(3):
        await service.request(form(email))
    with pytest.raises(RateLimitExceeded) as refused:
        await service.request(form(email))
    assert 3500 <= refused.value.retry_after_seconds <= 3600
    assert len(stored(database_url, email)) == 3 and len(outbox_events(database_url)) == 3


async def test_the_limit_ignores_case_and_surrounding_spaces(service, database_url):
    email = unique_email()
    for spelling in (email.upper(), f"  {email}  ", email.capitalize()):
        await service.request(form(spelling))
    with pytest.raises(RateLimitExceeded):
        await service.request(form(email))
    other = unique_email()
    await service.request(form(other))  # another address has its own allowance


async def test_ten_concurrent_requests_accept_exactly_three(service, database_url):
    email = unique_email()
    results = await outcomes(service, [form(email) for _ in range(10)])
    assert sum(isinstance(r, uuid.UUID) for r in results) == 3
    assert sum(isinstance(r, RateLimitExceeded) for r in results) == 7
    assert len(stored(database_url, email)) == 3


async def test_without_redis_the_database_enforces_the_same_limit(service_without_redis, database_url):
    email = unique_email()
    results = await outcomes(service_without_redis, [form(email) for _ in range(10)])
    assert sum(isinstance(r, uuid.UUID) for r in results) == 3
    refused = [r for r in results if isinstance(r, RateLimitExceeded)]
    assert len(refused) == 7 and all(3500 <= r.retry_after_seconds <= 3600 for r in refused)
    assert len(stored(database_url, email)) == 3


def gmail_spellings() -> list[str]:
    """Four spellings of one Gmail mailbox: a tag, dots, googlemail.com, and both."""
    name = f"victim{uuid.uuid4().hex[:8]}"
    return [f"{name}@gmail.com", f"{name}+1@gmail.com", f"{name[:3]}.{name[3:]}@gmail.com", f"{name}+x@GoogleMail.com"]


async def test_tags_gmail_dots_and_googlemail_count_as_one_address(service, database_url):
    *first_three, fourth = gmail_spellings()
    for spelling in first_three:
        await service.request(form(spelling))
    with pytest.raises(RateLimitExceeded):
        await service.request(form(fourth))
    assert len(outbox_events(database_url)) == 3


async def test_without_redis_the_database_counts_the_same_canonical_address(service_without_redis, database_url):
    spellings = gmail_spellings() * 3
    results = await outcomes(service_without_redis, [form(s) for s in spellings])
    assert sum(isinstance(r, uuid.UUID) for r in results) == 3
    assert sum(isinstance(r, RateLimitExceeded) for r in results) == 9
    assert len(outbox_events(database_url)) == 3


async def call_grpc(service, requests: list[pb.RequestBrochureRequest]) -> list:
    """Each request over a real gRPC server; returns responses or the finished failed calls."""
    server = grpc.aio.server()
    pb_grpc.add_BrochureServiceServicer_to_server(BrochureServicer(service), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    results = []
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = pb_grpc.BrochureServiceStub(channel)
            for request in requests:
                call = stub.RequestBrochure(request)
                try:
                    results.append(await call)
                except grpc.aio.AioRpcError:
                    results.append(call)
    finally:
        await server.stop(None)
    return results


def grpc_form(email: str) -> pb.RequestBrochureRequest:
    return pb.RequestBrochureRequest(
        first_name="John", last_name="Smith", email=email, phone="07700900456", postcode="M1 1AE", address="1 Piccadilly"
    )


async def test_grpc_answers_the_contract_message_then_rate_limit_exceeded_with_retry_after(service):
    email = unique_email()
    *accepted, refused, invalid = await call_grpc(service, [grpc_form(email)] * 4 + [pb.RequestBrochureRequest(email="x")])
    assert [r.message for r in accepted] == ["Brochure on its way"] * 3
    assert await refused.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    trailers = dict(await refused.trailing_metadata())
    assert 3500 <= int(trailers["retry-after"]) <= 3600
    info = error_details_pb2.ErrorInfo()
    status_pb2.Status.FromString(trailers["grpc-status-details-bin"]).details[0].Unpack(info)
    assert info.reason == "RATE_LIMIT_EXCEEDED"
    assert await invalid.code() == grpc.StatusCode.INVALID_ARGUMENT
