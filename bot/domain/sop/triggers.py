"""Set-based run creation: one INSERT ... SELECT per (rule, step) finds every customer the
rule's trigger and conditions select and adds their runs, never loading customers as objects.

A run is unique per (rule, customer, occurrence, step); the occurrence names what fired (the
relation's add, the tag row, the stage change, the silence's start, ...), so the same event
never starts a rule twice, across passes, workers and restarts.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, and_, case, cast, exists, func, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import ColumnElement

from bot.core.settings import Settings
from bot.domain.lifecycle_models import CustomerStage, SopRule, SopRun, StageChange, TagRemoval
from bot.domain.models import Customer, CustomerTag, FollowRelation, Followup, Message, Tag

JSON = dict[str, Any]
ACTIVE = "active"
# Event-driven triggers look back this far (a stopped server catches up on restart; older
# events are history, not news).
LOOKBACK = timedelta(days=7)
# A customer's reply counts for the "replied" trigger this long after the SOP step.
REPLY_WINDOW = timedelta(days=30)


def _text(value: Any) -> ColumnElement[str]:
    return cast(value, String)


def _newest_relation() -> ColumnElement[bool]:
    """The row of FollowRelation is the customer's newest active relation (their rep)."""
    other = FollowRelation.__table__.alias("fr_newest")
    newest = (
        select(func.max(other.c.id))
        .where(other.c.external_userid == FollowRelation.external_userid,
               other.c.status == ACTIVE)  # fmt: skip
        .scalar_subquery()
    )
    return and_(FollowRelation.status == ACTIVE, FollowRelation.id == newest)


def _has_tag(name: str) -> ColumnElement[bool]:
    return exists(
        select(CustomerTag.id)
        .join(Tag, Tag.id == CustomerTag.tag_id)
        .where(CustomerTag.external_userid == FollowRelation.external_userid, Tag.name == name)
    )


def conditions(
    settings: Settings, conds: JSON, department_members: Collection[str] | None
) -> list[ColumnElement[bool]]:
    """WHERE clauses on FollowRelation for a rule's conditions."""
    out: list[ColumnElement[bool]] = [_has_tag(n) for n in conds.get("tags") or []]
    out += [~_has_tag(n) for n in conds.get("not_tags") or []]
    if conds.get("stages"):
        stage = (
            select(CustomerStage.stage)
            .where(CustomerStage.external_userid == FollowRelation.external_userid)
            .scalar_subquery()
        )
        out.append(func.coalesce(stage, settings.stage_names[0]).in_(conds["stages"]))
    if conds.get("channels"):
        out.append(FollowRelation.state.in_(conds["channels"]))
    if department_members is not None:
        out.append(FollowRelation.userid.in_(list(department_members)))
    return out


def candidates(rule: SopRule, now: datetime, settings: Settings) -> Select[str, str, str] | None:
    """SELECT (external_userid, userid, occurrence) of what fires the rule now, or None."""
    trig, since = rule.trigger, max(rule.created_at, now - LOOKBACK)
    kind = trig.get("kind")
    euid, rep = FollowRelation.external_userid, FollowRelation.userid
    if kind == "added":
        occ = literal("add:") + _text(FollowRelation.id) + ":" + _text(FollowRelation.added_at)
        return select(euid, rep, occ).where(
            FollowRelation.status == ACTIVE, FollowRelation.added_at >= since
        )
    if kind == "tag_added":
        return (
            select(euid, rep, literal("tag+:") + _text(CustomerTag.id))
            .join(CustomerTag, CustomerTag.external_userid == euid)
            .join(Tag, Tag.id == CustomerTag.tag_id)
            .where(_newest_relation(), Tag.name == trig["tag"], CustomerTag.created_at >= since)
        )
    if kind == "tag_removed":
        return (
            select(euid, rep, literal("tag-:") + _text(TagRemoval.id))
            .join(TagRemoval, TagRemoval.external_userid == euid)
            .where(_newest_relation(), TagRemoval.tag_name == trig["tag"],
                   TagRemoval.at >= since)  # fmt: skip
        )
    if kind == "stage_entered":
        return (
            select(euid, rep, literal("stage:") + _text(StageChange.id))
            .join(StageChange, StageChange.external_userid == euid)
            .where(_newest_relation(), StageChange.to_stage == trig["stage"],
                   StageChange.at >= since)  # fmt: skip
        )
    if kind == "silent":
        days = timedelta(days=int(trig["days"]))
        last = Customer.last_interaction_at
        return (
            select(euid, rep, literal("silent:") + _text(last))
            .join(Customer, Customer.external_userid == euid)
            # Silent now, and the silence began after the rule existed (no replay of history).
            .where(_newest_relation(), last < now - days, last >= rule.created_at - days)
        )
    if kind == "no_followup":
        return _no_followup(rule, now)
    if kind == "followup_overdue":
        return (
            select(Followup.external_userid, Followup.userid,
                   literal("overdue:") + _text(Followup.id))  # fmt: skip
            .join(FollowRelation, and_(FollowRelation.external_userid == Followup.external_userid,
                                       FollowRelation.userid == Followup.userid))  # fmt: skip
            .where(FollowRelation.status == ACTIVE, Followup.done_at.is_(None),
                   Followup.due_at <= now, Followup.due_at >= since)  # fmt: skip
        )
    if kind == "replied":
        return _replied(rule, now)
    return None


def _no_followup(rule: SopRule, now: datetime) -> Select[str, str, str]:
    """No follow-up since the later of: the last follow-up, the trigger tag's arrival (or the
    relation's start) — for `days` days."""
    trig = rule.trigger
    days = timedelta(days=int(trig["days"]))
    last_followup = (
        select(func.max(Followup.created_at))
        .where(Followup.external_userid == FollowRelation.external_userid)
        .scalar_subquery()
    )
    start: Any = FollowRelation.added_at
    tags = rule.conditions.get("tags") or []
    if tags:
        start = (
            select(func.max(CustomerTag.created_at))
            .join(Tag, Tag.id == CustomerTag.tag_id)
            .where(CustomerTag.external_userid == FollowRelation.external_userid,
                   Tag.name == tags[0])  # fmt: skip
            .scalar_subquery()
        )
    anchor = case((and_(last_followup.is_not(None), last_followup > start), last_followup),
                  else_=start)  # fmt: skip
    return select(
        FollowRelation.external_userid, FollowRelation.userid,
        literal("nofollow:") + _text(anchor),
    ).where(_newest_relation(), anchor < now - days, anchor >= rule.created_at - days)


def _replied(rule: SopRule, now: datetime) -> Select[str, str, str]:
    """Customers who wrote after a done step of the named rule (within REPLY_WINDOW)."""
    earlier = SopRun.__table__.alias("earlier")
    wrote = exists(
        select(Message.id).where(
            Message.external_userid == earlier.c.external_userid, Message.direction == "in",
            Message.created_at > earlier.c.done_at,
        )  # fmt: skip
    )
    return (
        select(earlier.c.external_userid, earlier.c.userid,
               literal("reply:") + _text(earlier.c.id))  # fmt: skip
        .join(FollowRelation, and_(FollowRelation.external_userid == earlier.c.external_userid,
                                   FollowRelation.userid == earlier.c.userid))  # fmt: skip
        .where(FollowRelation.status == ACTIVE, earlier.c.rule_id == rule.trigger["rule"],
               earlier.c.step == 0, earlier.c.status.in_(("done", "task", "sent")),
               earlier.c.done_at >= max(rule.created_at, now) - REPLY_WINDOW, wrote)  # fmt: skip
    )


async def start_runs(
    session: AsyncSession,
    settings: Settings,
    rule: SopRule,
    *,
    now: datetime,
    department_members: Collection[str] | None = None,
) -> int:
    """Add the runs of every (customer, occurrence) that fires the rule; how many rows."""
    base = candidates(rule, now, settings)
    if base is None or rule.paused:
        return 0
    base = base.where(*conditions(settings, rule.conditions, department_members))
    found = base.subquery("fired")
    euid, userid, occ = found.c[0], found.c[1], found.c[2]
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    total = 0
    for index, step in enumerate(rule.steps):
        due = now + timedelta(seconds=int(step.get("delay") or 0))
        seen = exists(
            select(SopRun.id).where(
                SopRun.rule_id == rule.id, SopRun.external_userid == euid,
                SopRun.occurrence == occ, SopRun.step == index,
            )  # fmt: skip
        )
        rows = select(
            literal(rule.id), euid, userid, occ, literal(index), literal(due, SopRun.due_at.type),
            literal("pending"), literal(""), literal(""), literal(now, SopRun.created_at.type),
        ).where(~seen)
        stmt = (
            insert(SopRun)
            .from_select(["rule_id", "external_userid", "userid", "occurrence", "step",
                          "due_at", "status", "note", "done_by", "created_at"], rows)  # fmt: skip
            .on_conflict_do_nothing()
        )
        result = await session.execute(stmt)
        total += int(getattr(result, "rowcount", 0) or 0)
    return total
