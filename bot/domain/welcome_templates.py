"""Welcome templates as admins edit them: validation in Chinese, create/update/delete, preview.

The preview renders with the very functions the welcome uses (welcome.render and
welcome.wecom_attachments), so what an admin sees is what a customer gets.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.errors import NotFoundError, UsageError
from bot.domain import welcome
from bot.domain.models import Channel, Department, Staff, WelcomeTemplate

SCOPE_LABEL = {"state": "渠道", "user": "成员", "department": "部门", "default": "默认"}
ID_MAX = 64
TARGET_MAX = 64
TEXT_MAX_BYTES = 4000  # send_welcome_msg's limit on text.content
_ID = re.compile(r"^[A-Za-z0-9_\-]+$")
# What the preview puts in the placeholders.
SAMPLE_CUSTOMER = "王小姐"
SAMPLE_REP = "张三"


@dataclass(frozen=True)
class TemplateInput:
    """A template as the form gives it."""

    id: str
    scope: str
    target: str
    text: str
    attachments: list[dict[str, Any]]
    enabled: bool


def parse_attachments(raw: str) -> list[dict[str, Any]]:
    """The attachments field: a JSON list of our attachment dicts (empty: none)."""
    if not raw.strip():
        return []
    try:
        items = json.loads(raw)
    except ValueError:
        raise UsageError("附件须是 JSON 列表，例如 [{\"kind\": \"link\", ...}]") from None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise UsageError("附件须是 JSON 列表，每一项是一个对象")
    return items


def check(data: TemplateInput) -> None:
    """Chinese errors for a template WeCom could not send or we could not pick."""
    if data.id and (len(data.id) > ID_MAX or not _ID.match(data.id)):
        raise UsageError(f"编号最多 {ID_MAX} 个英文字母、数字、- 或 _")
    if data.scope not in SCOPE_LABEL:
        raise UsageError("请选择适用范围：渠道 / 成员 / 部门 / 默认")
    if data.scope != "default" and not data.target.strip():
        raise UsageError(f"适用范围为「{SCOPE_LABEL[data.scope]}」时，请填写对象")
    if len(data.target) > TARGET_MAX:
        raise UsageError(f"对象最多 {TARGET_MAX} 个字符")
    if data.scope == "department" and not data.target.strip().isdigit():
        raise UsageError("部门请填数字 ID")
    if len(data.text.encode()) > TEXT_MAX_BYTES:
        raise UsageError(f"欢迎语正文最多 {TEXT_MAX_BYTES} 字节（约 1300 个汉字）")
    if len(data.attachments) > welcome.ATTACHMENTS_MAX:
        raise UsageError(f"附件最多 {welcome.ATTACHMENTS_MAX} 个")
    for n, item in enumerate(data.attachments, start=1):
        if welcome.wecom_attachment(item) is None:
            raise UsageError(f"第 {n} 个附件缺少必填项（链接要 title 和 url，图片要 pic_url，"
                             "小程序要 appid 和 page）")  # fmt: skip
    if not data.text.strip() and not data.attachments:
        raise UsageError("正文和附件不能都为空")


async def _check_target(session: AsyncSession, data: TemplateInput) -> None:
    if data.scope == "user" and await session.get(Staff, data.target) is None:
        raise UsageError(f"没有成员「{data.target}」")
    if data.scope == "state" and await session.get(Channel, data.target) is None:
        raise UsageError(f"没有渠道「{data.target}」")


async def save(session: AsyncSession, data: TemplateInput, *, existing: str | None) -> str:
    """Create (existing None) or update a template; its id."""
    check(data)
    await _check_target(session, data)
    if existing is None:
        template_id = data.id or f"tpl-{secrets.token_hex(4)}"
        if await session.get(WelcomeTemplate, template_id) is not None:
            raise UsageError(f"编号「{template_id}」已被使用")
        template = WelcomeTemplate(id=template_id)
        session.add(template)
    else:
        found = await session.get(WelcomeTemplate, existing)
        if found is None:
            raise NotFoundError("找不到这条欢迎语")
        template = found
    template.scope = data.scope
    template.target = "" if data.scope == "default" else data.target.strip()
    template.text, template.attachments, template.enabled = (
        data.text, data.attachments, data.enabled
    )
    await session.flush()
    return template.id


async def delete(session: AsyncSession, template_id: str) -> None:
    """Delete a template no channel uses (a channel's own template is changed there first)."""
    template = await session.get(WelcomeTemplate, template_id)
    if template is None:
        raise NotFoundError("找不到这条欢迎语")
    users = list(await session.scalars(
        select(Channel.name).where(Channel.template_id == template_id)))  # fmt: skip
    if users:
        raise UsageError(f"渠道「{'、'.join(users)}」正在使用这条欢迎语，请先在渠道里换掉")
    await session.delete(template)
    await session.flush()


async def preview(
    session: AsyncSession, *, text: str, attachments: list[dict[str, Any]], scope: str,
    target: str,
) -> dict[str, Any]:  # fmt: skip
    """The message a customer would get: sample customer, the target rep's name if known."""
    rep = SAMPLE_REP
    if scope == "user" and target:
        staff = await session.get(Staff, target)
        rep = staff.name if staff and staff.name else rep
    return {
        "text": welcome.render(text, customer=SAMPLE_CUSTOMER, rep=rep),
        "attachments": welcome.wecom_attachments(attachments),
        "customer": SAMPLE_CUSTOMER,
        "rep": rep,
    }


async def target_labels(session: AsyncSession) -> dict[str, dict[str, str]]:
    """Names for targets: scope -> target -> label (channels, members, departments)."""
    channels = {c.state: c.name for c in await session.scalars(select(Channel))}
    members = {s.userid: s.name or s.userid for s in await session.scalars(select(Staff))}
    departments = {str(d.id): d.name for d in await session.scalars(select(Department))}
    return {"state": channels, "user": members, "department": departments}
