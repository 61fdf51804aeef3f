"""Sandbox mode only: the customer-chat simulator page, the OAuth stand-in and their helpers.

Everything here answers 404 unless settings.sandbox. Sign-in still goes through a real OAuth
code issued by the fake WeCom and the normal callback; nothing here creates a session.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import urlencode

import aiohttp
import aiohttp_jinja2
from aiohttp import web
from sqlalchemy import select

from bot.archive import process as archive_process
from bot.core.errors import UsageError
from bot.core.keys import HTTP, SETTINGS, WECOM
from bot.domain import customers
from bot.domain import staff as staff_service
from bot.domain.models import Customer, FollowRelation, Staff
from sidebar import auth, jssdk, views

logger = logging.getLogger(__name__)

routes = web.RouteTableDef()

# The demo's 微信客服 account (bot.sandbox.demo seeds the fake with it).
KF_ACCOUNT = "wksandboxkf0001"
DEFAULT_REPS = ("zhangsan", "lisi", "wangwu")
# Who the sign-in stand-in offers: the reps, then the demo supervisor and admin (bot.sandbox.demo).
SIGN_IN_AS = (*DEFAULT_REPS, "lead1", "boss")


def _sandbox_only(request: web.Request) -> None:
    """404 unless this server is a sandbox."""
    if not request.config_dict[SETTINGS].sandbox:
        raise web.HTTPNotFound()


async def _fake_call(request: web.Request, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST to one of the fake WeCom's control routes (on this server or standalone)."""
    url = request.config_dict[SETTINGS].api_base + path
    try:
        async with request.config_dict[HTTP].post(url, json=body) as resp:
            answer: dict[str, Any] = await resp.json(content_type=None)
            status = resp.status
    except (aiohttp.ClientError, ValueError) as exc:
        raise UsageError(f"模拟企业微信不可用：{type(exc).__name__}") from None
    if status != 200:
        raise UsageError(f"模拟操作失败：{answer.get('error', status)}")
    return answer


_USERID_RE = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


def _userid(value: object) -> str:
    userid = str(value or "").strip()
    if not _USERID_RE.fullmatch(userid):
        raise UsageError("员工账号只能包含字母、数字、下划线")
    return userid


async def _members(request: web.Request) -> list[dict[str, str]]:
    """The members to act as, with names and roles once the address book is mirrored: the
    demo's in their usual order, then anyone else known here."""
    async with views.transaction(request) as db:
        rows = {s.userid: s for s in await db.scalars(select(Staff).where(Staff.active.is_(True)))}
    order = [*SIGN_IN_AS, *sorted(set(rows) - set(SIGN_IN_AS))]
    settings = request.config_dict[SETTINGS]
    out = []
    for userid in order:
        row = rows.get(userid)
        role = row.role if row else staff_service.seeded_role(settings, userid)
        out.append({
            "userid": userid, "name": row.name if row else "",
            "role": staff_service.ROLE_LABEL.get(role, role),
            "label": staff_service.label_of(row, userid),
        })  # fmt: skip
    return out


@routes.get("/sandbox/")
async def sandbox_slash(request: web.Request) -> web.Response:
    """/sidebar/sandbox/ is the same page."""
    _sandbox_only(request)
    raise web.HTTPFound("/sidebar/sandbox")


@routes.get("/sandbox")
async def sandbox_page(request: web.Request) -> web.Response:
    """The simulator: a customer chat on the left, the sidebar on the right."""
    _sandbox_only(request)
    context = {"kf_account": KF_ACCOUNT, "members": await _members(request)}
    return aiohttp_jinja2.render_template("sidebar/sandbox.html", request, context)


@routes.get("/sandbox/authorize")
async def authorize(request: web.Request) -> web.Response:
    """Stand-in for open.weixin.qq.com: the fake issues a real OAuth code for the chosen rep."""
    _sandbox_only(request)
    redirect_uri = request.query.get("redirect_uri", "")
    state = request.query.get("state", "")
    if not redirect_uri.startswith(auth.base_url(request) + "/sidebar/auth/callback"):
        raise UsageError("redirect_uri 不是本站的回调地址")
    chosen = request.query.get("as", "")
    if not chosen:
        query = {k: v for k, v in request.query.items() if k != "as"}
        context = {"members": await _members(request), "query": query}
        return aiohttp_jinja2.render_template("sidebar/pick.html", request, context)
    code = (await _fake_call(request, "/_oauth", {"userid": _userid(chosen)}))["code"]
    raise web.HTTPFound(f"{redirect_uri}?{urlencode({'code': code, 'state': state})}")


@routes.get("/sandbox/api/state")
async def state(request: web.Request) -> web.Response:
    """Known members, and the customers one of them may open (a supervisor: the team's)."""
    _sandbox_only(request)
    userid = request.query.get("userid", "")
    staff = await _members(request)
    async with views.transaction(request) as db:
        viewer = await db.get(Staff, userid)
        team = await staff_service.team_userids(db, viewer) if viewer else {userid}
        query = (
            select(Customer.external_userid, Customer.name, FollowRelation.state)
            .join(FollowRelation, FollowRelation.external_userid == Customer.external_userid)
            .where(FollowRelation.status == customers.ACTIVE)
            .order_by(FollowRelation.userid != userid, FollowRelation.added_at.desc())
        )
        if team is not None:
            query = query.where(FollowRelation.userid.in_(team))
        found: dict[str, dict[str, str]] = {}
        for euid, name, channel in await db.execute(query):
            found.setdefault(euid, {"external_userid": euid, "name": name, "state": channel})
    body = {"staff": staff, "customers": list(found.values()), "kf_account": KF_ACCOUNT}
    return web.json_response(body)


async def _post_event(request: web.Request, event: dict[str, Any]) -> dict[str, Any]:
    """Have the fake deliver a callback to this server, the way WeCom would."""
    return await _fake_call(request, "/_events", event)


@routes.post("/sandbox/api/customers")
async def add_customer(request: web.Request) -> web.Response:
    """A new customer adds the rep (add_external_contact with a welcome code)."""
    _sandbox_only(request)
    data = await views.read_json(request)
    userid = _userid(data.get("userid"))
    name = views.text_field(data, "name", "客户昵称", max_len=60)
    channel = views.text_field(data, "state", "渠道", max_len=30, required=False)
    event = {"type": "add_external_contact", "userid": userid, "name": name, "state": channel}
    answer = await _post_event(request, event)
    euid = str(answer["external_userid"])
    async with views.transaction(request) as db:
        if await db.get(Customer, euid) is None:  # the welcome flow normally stores it
            await customers.upsert_customer(db, external_userid=euid, name=name)
            await customers.upsert_follow(db, userid=userid, external_userid=euid, state=channel)
    return web.json_response({"external_userid": euid, "name": name}, status=201)


@routes.post("/sandbox/api/groups")
async def add_group(request: web.Request) -> web.Response:
    """A customer group owned by the rep with some of their customers (group_chat_tools)."""
    _sandbox_only(request)
    data = await views.read_json(request)
    userid = _userid(data.get("userid"))
    name = views.text_field(data, "name", "群名", max_len=30)
    members = data.get("customers")
    if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
        raise UsageError("请选择群里的客户")
    body = {"name": name, "owner": userid, "customers": members}
    chat_id = (await _fake_call(request, "/_groups", body))["chat_id"]
    return web.json_response({"chat_id": chat_id, "name": name}, status=201)


@routes.post("/sandbox/api/archive")
async def archive_message(request: web.Request) -> web.Response:
    """A 1:1 chat text, the customer's (or with "from": "rep", the rep's): it goes into the fake
    chat archive, sealed as WeCom seals it, and the archive puller brings it through the
    pipeline (woken now rather than at its next poll)."""
    _sandbox_only(request)
    data = await views.read_json(request)
    userid = _userid(data.get("userid"))
    euid = views.text_field(data, "external_userid", "客户", max_len=64)
    text = views.text_field(data, "text", "消息", max_len=2000)
    sender, receiver = (userid, euid) if data.get("from") == "rep" else (euid, userid)
    answer = await _fake_call(request, "/_archive/messages",
                              {"from": sender, "to": receiver, "text": text})  # fmt: skip
    puller = request.config_dict.get(archive_process.PULLER)
    if puller is not None:  # else another worker holds the lease and pulls at its next poll
        puller.wakeup.set()
    return web.json_response({"msgid": answer["msgid"], "seq": answer["seq"]})


@routes.post("/sandbox/api/jssdk-check")
async def jssdk_check(request: web.Request) -> web.Response:
    """The stand-in's wx.config/agentConfig: verify the signature as WeCom's client would."""
    _sandbox_only(request)
    data = await views.read_json(request)
    kind = data.get("kind")
    wecom = request.config_dict[WECOM]
    ticket = await (wecom.get_agent_ticket() if kind == "agent" else wecom.get_jsapi_ticket())
    url = str(data.get("url") or "")
    expected = jssdk.signature(ticket, str(data.get("nonceStr")), str(data.get("timestamp")), url)
    ok = expected == data.get("signature")
    name = "agentConfig" if kind == "agent" else "config"
    return web.json_response({"ok": ok, "errMsg": f"{name}:{'ok' if ok else 'invalid signature'}"})
