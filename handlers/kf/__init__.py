"""微信客服: kf_msg_or_event says there is news; the kf flow pulls and answers it."""

from __future__ import annotations

from bot.inbound.router import EventContext, EventRouter
from handlers.kf import sync as kf

router = EventRouter()


@router.on("event", "kf_msg_or_event")
async def kf_news(ctx: EventContext) -> None:
    """Pull with the callback's token from the saved cursor and handle every message."""
    fields = ctx.event.fields
    await kf.sync(ctx, token=fields.get("Token", ""), open_kfid=fields.get("OpenKfId", ""))
