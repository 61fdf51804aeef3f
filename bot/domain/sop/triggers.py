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

from sqlalchemy import String, and_, case, cast, exists, func, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import ColumnElement

from bot.core.settings import Settings
from bot.domain.lifecycle_models import CustomerStage, SopRule, SopRun, StageChange, TagRemoval
from bot.domain.models import Customer, CustomerTag, FollowRelation, Followup, Message, Tag

JSON = dict[str, Any]
ACTIVE = "active"
# follow_user add_way: 201 shared by a colleague, 202 assigned by an admin (继承).
HANDED_OVER = (201, 202)
# Event-driven triggers look back this far (a stopped server catches up on restart; older
# events are history, not news).
LOOKBACK = timedelta(days=7)
# A customer's reply counts for the "replied" trigger this long after the SOP step.
REPLY_WINDOW = timedelta(days=30)
# Each pass looks at what happened since the previous one less this margin: a row stamped
# just before a pass but committed just after it is still seen (the unique key makes the
# overlap harmless).
MARGIN = timedelta(minutes=10)


def since_of(rule: SopRule, now: datetime) -> datetime:
    """Events at or after this time may fire the rule in this pass."""
    since = max(rule.created_at, now - LOOKBACK)
    if rule.scanned_at is not None:
        since = max(since, rule.scanned_at - MARGIN)
    return since


def became_since(rule: SopRule) -> datetime:
    """A state reached (silent, idle) at or after this time is news to this pass."""
    if rule.scanned_at is None:
        return rule.created_at
    return max(rule.created_at, rule.scanned_at - MARGIN)


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
    trig, since = rule.trigger, since_of(rule, now)
    kind = trig.get("kind")
    euid, rep = FollowRelation.external_userid, FollowRelation.userid
    if kind == "added":
        occ = literal("add:") + _text(FollowRelation.id) + ":" + _text(FollowRelation.added_at)
        return select(euid, rep, occ).where(
            FollowRelation.status == ACTIVE, FollowRelation.added_at >= since,
            # A customer handed over by 继承 or shared by a colleague is not a new customer.
            FollowRelation.add_way.not_in(HANDED_OVER),
        )  # fmt: skip
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
            # Silent now, and the silence began since the last pass (and after the rule existed:
            # no replay of history); an index range on last_interaction_at.
            .where(last < now - days, last >= became_since(rule) - days, _newest_relation())
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
    relation's start) — for `days` days, reached since the last pass."""
    trig = rule.trigger
    days = timedelta(days=int(trig["days"]))
    low, high = became_since(rule) - days, now - days
    last_followup = (
        select(func.max(Followup.created_at))
        .where(Followup.external_userid == FollowRelation.external_userid)
        .scalar_subquery()
    )
    tags = rule.conditions.get("tags") or []
    # The anchor is the later of two times, so it lies in [low, high) only if one of them
    # does: two index ranges find the few candidates before the anchor is computed.
    touched = select(Followup.external_userid).where(Followup.created_at >= low,
                                                     Followup.created_at < high)  # fmt: skip
    start: Any = FollowRelation.added_at
    if tags:
        tagged = (
            select(CustomerTag.created_at)
            .join(Tag, Tag.id == CustomerTag.tag_id)
            .where(CustomerTag.external_userid == FollowRelation.external_userid,
                   Tag.name == tags[0])  # fmt: skip
        )
        start = tagged.with_only_columns(func.max(CustomerTag.created_at)).scalar_subquery()
        began = (
            select(CustomerTag.external_userid)
            .join(Tag, Tag.id == CustomerTag.tag_id)
            .where(Tag.name == tags[0], CustomerTag.created_at >= low,
                   CustomerTag.created_at < high)  # fmt: skip
        )
    else:
        began = select(FollowRelation.external_userid).where(
            FollowRelation.added_at >= low, FollowRelation.added_at < high
        )
    anchor = case((and_(last_followup.is_not(None), last_followup > start), last_followup),
                  else_=start)  # fmt: skip
    candidates = touched.union(began).subquery()
    return select(
        FollowRelation.external_userid, FollowRelation.userid,
        literal("nofollow:") + _text(anchor),
    ).where(
        FollowRelation.external_userid.in_(select(candidates.c[0])),
        _newest_relation(), anchor < high, anchor >= low,
    )  # fmt: skip


def _replied(rule: SopRule, now: datetime) -> Select[str, str, str]:
    """Customers who wrote (since the last pass) after a step of the named rule was carried
    out (within REPLY_WINDOW)."""
    earlier = SopRun.__table__.alias("earlier")
    since = since_of(rule, now)
    wrote = exists(
        select(Message.id).where(
            Message.external_userid == earlier.c.external_userid, Message.direction == "in",
            Message.created_at > earlier.c.done_at, Message.created_at >= since,
        )  # fmt: skip
    )
    return (
        select(earlier.c.external_userid, earlier.c.userid,
               literal("reply:") + _text(earlier.c.id))  # fmt: skip
        .join(FollowRelation, and_(FollowRelation.external_userid == earlier.c.external_userid,
                                   FollowRelation.userid == earlier.c.userid))  # fmt: skip
        .where(FollowRelation.status == ACTIVE, earlier.c.rule_id == rule.trigger["rule"],
               earlier.c.step == 0, earlier.c.status.in_(("done", "task", "sent", "mass")),
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
    # Committed with the runs: a pass that fails leaves the mark, and the next one looks again.
    await session.execute(
        update(SopRule).where(SopRule.id == rule.id).values(scanned_at=now)
        .execution_options(synchronize_session=False)
    )  # fmt: skip
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
