"""Readiness: the gRPC health status follows whether PostgreSQL answers.

Without the database every call but a cached availability read fails, so a load balancer (Envoy's
gRPC health check, a kubelet's readiness probe) should prefer another replica; when every replica
is NOT_SERVING, Envoy's panic mode still routes, and calls answer 503 within their deadline.
"""
from __future__ import annotations

import asyncio
from typing import Awaitable, Callable

from grpc_health.v1 import health, health_pb2

from mesh_common.lifecycle import stop_tasks, wait_until
from mesh_common.logging import get_logger

log = get_logger(__name__)

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class Readiness:
    def __init__(
        self,
        probe: Callable[[], Awaitable[None]],
        servicer: health.aio.HealthServicer,
        service_names: list[str],
        *,
        interval: float = 1.0,
        timeout: float = 1.0,
    ):
        self._probe = probe
        self.servicer = servicer
        self._names = ["", *service_names]
        self._interval = interval
        self._timeout = timeout
        self._stopping = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._in_flight: asyncio.Task | None = None
        self.serving: bool | None = None

    async def check_once(self) -> bool:
        """Probe (at most one probe at a time: a probe stuck on a frozen server is not repeated)."""
        if self._in_flight is None or self._in_flight.done():
            self._in_flight = asyncio.ensure_future(self._probe())
        done, _ = await asyncio.wait({self._in_flight}, timeout=self._timeout)
        if not done:
            ok, reason = False, "timeout"
        else:
            error = None if self._in_flight.cancelled() else self._in_flight.exception()
            ok, reason = error is None, type(error).__name__ if error else ""
        await self._report(ok, reason)
        return ok

    async def _report(self, ok: bool, reason: str) -> None:
        if ok is self.serving:
            return
        self.serving = ok
        for name in self._names:
            await self.servicer.set(name, SERVING if ok else NOT_SERVING)
        if ok:
            log.info("database reachable; serving")
        else:
            log.warning("database unreachable; not serving", reason=reason)

    async def start(self) -> None:
        await self.check_once()
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name="readiness")

    async def _run(self) -> None:
        while not await wait_until(self._stopping, self._interval):
            try:
                await self.check_once()
            except Exception:  # a broken probe must not end readiness reporting
                log.exception("readiness probe failed unexpectedly")

    async def stop(self) -> None:
        self._stopping.set()
        await stop_tasks([self._task], grace=self._timeout + 1)
        if self._in_flight is not None and not self._in_flight.done():
            self._in_flight.cancel()
