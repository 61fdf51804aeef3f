"""A member's plain text to the app gets a short hint (commands come in their own module)."""

from __future__ import annotations

from bot.router import EventContext, EventRouter, Reply

router = EventRouter()

HINT = "你好，我是客服助手。发送 /help 查看可用的命令。"


@router.on("text")
async def text_hint(ctx: EventContext) -> Reply:
    """Any text: point the member at /help."""
    return Reply(HINT)
