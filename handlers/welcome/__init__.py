"""A rep added a customer: the welcome first, then the customer, the relation and the channel."""

from __future__ import annotations

import logging

from bot.core.errors import WeComError
from bot.core.keys import CLOCK
from bot.domain import contacts
from bot.inbound.router import EventContext, EventRouter

logger = logging.getLogger(__name__)

router = EventRouter()

# externalcontact/get: the member and the customer are no longer contacts (wecom-reference).
NO_RELATION = 84061


@router.on("event", "change_external_contact", "add_external_contact")
async def customer_added(ctx: EventContext) -> None:
    """add_external_contact: welcome (20 s code), then fetch, store, tag and remark."""
    await _welcome_and_store(ctx)


@router.on("event", "change_external_contact", "add_half_external_contact")
async def customer_half_added(ctx: EventContext) -> None:
    """The customer added the rep without verification: the same flow applies."""
    await _welcome_and_store(ctx)


async def _welcome_and_store(ctx: EventContext) -> None:
    """Two transactions: the welcome commits first (the sender sends it at once); then, after
    the WeCom reads, the details, tags and remark commit with the inbox row's done mark.

    A replay repeats the first one harmlessly: the welcome effect is keyed on the WelcomeCode.
    """
    app, fields = ctx.app, ctx.event.fields
    userid, euid = fields.get("UserID", ""), fields.get("ExternalUserID", "")
    state = fields.get("State", "")
    async with ctx.transaction(final=False) as session:
        await contacts.record_add(session, fields, live=ctx.live, now=app[CLOCK].timestamp())
    await contacts.sync_rep(app, userid)
    try:
        detail = await contacts.fetch_contact(app, euid)
    except WeComError as exc:
        if exc.errcode != NO_RELATION:
            raise
        # The customer deleted the member before we could read them: nothing left to store,
        # and retrying cannot change that (the del_* event that follows records the loss).
        logger.info("customer gone before stored user=%s customer=%s", userid, euid)
        return
    source_tags = await contacts.prepare_channel(app, state)
    async with ctx.transaction() as session:
        await contacts.store_contact(session, userid=userid, external_userid=euid, detail=detail)
        await contacts.apply_channel(
            session, userid=userid, external_userid=euid, state=state, detail=detail,
            source_tags=source_tags,
        )  # fmt: skip
