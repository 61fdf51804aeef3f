"""A customer's 360° timeline: every kind of event about them, newest first, paginated.

Each source is read newest first (at most offset + limit rows), the lists are merged and
the page sliced out: no source is read in full, whatever the customer's history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import staff as staff_service
from bot.domain.lifecycle_models import (
    CustomerMove,
    PoolEntry,
    SopRule,
    SopRun,
    StageChange,
    TagRemoval,
)
from bot.domain.models import (
    CustomerTag,
    Escalation,
    FollowRelation,
    Followup,
    Message,
    Note,
    Tag,
)
from bot.domain.sop import mass as sop_mass

PAGE_MAX = 50
SOURCE = {"kf": "微信客服", "archive": "会话存档", "sidebar": "侧边栏"}
WELCOME = {"queued": "已发送", "sent": "已发送", "taken": "已被其他欢迎语占用", "none": "无欢迎码",
           "skipped": "超时未发", "no_template": "无欢迎语模板", "expired": "已过期"}  # fmt: skip
SOP_STATUS = {"pending": "待执行", "task": "待员工发送", "sent": "员工已发送", "done": "已执行",
              "skipped": "已跳过"}  # fmt: skip
STARTED = "已发起（客户 24 小时内可拒绝）"
BY_KIND = {"rule": "关键词规则", "channel": "渠道", "wecom": "企业微信客户端", "system": "系统"}


@dataclass
class Entry:
    """One timeline entry; `by` is a userid (labelled later) or already words."""

    kind: str
    at: datetime
    title: str
    text: str = ""
    by: str = ""
    by_kind: str = "rep"
    extra: dict[str, Any] = field(default_factory=dict)


async def _rows(session: AsyncSession, query: Any, n: int) -> list[Any]:
    return list((await session.execute(query.limit(n))).all())


async def _entries(session: AsyncSession, euid: str, n: int) -> list[Entry]:
    out: list[Entry] = []
    for (m,) in await _rows(session, select(Message).where(Message.external_userid == euid)
                            .order_by(Message.created_at.desc()), n):  # fmt: skip
        kind = "message_in" if m.direction == "in" else "message_out"
        title = f"客户消息（{SOURCE.get(m.source, m.source)}）" if m.direction == "in" else "回复"
        out.append(Entry(kind, m.created_at, title, m.text, m.userid if kind == "message_out"
                         else "", "rep"))  # fmt: skip
    for (f,) in await _rows(session, select(FollowRelation).where(
            FollowRelation.external_userid == euid).order_by(FollowRelation.added_at.desc()), n):
        words = WELCOME.get(f.welcome, f.welcome or "—")
        out.append(Entry("welcome", f.added_at, "添加好友", f"欢迎语：{words}", f.userid))
        if f.ended_at is not None:
            what = {"lost": "客户删除了员工", "deleted": "员工删除了客户",
                    "transferred": "已转给其他员工"}.get(f.status, f.status)  # fmt: skip
            out.append(Entry("relation_end", f.ended_at, what, "", f.userid))
    for ct, name in await _rows(session, select(CustomerTag, Tag.name)
                                .join(Tag, Tag.id == CustomerTag.tag_id)
                                .where(CustomerTag.external_userid == euid)
                                .order_by(CustomerTag.created_at.desc()), n):  # fmt: skip
        out.append(Entry("tag_added", ct.created_at, "加标签", name, ct.added_by,
                         ct.added_by_kind))  # fmt: skip
    for (r,) in await _rows(session, select(TagRemoval).where(TagRemoval.external_userid == euid)
                            .order_by(TagRemoval.at.desc()), n):  # fmt: skip
        out.append(Entry("tag_removed", r.at, "去标签", r.tag_name, r.by, r.by_kind))
    return out


async def _lifecycle_entries(session: AsyncSession, euid: str, n: int) -> list[Entry]:
    out: list[Entry] = []
    for (c,) in await _rows(session, select(StageChange).where(StageChange.external_userid == euid)
                            .order_by(StageChange.at.desc()), n):  # fmt: skip
        out.append(Entry("stage", c.at, "阶段变更", f"{c.from_stage} → {c.to_stage}", c.by,
                         c.by_kind))  # fmt: skip
    for (note,) in await _rows(session, select(Note).where(Note.external_userid == euid)
                               .order_by(Note.created_at.desc()), n):  # fmt: skip
        out.append(Entry("note", note.created_at, "备注", note.text, note.userid))
    for (fu,) in await _rows(session, select(Followup).where(Followup.external_userid == euid)
                             .order_by(Followup.created_at.desc()), n):  # fmt: skip
        out.append(Entry("followup", fu.created_at, "跟进", fu.note, fu.userid))
        if fu.done_at is not None:
            out.append(Entry("followup_done", fu.done_at, "跟进完成", fu.note, fu.userid))
    for (e,) in await _rows(session, select(Escalation).where(Escalation.external_userid == euid)
                            .order_by(Escalation.created_at.desc()), n):  # fmt: skip
        out.append(Entry("escalation", e.created_at, "升级", e.reason, e.userid))
        if e.resolved_at is not None:
            out.append(Entry("escalation_resolved", e.resolved_at, "升级已处理", e.resolution,
                             e.assignee))  # fmt: skip
    for run, rule_name in await _rows(session, select(SopRun, SopRule.name)
                                      .join(SopRule, SopRule.id == SopRun.rule_id)
                                      .where(SopRun.external_userid == euid)
                                      .order_by(SopRun.due_at.desc()), n):  # fmt: skip
        at = run.done_at or run.due_at
        state = sop_mass.with_mass(SOP_STATUS.get(run.status, run.status), run)
        title = f"SOP「{rule_name}」第 {run.step + 1} 步 · {state}"
        out.append(Entry("sop", at, title, run.note, run.done_by or run.userid,
                         extra={"status": run.status, "run_id": run.id}))  # fmt: skip
    for (mv,) in await _rows(session, select(CustomerMove).where(
            CustomerMove.external_userid == euid).order_by(CustomerMove.at.desc()), n):
        what = {"claim": "从公海领取", "assign": "公海指派"}.get(mv.kind, "转接")
        status = STARTED if mv.status == "started" else f"失败：{mv.reason}"
        out.append(Entry("transfer", mv.at, what, f"{mv.from_userid or '—'} → {mv.to_userid}："
                         f"{status}", mv.by))  # fmt: skip
    for (p,) in await _rows(session, select(PoolEntry).where(PoolEntry.external_userid == euid)
                            .order_by(PoolEntry.entered_at.desc()), n):  # fmt: skip
        out.append(Entry("pool", p.entered_at, "移入公海", p.reason, p.entered_by,
                         p.entered_by_kind))  # fmt: skip
    return out


async def page(
    session: AsyncSession, external_userid: str, *, offset: int = 0, limit: int = 20
) -> tuple[list[Entry], bool]:
    """(entries newest first, whether more follow) for one page of the timeline."""
    limit = max(1, min(limit, PAGE_MAX))
    offset = max(0, offset)
    wanted = offset + limit + 1
    everything = await _entries(session, external_userid, wanted)
    everything += await _lifecycle_entries(session, external_userid, wanted)
    everything.sort(key=lambda e: e.at, reverse=True)
    chosen = everything[offset : offset + limit]
    await _label(session, chosen)
    return chosen, len(everything) > offset + limit


async def _label(session: AsyncSession, entries: list[Entry]) -> None:
    """Turn `by` into words: a member's name, the SOP rule's name, or what did it."""
    userids = [e.by for e in entries if e.by and e.by_kind in ("rep", "supervisor")]
    names = await staff_service.labels(session, userids)
    rule_ids = [e.by for e in entries if e.by_kind == "sop"]
    rules = dict((await session.execute(
        select(SopRule.id, SopRule.name).where(SopRule.id.in_(rule_ids)))).all())  # fmt: skip
    for entry in entries:
        if entry.by_kind in ("rep", "supervisor"):
            entry.by = names.get(entry.by, entry.by)
        elif entry.by_kind == "sop":
            entry.by = f"SOP「{rules.get(entry.by, entry.by)}」"
        else:
            entry.by = BY_KIND.get(entry.by_kind, entry.by_kind)
