"""Request helpers and the JSON shapes the page reads (all text is escaped by the page)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.errors import UsageError
from bot.core.keys import DB, SETTINGS
from bot.domain import timeparse
from bot.domain.models import Customer, Escalation, FollowRelation, Followup, Note, Tag

JSONDict = dict[str, Any]
# Past this a request body is not a sidebar form; refuse before parsing.
MAX_BODY = 64 * 1024
CUSTOMER_TYPES = {1: "微信用户", 2: "企业微信用户"}
# A due time is a short phrase ("下周一上午10点") or an ISO timestamp.
DUE_MAX = 40


def root_app(request: web.Request) -> web.Application:
    """The server's main application (the sidebar is a sub-app of it)."""
    return request.match_info.apps[0]


@asynccontextmanager
async def transaction(request: web.Request) -> AsyncIterator[AsyncSession]:
    """One database transaction for this request, committed when the block succeeds."""
    async with request.config_dict[DB].begin() as session:
        yield session


async def read_json(request: web.Request) -> JSONDict:
    """The request's JSON object; UsageError for anything else."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise UsageError("内容太长了")
    raw = await request.read()
    if len(raw) > MAX_BODY:
        raise UsageError("内容太长了")
    try:
        data = json.loads(raw or b"{}")
    except (ValueError, RecursionError):  # RecursionError: nesting thousands deep
        raise UsageError("请求格式不对（需要 JSON）") from None
    if not isinstance(data, dict):
        raise UsageError("请求格式不对（需要 JSON 对象）")
    if _has_nul(data):  # PostgreSQL text cannot hold U+0000: refused here, not a 500 later
        raise UsageError("内容含有无效字符（U+0000），请删除后再试")
    return data


def _has_nul(data: object) -> bool:
    """Whether any string in a parsed JSON value (keys included) contains U+0000."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def text_field(
    data: JSONDict, name: str, label: str, *, max_len: int, required: bool = True
) -> str:
    """A trimmed string field; UsageError naming the field in Chinese when it is wrong."""
    value = data.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise UsageError(f"{label}必须是文字")
    value = value.strip()
    if required and not value:
        raise UsageError(f"请填写{label}")
    if len(value) > max_len:
        raise UsageError(f"{label}最多 {max_len} 个字")
    return value


def names_field(data: JSONDict, name: str) -> list[str]:
    """A list of tag names (possibly empty)."""
    value = data.get(name) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UsageError("标签必须是文字列表")
    if len(value) > 50:
        raise UsageError("一次最多 50 个标签")
    return [v.strip() for v in value if v.strip()]


def describe_due(value: datetime, timezone: str, now: datetime) -> str:
    """ "明天 10:00" or "11月30日(周六) 14:00", in the business timezone."""
    return timeparse.describe(value, now=now, tz=ZoneInfo(timezone))


def iso(value: datetime | None) -> str | None:
    """UTC ISO-8601 (the page shows it in the rep's local time)."""
    return value.astimezone(UTC).isoformat() if value else None


def timezone_of(request: web.Request) -> str:
    """The configured business timezone."""
    return request.config_dict[SETTINGS].timezone


def customer_json(
    customer: Customer, follow: FollowRelation | None, reps: list[str], channel: str = ""
) -> JSONDict:
    """The customer header (channel: the 活码 channel's name, else its state)."""
    return {
        "external_userid": customer.external_userid,
        "name": customer.name,
        "remark": follow.remark if follow else "",
        "avatar": customer.avatar,
        "corp_name": customer.corp_name,
        "type": CUSTOMER_TYPES.get(customer.type, ""),
        "channel": channel or (follow.state if follow else ""),
        "special_care": customer.special_care,
        "caution": customer.caution,
        "followed_by": reps,
        "last_interaction_at": iso(customer.last_interaction_at),
    }


def tag_json(tag: Tag) -> JSONDict:
    """One tag chip."""
    return {"id": tag.id, "name": tag.name, "group_name": tag.group_name}


def note_json(note: Note) -> JSONDict:
    """One note."""
    return {"id": note.id, "text": note.text, "userid": note.userid, "at": iso(note.created_at)}


def followup_json(followup: Followup, now: datetime) -> JSONDict:
    """One follow-up, with whether it is overdue."""
    overdue = followup.done_at is None and followup.due_at is not None and followup.due_at <= now
    return {
        "id": followup.id,
        "note": followup.note,
        "userid": followup.userid,
        "due_at": iso(followup.due_at),
        "done_at": iso(followup.done_at),
        "overdue": overdue,
    }


def escalation_json(escalation: Escalation) -> JSONDict:
    """One escalation."""
    return {
        "id": escalation.id,
        "reason": escalation.reason,
        "status": escalation.status,
        "userid": escalation.userid,
        "at": iso(escalation.created_at),
    }
