"""Customer groups (group_chat_tools): the group and which of its members are customers."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.core.errors import NotFoundError, PermissionDeniedError, UsageError, WeComError
from bot.core.keys import WECOM
from bot.domain import customers
from bot.domain import staff as staff_service
from bot.domain.models import Customer
from sidebar import auth, views

routes = web.RouteTableDef()

# groupchat/get member types (wecom-reference §3.2 / externalcontact/groupchat/get).
MEMBER_INTERNAL = 1
MEMBER_EXTERNAL = 2
# groupchat/get errcodes meaning "no such group for this app" (40050 invalid chatid; 701008
# not a customer group the app can see; both as reported by SDKs, unverified).
UNKNOWN_CHAT_ERRCODES = frozenset({40050, 701008})


def _customer_entry(member: dict[str, Any], customer: Customer | None, allowed: bool) -> Any:
    name = (customer.name if customer else "") or str(member.get("name") or "")
    return {
        "external_userid": str(member.get("userid", "")),
        "name": name,
        "group_nickname": str(member.get("group_nickname") or ""),
        "known": customer is not None,
        "accessible": allowed,
        "special_care": bool(customer and customer.special_care),
    }


@routes.get("/api/groups/{chat_id}")
async def group_chat(request: web.Request) -> web.Response:
    """The group's name and owner, and its customer members (those the viewer may open)."""
    chat_id = request.match_info["chat_id"]
    if not chat_id or len(chat_id) > 128:
        raise UsageError("群聊编号不对")
    try:
        data = await request.config_dict[WECOM].groupchat_get(chat_id)
    except WeComError as exc:
        if exc.errcode in UNKNOWN_CHAT_ERRCODES:
            raise NotFoundError("找不到这个客户群（可能已解散，或不是本企业的客户群）") from None
        raise
    group: dict[str, Any] = data.get("group_chat") or {}
    members: list[dict[str, Any]] = list(group.get("member_list") or [])
    internal = {str(m.get("userid")) for m in members if m.get("type") == MEMBER_INTERNAL}
    internal.add(str(group.get("owner") or ""))
    out = []
    async with views.transaction(request) as db:
        staff = await auth.viewer(db, request)
        team = await staff_service.team_userids(db, staff)
        if team is not None and not team & internal:
            raise PermissionDeniedError("你不在这个群里，不能查看")
        for member in members:
            if member.get("type") != MEMBER_EXTERNAL:
                continue
            euid = str(member.get("userid", ""))
            customer = await db.get(Customer, euid)
            allowed = customer is not None and await customers.can_access(db, staff, euid)
            out.append(_customer_entry(member, customer, allowed))
    body = {
        "chat_id": chat_id,
        "name": str(group.get("name") or "未命名群聊"),
        "owner": str(group.get("owner") or ""),
        "member_count": len(members),
        "notice": str(group.get("notice") or ""),
    }
    return web.json_response({"group": body, "customers": out})
