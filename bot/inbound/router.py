"""Route decrypted callbacks to handlers by (MsgType, Event, ChangeType)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiohttp import web

    from bot.wecom.events import Event


@dataclass(frozen=True)
class Reply:
    """What a handler wants said back to the member who wrote to the app."""

    text: str
    markdown: bool = False


@dataclass(frozen=True)
class EventContext:
    """Everything a handler gets: the event, the app (for resources) and whether it is live.

    `live` is False when the event is replayed from the inbox after a crash or failure; a
    handler may then skip time-bound work (a welcome code is only valid for 20 s).
    """

    event: Event
    app: web.Application
    live: bool = True


Handler = Callable[[EventContext], Awaitable[Reply | None]]
_Key = tuple[str, str, str]


class EventRouter:
    """Handlers registered per (MsgType, Event, ChangeType); the most specific one wins."""

    def __init__(self) -> None:
        self._handlers: dict[_Key, Handler] = {}

    def on(
        self, msg_type: str, event: str = "*", change_type: str = "*"
    ) -> Callable[[Handler], Handler]:
        """Register the decorated handler; "*" matches anything."""

        def register(handler: Handler) -> Handler:
            self._add((msg_type, event, change_type), handler)
            return handler

        return register

    def _add(self, key: _Key, handler: Handler) -> None:
        if key in self._handlers:
            raise ValueError(f"two handlers for {key}")
        self._handlers[key] = handler

    def include(self, *routers: EventRouter) -> None:
        """Merge other routers' handlers; a duplicate registration fails at start-up."""
        for router in routers:
            for key, handler in router._handlers.items():
                self._add(key, handler)

    def resolve(self, event: Event) -> Handler | None:
        """The handler for this event, or None when nothing is registered for it."""
        candidates = [
            (event.msg_type, event.event, event.change_type),
            (event.msg_type, event.event, "*"),
            (event.msg_type, "*", "*"),
        ]
        for key in candidates:
            handler = self._handlers.get(key)
            if handler is not None:
                return handler
        return None
