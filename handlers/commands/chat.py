"""A member's text to the app: a slash-command runs, anything else gets a hint to /help."""

from __future__ import annotations

from bot.inbound.router import EventContext, EventRouter, Reply
from handlers import commands
from handlers.commands import dispatch as command_dispatch

router = EventRouter()

HINT = "你好，我是客服助手。发送 /help 查看可用的命令。"
# Built once at import: a duplicate command name fails at start-up, not on first use.
REGISTRY = commands.registry()


@router.on("text")
async def text_command(ctx: EventContext) -> Reply:
    """ "/..." or "／..." runs a command; other text points the member at /help."""
    text = ctx.event.text
    if not command_dispatch.is_command(text):
        return Reply(HINT)
    return await command_dispatch.handle(ctx, REGISTRY, text)
