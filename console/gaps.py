"""The dashboard's one-click answers to a knowledge gap: a new FAQ entry, or similar questions
of an existing entry (bot.domain.gaps); live in every worker after commit, audited."""

from __future__ import annotations

from aiohttp import web

from bot.core.errors import UsageError
from bot.core.keys import DB
from bot.domain import gaps, kb
from bot.domain.models import ROLE_SUPERVISOR
from console import auth, layout
from console.registry import route


def _miss_ids(raw: object) -> list[int]:
    parts = str(raw or "").split(",")
    if not parts or not all(p.strip().isdecimal() and len(p.strip()) < 12 for p in parts):
        raise UsageError("请选择一组未解答的问题")
    return [int(p) for p in parts]


@route(
    "POST",
    "/gaps/similar",
    role=ROLE_SUPERVISOR,
    form={"misses": "1", "entry_id": "order-ship-time"},
)
async def add_as_similar(request: web.Request) -> web.StreamResponse:
    """The cluster's questions become similar questions of the chosen entry."""
    viewer = auth.viewer_of(request)
    form = await request.post()
    entry_id = str(form.get("entry_id", "")).strip()[:64]
    if not entry_id:
        raise UsageError("请选择要归入的知识条目")
    async with request.config_dict[DB].begin() as db:
        change = await gaps.add_as_similar(
            db, miss_ids=_miss_ids(form.get("misses")), entry_id=entry_id, by=viewer.userid
        )
    await kb.apply_change(request.match_info.apps[0], change)
    raise layout.see_other("/console/", gap="similar")


@route(
    "POST",
    "/gaps/entry",
    role=ROLE_SUPERVISOR,
    form={"misses": "2", "question": "能开发票吗", "answer": "可以，下单时填写抬头即可。"},
)
async def make_entry(request: web.Request) -> web.StreamResponse:
    """The cluster becomes a new FAQ entry with the answer typed here."""
    viewer = auth.viewer_of(request)
    form = await request.post()
    async with request.config_dict[DB].begin() as db:
        _entry_id, change = await gaps.make_entry(
            db,
            miss_ids=_miss_ids(form.get("misses")),
            question=str(form.get("question", "")),
            answer=str(form.get("answer", "")),
            category=str(form.get("category", "")),
            by=viewer.userid,
        )
    await kb.apply_change(request.match_info.apps[0], change)
    raise layout.see_other("/console/", gap="entry")
