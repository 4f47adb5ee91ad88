"""Background loops that always stop, and stops that always return.

Python 3.11's `asyncio.wait_for` can swallow a cancellation that races the awaited thing
completing (gh-86296, fixed in 3.12), so a loop built on it can ignore `Task.cancel()` and a
`stop()` awaiting that task hangs for ever. The rules here: a loop checks a stop flag; every wait
inside it is bounded by `asyncio.timeout()`, which re-raises an outside cancellation; and a stop
waits a bounded time for the loop to notice the flag, then cancels, then gives up waiting.
"""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable

from mesh_common.logging import get_logger

log = get_logger(__name__)


async def wait_until(event: asyncio.Event, seconds: float) -> bool:
    """Wait until `event` is set or `seconds` pass; True if it was set."""
    if event.is_set():
        return True
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(max(0.0, seconds)):
            await event.wait()
    return event.is_set()


async def stop_tasks(tasks: Iterable[asyncio.Task], *, grace: float, cancel_wait: float = 5.0) -> list[asyncio.Task]:
    """Give `tasks` `grace` seconds to finish on their own (their stop flag is already set), then
    cancel the rest and wait at most `cancel_wait` for them. Returns the tasks that still run:
    they are logged and abandoned rather than hanging the caller. Errors of the tasks are logged."""
    tasks = [task for task in tasks if task is not None]
    if not tasks:
        return []
    _, pending = await asyncio.wait(tasks, timeout=grace)
    for task in pending:
        task.cancel()
    if pending:
        _, pending = await asyncio.wait(pending, timeout=cancel_wait)
    for task in tasks:
        if task.done() and not task.cancelled() and task.exception() is not None:
            log.error("background task failed", task=task.get_name(), error=type(task.exception()).__name__)
    for task in pending:
        log.error("background task ignored its cancellation; abandoned", task=task.get_name())
    return list(pending)
