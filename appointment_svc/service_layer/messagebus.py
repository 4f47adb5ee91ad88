"""Reactions to committed events: the handlers bootstrap.py registers, run after the commit."""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence

from mesh_common.logging import get_logger

log = get_logger(__name__)

Handler = Callable[[object], Awaitable[None]]


class MessageBus:
    def __init__(self, handlers: Mapping[type, Sequence[Handler]]):
        self._handlers = {kind: tuple(reactions) for kind, reactions in handlers.items()}

    async def handle(self, events: Iterable[object]) -> None:
        for event in events:
            for handler in self._handlers.get(type(event), ()):
                try:
                    await handler(event)
                except Exception as exc:  # noqa: BLE001 - the change is committed; a failed reaction must not undo the answer
                    log.warning("event handler failed", event_type=type(event).__name__, error=type(exc).__name__)
