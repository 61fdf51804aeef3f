"""Shared by the knowledge pages: form reading and publishing a change to every worker."""

from __future__ import annotations

import logging

from aiohttp import web

from bot.core.errors import UsageError
from bot.domain import kb

logger = logging.getLogger(__name__)


def root_app(request: web.Request) -> web.Application:
    """The server's main application (the console is a sub-app of it)."""
    return request.match_info.apps[0]


async def form_of(request: web.Request) -> dict[str, str]:
    """The text fields of a posted form (or JSON body), as strings."""
    if request.content_type == "application/json":
        data = await request.json()
        if not isinstance(data, dict):
            return {}
        return {str(k): str(v) for k, v in data.items() if isinstance(v, str | int | bool)}
    posted = await request.post()
    return {k: v for k, v in posted.items() if isinstance(v, str)}


async def publish(request: web.Request) -> None:
    """After a committed KB change: rebuild here and tell every other worker to reload.

    Awaited before the answer, so this worker serves the change from the next message on;
    the others follow the broadcast within moments (or their revision poll, without Redis).
    """
    await kb.reload(root_app(request))


async def require_confirm(request: web.Request) -> None:
    """A delete form's "confirm" box must be ticked (the browser asks too; this is the rule)."""
    if (await form_of(request)).get("confirm") != "1":
        raise UsageError("请先勾选确认删除")
