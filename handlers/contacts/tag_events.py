"""change_external_tag events: re-mirror WeCom's tag library."""

from __future__ import annotations

import logging

from bot.core.keys import WECOM
from bot.domain import tag_library, tags
from bot.inbound.router import EventContext, EventRouter, Reply

router = EventRouter()
logger = logging.getLogger(__name__)


@router.on("event", "change_external_tag")
async def tags_changed(ctx: EventContext) -> Reply | None:
    """Any create/update/delete/shuffle of a tag or a tag group: mirror the whole library.

    The library is small (at most 3000 tags) and one read is simpler and safer than applying
    each change: events can arrive out of order, and a shuffle carries only a group id. Tags
    that WeCom deleted come off customers here too, as they do in WeCom.
    """
    library = await ctx.app[WECOM].get_corp_tag_list()
    async with ctx.transaction() as session:
        count = await tags.sync_corp_tags(session, library)
        untagged = await tag_library.drop_deleted_from_customers(session)
    fields = ctx.event.fields
    logger.info("corp tags synced after %s %s %s: %d live, %d customer tags dropped",
                fields.get("TagType", "?"), ctx.event.change_type, fields.get("Id", ""),
                count, untagged)  # fmt: skip
    return None
