"""Readiness follows the database probe, and its loop stops whatever the probe is doing."""
from __future__ import annotations

import asyncio
import random

from grpc_health.v1 import health, health_pb2

from appointment_svc.entrypoints.readiness import Readiness
from tests.polling import eventually

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class Database:
    """A probe target that answers, refuses, or hangs like a frozen server."""

    def __init__(self):
        self.mode = "up"
        self._thaw = asyncio.Event()

    async def ping(self) -> None:
        if self.mode == "down":
            raise ConnectionRefusedError("refused")
        if self.mode == "frozen":
            await self._thaw.wait()


async def status(servicer: health.aio.HealthServicer, name: str = "") -> int:
    class Context:
        async def abort(self, *args):  # the servicer calls it for unknown names
            raise AssertionError(args)

    reply = await servicer.Check(health_pb2.HealthCheckRequest(service=name), Context())
    return reply.status


async def test_reports_not_serving_while_the_database_is_down_or_frozen_and_serving_again_after():
    db, servicer = Database(), health.aio.HealthServicer()
    readiness = Readiness(db.ping, servicer, ["booking.v1.AppointmentService"], interval=0.01, timeout=0.05)
    await readiness.start()
    try:
        assert await status(servicer) == SERVING
        for trouble in ("down", "frozen"):
            db.mode = trouble
            await eventually(lambda: _is(servicer, NOT_SERVING), message=f"NOT_SERVING while {trouble}")
            db.mode = "up"
            db._thaw.set()
            await eventually(lambda: _is(servicer, SERVING), message="SERVING again")
            db._thaw.clear()
    finally:
        await readiness.stop()


async def _is(servicer, wanted: int) -> bool:
    return await status(servicer) == wanted and await status(servicer, "booking.v1.AppointmentService") == wanted


async def test_stops_at_any_moment_even_with_a_probe_that_never_returns():
    rng = random.Random()
    for _ in range(50):
        db = Database()
        db.mode = rng.choice(["up", "down", "frozen"])
        readiness = Readiness(db.ping, health.aio.HealthServicer(), [], interval=rng.choice([0.001, 0.05]), timeout=0.02)
        await readiness.start()
        await asyncio.sleep(rng.uniform(0, 0.05))
        async with asyncio.timeout(10):  # a hang fails here
            await readiness.stop()
