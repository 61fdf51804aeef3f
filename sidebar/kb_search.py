"""The rep's own search of the KB for a customer message, remembered so a pick can cite it.

When the suggestions miss, the rep searches the KB and answers with what they found. Such a
pick may become a proposal for the message's wording (sidebar/assist.py /api/feedback) only
if this server showed that entry to this rep in a search for that message: every search is
recorded in the shared cache (Redis across workers), keyed by rep and message, for
SEARCH_TTL. An entry id the server never returned to them is refused like any other.
"""

from __future__ import annotations

import json
import logging

from aiohttp import web

from bot.core.cache import Cache
from bot.core.errors import NotFoundError, UsageError
from bot.core.keys import CACHE, KB
from bot.domain import customers, shapes
from bot.domain.models import Message
from sidebar import auth, views

logger = logging.getLogger(__name__)

routes = web.RouteTableDef()

QUERY_MAX = 50
RESULTS = 8
# How long a search vouches for a pick of its results: the time a rep takes to answer.
SEARCH_TTL = 30 * 60
# Entries remembered per rep and message (several searches add up).
REMEMBERED_MAX = 200
# Message ids are a 32-bit column on PostgreSQL: anything larger is no message (and made
# SQLite raise OverflowError, a 500).
MESSAGE_ID_MAX = 2**31 - 1


def search_key(userid: str, message_id: int) -> str:
    """The cache key of the entries `userid` was shown when searching for `message_id`."""
    return f"sidebar:kb_search:{message_id}:{userid}"


async def searched(cache: Cache, userid: str, message_id: int) -> frozenset[str]:
    """Entry ids this rep got in KB searches for this message (recent ones only)."""
    raw = await cache.get(search_key(userid, message_id))
    if not raw:
        return frozenset()
    try:
        ids = json.loads(raw)
    except ValueError:
        return frozenset()
    return frozenset(str(i) for i in ids) if isinstance(ids, list) else frozenset()


async def remember(cache: Cache, userid: str, message_id: int, entry_ids: list[str]) -> None:
    """Add these entry ids to what this rep was shown for this message."""
    if not entry_ids:
        return
    before = await searched(cache, userid, message_id)
    ids = list(dict.fromkeys([*entry_ids, *sorted(before)]))[:REMEMBERED_MAX]
    await cache.set(search_key(userid, message_id), json.dumps(ids), SEARCH_TTL)


def _message_id(raw: str) -> int:
    """The message searched for: a positive integer, or a clear 400."""
    if not (raw.isascii() and raw.isdigit()) or not 0 < int(raw) <= MESSAGE_ID_MAX:
        raise UsageError("请指明要为哪条客户消息搜索答案（message_id）")
    return int(raw)


@routes.get("/api/kb/search")
async def search(request: web.Request) -> web.Response:
    """Search the KB for an answer to one customer message the rep may see."""
    query = request.query.get("q", "").strip()[:QUERY_MAX]
    message_id = _message_id(request.query.get("message_id", ""))
    if not query:
        raise UsageError("请输入要搜索的关键词")
    async with views.transaction(request) as db:
        staff = await auth.viewer(db, request)
        message = await db.get(Message, message_id)
        if message is None or message.direction != "in":
            raise NotFoundError("没有这条客户消息")
        await customers.require_customer_access(db, staff, message.external_userid)
    matches = request.config_dict[KB].snapshot.index.find(query, limit=RESULTS)
    items = [shapes.suggestion_json(m) for m in matches]
    await remember(
        request.config_dict[CACHE], staff.userid, message_id, [i["entry_id"] for i in items]
    )
    logger.info("kb search by=%s message=%s results=%d", staff.userid, message_id, len(items))
    return web.json_response({"message_id": message_id, "items": items})
