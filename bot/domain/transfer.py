"""Reassigning customers: 在职继承 (transfer_customer) and 离职继承 (resigned transfer).

A transfer is recorded as an outbox effect; the local relation changes only when WeCom later
says so (the contact events of the takeover), so a refusal changes nothing here. Whoever asked
gets the per-customer result as an app message once WeCom has answered.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.errors import UsageError
from bot.domain import customers as customer_service
from bot.domain import staff as staff_service
from bot.domain.models import Customer, FollowRelation
from bot.outbox import effects

logger = logging.getLogger(__name__)

# WeCom takes at most 100 external_userids per transfer call (wecom-reference §4).
PAGE = 100
# Known per-customer errcodes in a transfer answer, in words a supervisor can act on.
TRANSFER_ERRORS = {
    84061: "该员工与客户不是好友关系",
    40096: "客户 ID 无效",
    40100: "该客户已在转接流程中",
    40097: "该员工还没有离职，在职员工的客户需走在职转接",
}
# The next step in the app chat, where a command can take it (UserError.chat_hint).
CHAT_HINTS = {40097: "请用 /assign 转接"}
# WeCom allows each customer two 在职 transfers per 90 days; the exact errcode it uses for
# that limit is not pinned down here, so every unknown failure mentions the limit.
LIMIT_HINT = "企业微信限制：每位客户 90 天内最多被在职转接 2 次"


def describe_errcode(errcode: int, *, on_job: bool = True, chat: bool = False) -> str:
    """A supervisor-facing reason for a transfer failure (on_job: 在职继承, with its limit;
    chat: for the app chat, with the command that helps)."""
    known = TRANSFER_ERRORS.get(errcode)
    if known:
        hint = f"，{CHAT_HINTS[errcode]}" if chat and errcode in CHAT_HINTS else ""
        return f"{known}{hint}（errcode {errcode}）"
    if on_job:
        return f"errcode {errcode}；{LIMIT_HINT}"
    return f"企业微信拒绝（errcode {errcode}）"


def _reasons(on_job: bool) -> dict[str, str]:
    """The requester's words for the errcodes a transfer answer may carry."""
    reasons = {str(c): describe_errcode(c, on_job=on_job, chat=True) for c in TRANSFER_ERRORS}
    if on_job:
        reasons["default"] = LIMIT_HINT
    return reasons


async def _names(session: AsyncSession, ids: list[str]) -> dict[str, str]:
    rows = await session.execute(
        select(Customer.external_userid, Customer.name).where(Customer.external_userid.in_(ids))
    )
    return {euid: name or euid for euid, name in rows.all()}


async def assign_customer(
    session: AsyncSession,
    *,
    external_userid: str,
    takeover_userid: str,
    requested_by: str,
    handover_userid: str | None = None,
    msg: str | None = None,
) -> int | None:
    """Record the 在职继承 of one customer to takeover_userid; the effect's id."""
    handover = handover_userid or await customer_service.rep_of(session, external_userid)
    if handover is None:
        raise UsageError("这位客户目前没有跟进员工，无法转接")
    if handover == takeover_userid:
        raise UsageError("接手员工就是当前跟进员工")
    labels = await staff_service.labels(session, [takeover_userid])
    names = await _names(session, [external_userid])
    takeover = labels.get(takeover_userid, takeover_userid)
    payload = {
        "handover_userid": handover, "takeover_userid": takeover_userid,
        "external_userid": [external_userid], "msg": msg or "", "notify": requested_by,
        "names": names, "takeover_label": takeover, "reasons": _reasons(on_job=True),
        "what": f"把客户 {names.get(external_userid, external_userid)} 转给 {takeover}",
    }  # fmt: skip
    group = f"transfer:{external_userid}"
    effect_id = await effects.add(session, "transfer", payload, group=group)
    logger.info("transfer recorded customer=%s from=%s to=%s", external_userid, handover,
                takeover_userid)  # fmt: skip
    return effect_id


async def customers_of(session: AsyncSession, userid: str) -> list[str]:
    """external_userids with an active relation to userid, oldest first."""
    rows = await session.scalars(
        select(FollowRelation.external_userid)
        .where(FollowRelation.userid == userid, FollowRelation.status == customer_service.ACTIVE)
        .order_by(FollowRelation.added_at, FollowRelation.id)
    )
    return list(rows)


async def transfer_resigned(
    session: AsyncSession, *, handover_userid: str, takeover_userid: str, requested_by: str
) -> int:
    """Record the 离职继承 of every customer of a departed member, 100 per effect; how many."""
    if handover_userid == takeover_userid:
        raise UsageError("离职员工和接手员工不能是同一人")
    ids = await customers_of(session, handover_userid)
    labels = await staff_service.labels(session, [takeover_userid, handover_userid])
    if not ids:
        raise UsageError(f"{labels.get(handover_userid, handover_userid)} 名下没有客户")
    takeover = labels.get(takeover_userid, takeover_userid)
    for start in range(0, len(ids), PAGE):
        page = ids[start : start + PAGE]
        what = (f"离职继承：{labels.get(handover_userid, handover_userid)} 的第 "
                f"{start + 1}-{start + len(page)} 位客户转给 {takeover}")  # fmt: skip
        payload: Mapping[str, object] = {
            "handover_userid": handover_userid, "takeover_userid": takeover_userid,
            "external_userid": page, "notify": requested_by,
            "names": await _names(session, page), "takeover_label": takeover,
            "reasons": _reasons(on_job=False), "what": what,
        }  # fmt: skip
        await effects.add(session, "resigned_transfer", dict(payload),
                          group=f"resigned:{handover_userid}")  # fmt: skip
    logger.info("resigned transfer recorded from=%s to=%s customers=%d", handover_userid,
                takeover_userid, len(ids))  # fmt: skip
    return len(ids)
