"""Keeps the dev mesh serving: a component that dies is restarted, with backoff.

Every component keeps its port and its data across a restart, and every client of it (services,
Envoy, the relays) reconnects by itself, so restarting the one that died is enough; the rest go on
serving meanwhile (bookings work without Redis, events wait in the outbox without NATS, emails
wait in JetStream without SMTP). A component that keeps dying is a fault no restart will fix: after
`max_crashes` within `window` seconds the supervisor gives up with a sentence naming it.
"""
from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Protocol


class Component(Protocol):
    name: str

    def is_running(self) -> bool: ...

    def start(self) -> str: ...

    def kill(self) -> None: ...


@dataclass
class _Health:
    crashes: deque = field(default_factory=deque)
    restart_at: float | None = None


class CrashLoop(Exception):
    """A component died too often to keep restarting it."""


class Supervisor:
    def __init__(
        self,
        components: list[Component],
        say: Callable[[str, str], None],
        *,
        max_crashes: int = 5,
        window: float = 60.0,
        first_backoff: float = 0.5,
        max_backoff: float = 8.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._components = components
        self._say = say
        self._max_crashes = max_crashes
        self._window = window
        self._first_backoff = first_backoff
        self._max_backoff = max_backoff
        self._clock = clock
        self._health = {id(c): _Health() for c in components}
        self.restarts = 0

    def check(self) -> None:
        """One round: notice deaths, restart what is due. Raises CrashLoop to stop the mesh."""
        for component in self._components:
            health = self._health[id(component)]
            now = self._clock()
            if health.restart_at is None:
                if component.is_running():
                    continue
                self._crashed(component, health, now, "stopped unexpectedly")
            if now >= health.restart_at:
                self._restart(component, health)

    def _crashed(self, component: Component, health: _Health, now: float, what: str) -> None:
        health.crashes.append(now)
        while health.crashes and health.crashes[0] < now - self._window:
            health.crashes.popleft()
        if len(health.crashes) >= self._max_crashes:
            raise CrashLoop(
                f"{component.name} {what} {len(health.crashes)} times within {self._window:.0f} s; "
                "a restart will not fix it, so the mesh stops (its log says why)"
            )
        delay = min(self._max_backoff, self._first_backoff * 2 ** (len(health.crashes) - 1))
        health.restart_at = now + delay
        self._say(component.name, f"{what}; restarting in {delay:g} s")

    def _restart(self, component: Component, health: _Health) -> None:
        # What the dead process left behind (a postmaster's backends, sockets, pid files) goes first.
        component.kill()
        try:
            component.start()
        except Exception as exc:  # noqa: BLE001 - a failed restart is one more crash, with backoff
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            self._crashed(component, health, self._clock(), f"failed to restart ({reason})")
            return
        health.restart_at = None
        self.restarts += 1
        self._say(component.name, "restarted")
