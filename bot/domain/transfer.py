"""Reassigning customers: 在职继承 (transfer_customer) and 离职继承 (resigned transfer)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.errors import UsageError, UserError, WeComError
from bot.domain import customers as customer_service
from bot.domain.models import FollowRelation
from bot.wecom.client import JSON, WeComClient

logger = logging.getLogger(__name__)

# WeCom takes at most 100 external_userids per transfer call (wecom-reference §4).
PAGE = 100
# Known per-customer errcodes in a transfer answer, in words a supervisor can act on.
TRANSFER_ERRORS = {
    84061: "该员工与客户不是好友关系",
    40096: "客户 ID 无效",
    40100: "该客户已在转接流程中",
    40097: "该员工还没有离职，在职员工的客户请用 /assign 转接",
}
# WeCom allows each customer two 在职 transfers per 90 days; the exact errcode it uses for
# that limit is not pinned down here, so every unknown failure mentions the limit.
LIMIT_HINT = "企业微信限制：每位客户 90 天内最多被在职转接 2 次"


class TransferFailedError(UserError):
    """WeCom refused a transfer in part or in whole; the message says what happened."""

    code = "wecom_error"


@dataclass
class TransferResult:
    """Per-customer outcome of a transfer: started ids and (id, errcode) failures."""

    started: list[str] = field(default_factory=list)
    failed: list[tuple[str, int]] = field(default_factory=list)
    # A whole call WeCom refused (paging stops there); the pages before it stand.
    error: WeComError | None = None
    pending: int = 0


def _collect(result: TransferResult, data: JSON, asked: Sequence[str]) -> None:
    answered = {
        str(c.get("external_userid")): int(c.get("errcode") or 0)
        for c in data.get("customer") or []
    }
    for euid in asked:
        code = answered.get(euid, 0)
        if code == 0:
            result.started.append(euid)
        else:
            result.failed.append((euid, code))


def describe_errcode(errcode: int, *, on_job: bool = True) -> str:
    """A supervisor-facing reason for a transfer failure (on_job: 在职继承, with its limit)."""
    known = TRANSFER_ERRORS.get(errcode)
    if known:
        return f"{known}（errcode {errcode}）"
    if on_job:
        return f"errcode {errcode}；{LIMIT_HINT}"
    return f"企业微信拒绝（errcode {errcode}）"


async def assign_customer(
    session: AsyncSession,
    wecom: WeComClient,
    *,
    external_userid: str,
    takeover_userid: str,
    handover_userid: str | None = None,
    msg: str | None = None,
) -> TransferResult:
    """在职继承 of one customer from its current rep (or handover_userid) to takeover_userid."""
    handover = handover_userid or await customer_service.rep_of(session, external_userid)
    if handover is None:
        raise UsageError("这位客户目前没有跟进员工，无法转接")
    if handover == takeover_userid:
        raise UsageError("接手员工就是当前跟进员工")
    data = await wecom.transfer_customer(handover, takeover_userid, [external_userid], msg)
    result = TransferResult()
    _collect(result, data, [external_userid])
    logger.info(
        "transfer customer=%s from=%s to=%s started=%d",
        external_userid, handover, takeover_userid, len(result.started),
    )  # fmt: skip
    return result


async def customers_of(session: AsyncSession, userid: str) -> list[str]:
    """external_userids with an active relation to userid, oldest first."""
    rows = await session.scalars(
        select(FollowRelation.external_userid)
        .where(FollowRelation.userid == userid, FollowRelation.status == customer_service.ACTIVE)
        .order_by(FollowRelation.added_at, FollowRelation.id)
    )
    return list(rows)


async def transfer_resigned(
    session: AsyncSession, wecom: WeComClient, *, handover_userid: str, takeover_userid: str
) -> TransferResult:
    """离职继承 of every customer of a departed member, 100 per call."""
    if handover_userid == takeover_userid:
        raise UsageError("离职员工和接手员工不能是同一人")
    ids = await customers_of(session, handover_userid)
    if not ids:
        raise UsageError(f"{handover_userid} 名下没有客户")
    result = TransferResult()
    for start in range(0, len(ids), PAGE):
        page = ids[start : start + PAGE]
        try:
            data = await wecom.resigned_transfer_customer(handover_userid, takeover_userid, page)
        except WeComError as exc:
            result.error, result.pending = exc, len(ids) - start
            break
        _collect(result, data, page)
    logger.info(
        "resigned transfer from=%s to=%s started=%d failed=%d pending=%d",
        handover_userid, takeover_userid, len(result.started), len(result.failed),
        result.pending,
    )  # fmt: skip
    return result
