"""change_external_tag events: re-mirror WeCom's tag library."""

from __future__ import annotations

import logging

from bot.core.keys import WECOM
from bot.domain import tags
from bot.inbound.router import EventContext, EventRouter, Reply

router = EventRouter()
logger = logging.getLogger(__name__)


@router.on("event", "change_external_tag")
async def tags_changed(ctx: EventContext) -> Reply | None:
    """Any tag or group create/update/delete/shuffle: sync the whole library (it is small)."""
    library = await ctx.app[WECOM].get_corp_tag_list()
    async with ctx.transaction() as session:
        count = await tags.sync_corp_tags(session, library)
    logger.info("corp tags synced after %s: %d live", ctx.event.change_type, count)
    return None
