"""Route decrypted callbacks to handlers by (MsgType, Event, ChangeType)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.keys import CLOCK, DB, INSTANCE
from bot.inbound import inbox
from bot.outbox import effects, kinds
from bot.wecom.events import Event


@dataclass(frozen=True)
class Reply:
    """What a handler wants said back to the member who wrote to the app."""

    text: str
    markdown: bool = False


class ReplyChannel:
    """How the reply reaches the member who wrote: in the HTTP answer while WeCom still waits
    for it (passive), else as an app message through the outbox."""

    def __init__(self, *, passive_open: bool = True) -> None:
        self.passive_open = passive_open
        self.reply: Reply | None = None

    def close(self) -> None:
        """The HTTP answer went without a reply (the budget ran out, or a replay)."""
        self.passive_open = False

    def give(self, reply: Reply) -> bool:
        """Hand the reply to the waiting HTTP answer; False when it no longer waits."""
        if not self.passive_open:
            return False
        self.reply = reply
        return True


class RetryLaterError(Exception):
    """The handler cannot proceed now (a lock held elsewhere): the row is retried in `after`
    seconds. Not a failure: no back-off, and it is never parked for it."""

    def __init__(self, message: str, *, after: float = 5.0) -> None:
        super().__init__(message)
        self.after = after


class ClaimLostError(Exception):
    """Our claim on the inbox row ended (another worker took it over); our writes roll back."""


@dataclass(eq=False)
class EventContext:
    """Everything a handler gets: the event, the app, and its inbox row's transaction.

    `live` is False when the event is replayed from the inbox after a crash or failure; a
    handler may then skip time-bound work (a welcome code is only valid for 20 s).

    A handler that writes does so in `transaction()`: the final one also marks the inbox row
    done, in the same commit, so a replay after a crash finds the row done or none of its
    writes. Earlier transactions (final=False) must be idempotent: a replay runs them again.
    Set `reply` inside the final transaction; if the member no longer waits for a passive
    answer it is recorded there as an outbox message, atomically with the rest.
    """

    event: Event
    app: web.Application
    live: bool = True
    item_id: int | None = None
    attempt: int = 1
    channel: ReplyChannel = field(default_factory=ReplyChannel)
    reply: Reply | None = None
    finished: bool = False
    reply_recorded: bool = False

    @asynccontextmanager
    async def transaction(self, *, final: bool = True) -> AsyncIterator[AsyncSession]:
        """One transaction; the final one carries the inbox row's done mark (and the reply)."""
        async with self.app[DB].begin() as session:
            yield session
            if final:
                await self._finish(session)
        if final:
            self.finished = True

    async def _finish(self, session: AsyncSession) -> None:
        if self.item_id is not None:
            marked = await inbox.mark_done(
                session, self.item_id, instance=self.app[INSTANCE], attempt=self.attempt,
                now=self.app[CLOCK].now(),
            )  # fmt: skip
            if not marked:
                raise ClaimLostError(f"inbox row {self.item_id} was taken over")
        if self.reply is not None and not self.channel.passive_open:
            await self.record_reply(session, self.reply)

    async def record_reply(self, session: AsyncSession, reply: Reply) -> None:
        """Record the reply as an app message to the member (once per inbox row)."""
        to = self.event.from_user
        if not to or to == "sys" or self.reply_recorded:
            return
        msgtype = "markdown" if reply.markdown else "text"
        payload = kinds.message_payload(to, reply.text, msgtype=msgtype, dedup=False)
        key = f"reply:{self.item_id}" if self.item_id is not None else None
        await effects.add(session, "message", payload, key=key)
        self.reply_recorded = True


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
