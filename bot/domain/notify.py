"""App messages to staff (escalation alerts, the group robot, notices), recorded as effects."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.settings import Settings
from bot.domain import customers
from bot.domain import staff as staff_service
from bot.domain.models import ROLE_ADMIN, ROLE_SUPERVISOR, Escalation, Staff
from bot.outbox import effects, kinds

logger = logging.getLogger(__name__)

_LEADS = (ROLE_SUPERVISOR, ROLE_ADMIN)


async def supervisors_of(
    session: AsyncSession, userid: str, *, settings: Settings | None = None
) -> list[str]:
    """Supervisors/admins sharing a department with userid; else the configured supervisors."""
    found = sorted(
        s.userid
        for s in await staff_service.colleagues(session, userid)
        if s.role in _LEADS and s.userid != userid
    )
    if found:
        return found
    if settings is not None:
        configured = settings.supervisor_ids or settings.admin_ids
        return sorted(u for u in configured if u != userid)
    rows = await session.scalars(
        select(Staff.userid).where(Staff.role == ROLE_SUPERVISOR, Staff.active.is_(True))
    )
    return sorted(u for u in rows if u != userid)


def escalation_text(escalation: Escalation, customer_name: str, rep: str = "") -> str:
    """The alert supervisors get (rep: the rep's label, e.g. "张三（zhangsan）")."""
    return (
        f"【客户升级 #{escalation.id}】\n"
        f"客户：{customer_name}\n"
        f"员工：{rep or escalation.userid or '（规则）'}\n"
        f"原因：{escalation.reason}\n"
        f"处理：/resolve {escalation.id} 说明"
    )


async def notify_escalation(
    session: AsyncSession, settings: Settings, escalation: Escalation, *, now: datetime
) -> list[str]:
    """Record the alert to the rep's supervisors (and the group robot) in this transaction.

    Once per escalation (keyed); sets notified_at. Returns who is alerted (userids).
    """
    if escalation.notified_at is not None:
        return []
    name = await customers.customer_label(session, escalation.external_userid)
    reps = await staff_service.labels(session, [escalation.userid])
    text = escalation_text(escalation, name, reps.get(escalation.userid, ""))
    leads = await supervisors_of(session, escalation.userid, settings=settings)
    if leads:
        await notify(session, leads, text, key=f"escalation:{escalation.id}:alert")
    else:
        logger.warning("escalation %s: no supervisor to notify", escalation.id)
    if settings.robot_webhook_key:
        body = {"msgtype": "text", "text": {"content": text}}
        await effects.add(
            session, "robot", {"body": body}, key=f"escalation:{escalation.id}:robot"
        )
    escalation.notified_at = now
    await session.flush()
    return leads


async def notify(
    session: AsyncSession, to: str | Sequence[str], text: str, *, key: str | None = None
) -> bool:
    """Record an app text message to members (WeCom drops a resend of it within 4 h);
    False when there is nobody to tell or the key was recorded before."""
    users = [to] if isinstance(to, str) else list(to)
    if not users:
        return False
    payload = kinds.message_payload(users, text)
    return await effects.add(session, "message", payload, key=key) is not None
