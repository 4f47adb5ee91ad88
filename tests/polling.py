"""Waiting for something asynchronous to become true: poll with a deadline, never a bare sleep."""
from __future__ import annotations

import asyncio
import time


async def eventually(check, timeout: float = 10.0, interval: float = 0.02, message: str = "condition"):
    """Poll `check` (sync or async) until it returns a truthy value, which is returned."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{message} not met within {timeout}s")
        await asyncio.sleep(interval)


def wait_for(check, timeout: float = 30, what: str = "condition"):
    """The same for synchronous tests."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)
