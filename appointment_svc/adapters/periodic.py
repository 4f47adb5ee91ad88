"""Scheduled jobs of the appointment service (reminders, retention, erasure follow-up).

A job is `async def run_once() -> int` that does one bounded pass and returns how many rows it
touched. Jobs must be safe on several replicas at once: they claim their rows in the database
(`FOR UPDATE SKIP LOCKED`) inside the transaction that changes them, so two runners never touch
one row and a runner killed mid-pass leaves its claims to the next pass. This module only runs
them: every `interval` seconds (sooner after a full pass: `run_once` returning `batch_size` or
more means more may be waiting), a log line and metrics per pass that touched anything, failures
logged and retried on the next tick, a stop that always returns (mesh_common.lifecycle).
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from prometheus_client import Counter, Histogram

from mesh_common.lifecycle import stop_tasks, wait_until
from mesh_common.logging import get_logger

log = get_logger(__name__)

JOB_RUNS = Counter("booking_job_runs_total", "Scheduled job passes, by job and result (ok, failed)", ["job", "result"])
JOB_ROWS = Counter("booking_job_rows_total", "Rows a scheduled job touched (reminders queued, records anonymised...)", ["job"])
JOB_DURATION = Histogram("booking_job_duration_seconds", "Duration of one scheduled job pass", ["job"])


@dataclass(frozen=True)
class Job:
    name: str
    run_once: Callable[[], Awaitable[int]]
    interval: float
    # A pass touching at least this many rows is followed by another at once (None: never).
    batch_size: int | None = None


class JobRunner:
    def __init__(self, jobs: list[Job]):
        self._jobs = jobs
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task] = []

    async def start(self) -> None:
        if self._tasks:
            return
        self._stopping.clear()
        self._tasks = [asyncio.create_task(self._loop(job), name=f"job-{job.name}") for job in self._jobs]

    async def stop(self, grace: float = 5.0) -> None:
        self._stopping.set()
        await stop_tasks(self._tasks, grace=grace)
        self._tasks = []

    async def run_pass(self, job: Job) -> int | None:
        """One pass of `job`: the rows it touched, or None if it failed (logged and counted)."""
        started = time.monotonic()
        try:
            touched = await job.run_once()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - PostgreSQL or NATS trouble: the next tick retries
            JOB_RUNS.labels(job.name, "failed").inc()
            log.warning("scheduled job failed; retrying next tick", job=job.name, error=type(exc).__name__)
            return None
        JOB_RUNS.labels(job.name, "ok").inc()
        JOB_DURATION.labels(job.name).observe(time.monotonic() - started)
        if touched:
            JOB_ROWS.labels(job.name).inc(touched)
            log.info("scheduled job ran", job=job.name, rows=touched)
        return touched

    async def _loop(self, job: Job) -> None:
        while not self._stopping.is_set():
            touched = await self.run_pass(job)
            if job.batch_size is not None and touched is not None and touched >= job.batch_size:
                continue
            await wait_until(self._stopping, job.interval)
