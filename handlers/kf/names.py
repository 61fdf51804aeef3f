"""Names for a kf handover notice: the kf account's and the customer's (read before the
transaction, cached), so a servicer reads "林小姐（花漾肌研客服）", not two opaque ids."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiohttp import web

from bot.core.errors import WeComError
from bot.core.keys import CACHE, DB, WECOM
from bot.domain.models import Customer

logger = logging.getLogger(__name__)

# Account names change rarely; a customer without a nickname is not asked about again soon.
ACCOUNT_TTL = 3600.0
ASKED_TTL = 24 * 3600.0
PAGE = 100


def account_key(open_kfid: str) -> str:
    """Cache key of a kf account's name."""
    return f"kf:account-name:{open_kfid}"


def asked_key(external_userid: str) -> str:
    """Cache key marking a kf customer whose nickname was asked for lately."""
    return f"kf:customer-asked:{external_userid}"


@dataclass(frozen=True)
class Names:
    """The kf account's name and the customer's nickname ("" when unknown)."""

    account: str = ""
    customer: str = ""


async def read(app: web.Application, open_kfid: str, external_userid: str) -> Names:
    """Both names; WeCom is asked only for what is neither stored nor cached (never raises)."""
    return Names(await _account(app, open_kfid), await _nickname(app, external_userid))


async def _account(app: web.Application, open_kfid: str) -> str:
    cache = app[CACHE]
    cached = await cache.get(account_key(open_kfid))
    if cached is not None:
        return cached
    try:
        offset = 0
        while True:
            page = (await app[WECOM].kf_account_list(offset, PAGE)).get("account_list") or []
            for account in page:
                name = str(account.get("name") or "")
                await cache.set(account_key(str(account.get("open_kfid"))), name, ACCOUNT_TTL)
            if len(page) < PAGE:
                break
            offset += PAGE
    except WeComError as exc:
        logger.info("kf account names unavailable errcode=%s", exc.errcode)
        return ""
    return await cache.get(account_key(open_kfid)) or ""


async def _nickname(app: web.Application, external_userid: str) -> str:
    async with app[DB]() as session:
        customer = await session.get(Customer, external_userid)
    if customer is not None and customer.name:
        return customer.name
    if not await app[CACHE].set_nx(asked_key(external_userid), "1", ASKED_TTL):
        return ""
    try:
        data = await app[WECOM].kf_customer_batchget([external_userid])
    except WeComError as exc:
        logger.info("kf customer name unavailable customer=%s errcode=%s", external_userid,
                    exc.errcode)  # fmt: skip
        return ""
    for item in data.get("customer_list") or []:
        if item.get("external_userid") == external_userid:
            return str(item.get("nickname") or "")
    return ""
