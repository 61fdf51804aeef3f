"""Page 4, channels (渠道活码): 联系我 QR codes with their tags and welcome, adds and losses.

Creating calls add_contact_way first and records its answer after (nothing is stored when
WeCom refuses); editing and deleting record update/del_contact_way effects with the change
(bot/domain/contact_ways.py documents the guarantees).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.core.errors import NotFoundError, UsageError, WeComError
from bot.core.keys import DB, WECOM
from bot.domain import audit, contact_ways
from bot.domain.models import ROLE_ADMIN, Channel, Staff, WelcomeTemplate
from bot.domain.ops_models import ContactWay
from console import auth, channels_qr, forms, layout
from console.registry import Nav, route

PAGE = "/console/channels"
SAMPLE_FORM = {"state": "csrf-check", "name": "表单检查", "type": "1", "users": "rep2",
               "tags": "测试", "tag_group": "来源", "skip_verify": "1"}  # fmt: skip


def _input(form: Any, state: str | None = None) -> contact_ways.ChannelInput:
    kind = forms.text(form, "type", 2)
    return contact_ways.ChannelInput(
        state=state if state is not None else forms.text(form, "state", 64),
        name=forms.text(form, "name", 200),
        type=int(kind) if kind in ("1", "2") else 0,
        users=tuple(forms.values(form, "users")),
        skip_verify=forms.checked(form, "skip_verify"),
        tags=tuple(contact_ways.split_words(forms.text(form, "tags", 400))),
        tag_group=forms.text(form, "tag_group", 64) or "来源",
        template_id=forms.text(form, "template_id", 64) or None,
        remark=forms.text(form, "remark", 200),
    )


async def _choices(db: Any) -> dict[str, Any]:
    staff = (await db.scalars(select(Staff).where(Staff.active.is_(True))
                              .order_by(Staff.userid))).all()  # fmt: skip
    templates = (await db.scalars(select(WelcomeTemplate).order_by(WelcomeTemplate.id))).all()
    return {"staff": staff, "templates": templates}


@route("GET", "/channels", role=ROLE_ADMIN, nav=Nav("渠道活码", 40))
async def channels_page(request: web.Request) -> web.StreamResponse:
    """Every channel with its QR state and figures, and the form for a new one."""
    async with request.config_dict[DB]() as db:
        rows = (await db.scalars(select(Channel).order_by(Channel.state))).all()
        ways = {w.state: w for w in await db.scalars(select(ContactWay))}
        figures = await contact_ways.figures(db, [c.state for c in rows])
        context = await _choices(db)
    saved = request.query.get("saved", "")
    context |= {"channels": rows, "ways": ways, "figures": figures,
                "empty": contact_ways.Figures(), "saved": saved}  # fmt: skip
    return layout.render(request, "console/channels.html", context)


@route("POST", "/channels", role=ROLE_ADMIN, form=SAMPLE_FORM)
async def create(request: web.Request) -> web.StreamResponse:
    """Call add_contact_way, then record the channel with the config WeCom made."""
    viewer = auth.viewer_of(request)
    data = _input(await request.post())
    sm = request.config_dict[DB]
    async with sm() as db:
        await contact_ways.check_new(db, data)
    try:
        answer = await request.config_dict[WECOM].add_contact_way(
            type=data.type, state=data.state, users=data.users, skip_verify=data.skip_verify,
            remark=data.name[:30],
        )  # fmt: skip
    except WeComError as exc:
        async with sm.begin() as db:
            await audit.record(db, actor=viewer.userid, action="console:channel.create",
                               target=data.state, detail={"errcode": exc.errcode},
                               result="refused")  # fmt: skip
        raise forms.refused(exc, "生成二维码") from None
    config_id, qr_code = str(answer.get("config_id") or ""), str(answer.get("qr_code") or "")
    detail = {"name": data.name, "type": data.type, "users": list(data.users),
              "tags": list(data.tags), "template": data.template_id, "config_id": config_id}
    try:
        async with sm.begin() as db:
            await contact_ways.record_created(db, data, config_id=config_id, qr_code=qr_code,
                                              actor=viewer.userid)  # fmt: skip
            await audit.record(db, actor=viewer.userid, action="console:channel.create",
                               target=data.state, detail=detail)  # fmt: skip
    except IntegrityError:
        # Another admin took the state meanwhile: the config WeCom just made is deleted again.
        async with sm.begin() as db:
            await contact_ways.forget_orphan(db, config_id)
        raise UsageError(f"渠道标识「{data.state}」刚被占用，请换一个") from None
    raise layout.see_other(f"{PAGE}/{data.state}", saved="created")


async def _channel(db: Any, state: str) -> tuple[Channel, ContactWay | None]:
    channel = await db.get(Channel, state)
    if channel is None:
        raise NotFoundError("找不到这个渠道")
    return channel, await db.get(ContactWay, state)


@route("GET", "/channels/{state}", role=ROLE_ADMIN, sample={"state": "xsschan"})
async def channel_page(request: web.Request) -> web.StreamResponse:
    """One channel: its QR code (show, download), edit, delete, and adds/losses per rep."""
    state = request.match_info["state"]
    async with request.config_dict[DB]() as db:
        channel, way = await _channel(db, state)
        figures = (await contact_ways.figures(db, [state])).get(state, contact_ways.Figures())
        per_rep = await contact_ways.by_rep(db, state)
        pending = await contact_ways.sync_state(db, state)
        context = await _choices(db)
        names = {s.userid: s.name for s in await db.scalars(select(Staff))}
    # The image is read outside any transaction: WeCom's CDN (or the fake) may be slow.
    qr = await channels_qr.data_url(request, way.qr_code) if way and way.qr_code else None
    context |= {"channel": channel, "way": way, "figures": figures, "per_rep": per_rep,
                "pending": pending, "names": names, "qr": qr,
                "saved": request.query.get("saved", "")}  # fmt: skip
    return layout.render(request, "console/channel.html", context)


@route("POST", "/channels/{state}", role=ROLE_ADMIN, sample={"state": "xsschan"},
       form={k: v for k, v in SAMPLE_FORM.items() if k != "state"})  # fmt: skip
async def update(request: web.Request) -> web.StreamResponse:
    """Save a channel; its QR's members and verification follow through the outbox."""
    viewer = auth.viewer_of(request)
    state = request.match_info["state"]
    data = _input(await request.post(), state)
    async with request.config_dict[DB].begin() as db:
        channel, way = await _channel(db, state)
        before = {"name": channel.name, "tags": list(channel.tags),
                  "template": channel.template_id, "users": list(way.users) if way else []}
        if way is not None and data.type == 0:
            data = dataclasses.replace(data, type=way.type)  # the form shows it fixed
        wecom = await contact_ways.update(db, data)
        await audit.record(db, actor=viewer.userid, action="console:channel.update", target=state,
                           detail={"before": before, "after": {
                               "name": data.name, "tags": list(data.tags),
                               "template": data.template_id, "users": list(data.users)},
                               "wecom": wecom})  # fmt: skip
    raise layout.see_other(f"{PAGE}/{state}", saved="updated")


@route("POST", "/channels/{state}/delete", role=ROLE_ADMIN, sample={"state": "oldchan"},
       form={"confirm": "1"})  # fmt: skip
async def delete(request: web.Request) -> web.StreamResponse:
    """Delete a channel and (through the outbox) its QR code in WeCom."""
    viewer = auth.viewer_of(request)
    state = request.match_info["state"]
    forms.require_confirm(await request.post())
    async with request.config_dict[DB].begin() as db:
        config_id = await contact_ways.delete(db, state)
        await audit.record(db, actor=viewer.userid, action="console:channel.delete", target=state,
                           detail={"config_id": config_id})  # fmt: skip
    raise layout.see_other(PAGE, saved="deleted")
