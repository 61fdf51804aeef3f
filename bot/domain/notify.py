"""App messages to staff: escalation alerts (plus the group robot) and best-effort notices."""

from __future__ import annotations

import logging

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.db import utcnow
from bot.core.errors import WeComError
from bot.core.settings import Settings
from bot.domain import staff as staff_service
from bot.domain.models import ROLE_ADMIN, ROLE_SUPERVISOR, Customer, Escalation, Staff
from bot.wecom.client import WeComClient

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


async def claim_escalation(session: AsyncSession, escalation_id: int) -> bool:
    """Set notified_at if still unset; True when this caller won the right to notify."""
    result = await session.execute(
        update(Escalation)
        .where(Escalation.id == escalation_id, Escalation.notified_at.is_(None))
        .values(notified_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


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
    session: AsyncSession, wecom: WeComClient, settings: Settings, escalation: Escalation
) -> None:
    """Alert the rep's supervisors (and the group robot) once; sets notified_at."""
    if not await claim_escalation(session, escalation.id):
        return  # another worker (or an earlier call) already sent it
    await session.refresh(escalation, ["notified_at"])
    await deliver_escalation(session, wecom, settings, escalation)


async def deliver_escalation(
    session: AsyncSession, wecom: WeComClient, settings: Settings, escalation: Escalation
) -> None:
    """Send the alert for an escalation already claimed (no claim, no de-duplication)."""
    customer = await session.get(Customer, escalation.external_userid)
    name = (customer.name if customer else "") or escalation.external_userid
    reps = await staff_service.labels(session, [escalation.userid])
    text = escalation_text(escalation, name, reps.get(escalation.userid, ""))
    leads = await supervisors_of(session, escalation.userid, settings=settings)
    if leads:
        await notify_user(wecom, leads, text)
    else:
        logger.warning("escalation %s: no supervisor to notify", escalation.id)
    if settings.robot_webhook_key:
        payload = {"msgtype": "text", "text": {"content": text}}
        try:
            await wecom.webhook_send(settings.robot_webhook_key, payload)
        except WeComError as exc:
            logger.error(
                "robot webhook failed escalation=%s errcode=%s", escalation.id, exc.errcode
            )


async def notify_user(wecom: WeComClient, userid: str | list[str], text: str) -> None:
    """Send an app text message; a WeCom failure is logged, never raised."""
    try:
        await wecom.send_text(userid, text)
    except WeComError as exc:
        logger.error("notify failed to=%s errcode=%s path=%s", userid, exc.errcode, exc.path)
