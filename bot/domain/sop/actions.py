"""What one due SOP step does, inside the transaction that marks it done.

Every outward effect is an outbox row keyed on the run and the action's place in the step
("sop:<run id>:<n>"), recorded together with the run's status: a crash before the commit
leaves the step pending with no effect, after it both are there; never one without the other.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.errors import UserError
from bot.core.settings import Settings
from bot.domain import followups, notify, pool, stages, tags
from bot.domain import staff as staff_service
from bot.domain.lifecycle_models import SopRule, SopRun
from bot.domain.models import Customer, CustomerTag, FollowRelation, Message, Staff, Tag
from bot.outbox import effects

logger = logging.getLogger(__name__)

JSON = dict[str, Any]
TASK, SENT, DONE, SKIPPED = "task", "sent", "done", "skipped"
# A step whose 企业群发 waits for the rep to confirm it (bot.domain.sop.mass closes it).
MASS = "mass"
MASS_QUEUED = "已提交企业群发，待员工确认"
# How often one waiting 企业群发 is read back (one WeCom call per step per interval across all
# workers, bot.domain.sop.mass.claim): the rep confirms within hours, and WeCom rate-limits
# the corp's API calls. The first read comes one interval after the step.
MASS_CHECK_EVERY = timedelta(minutes=5)
TASK_HINT = "请在侧边栏「SOP 任务」一键发送，或发 /soptasks 查看。"
# Actions whose text the customer reads (a task is sent by the rep from the sidebar).
CUSTOMER_FACING = frozenset({"task", "mass"})


def render(text: str, *, customer: str, rep: str) -> str:
    """The text with {customer} and {rep} filled in (other braces stay as typed)."""
    return text.replace("{customer}", customer).replace("{rep}", rep)


def still_applies(rule: SopRule, tag_names: set[str]) -> bool:
    """Whether the customer's tags still fit the rule (a tag trigger's tag included)."""
    conds = rule.conditions
    if not set(conds.get("tags") or []) <= tag_names:
        return False
    if set(conds.get("not_tags") or []) & tag_names:
        return False
    return not (rule.trigger.get("kind") == "tag_added" and rule.trigger["tag"] not in tag_names)


async def _replied_since_start(session: AsyncSession, run: SopRun) -> bool:
    first = await session.scalar(
        select(SopRun.done_at).where(
            SopRun.rule_id == run.rule_id, SopRun.external_userid == run.external_userid,
            SopRun.occurrence == run.occurrence, SopRun.step == 0,
        )  # fmt: skip
    )
    if first is None:
        return False
    wrote = await session.scalar(
        select(Message.id).where(
            Message.external_userid == run.external_userid, Message.direction == "in",
            Message.created_at > first,
        ).limit(1)
    )  # fmt: skip
    return wrote is not None


@dataclass
class Known:
    """What a batch of steps needs to know, read in a few set-based queries up front."""

    relations: dict[tuple[str, str], tuple[str, str]]  # (rep, customer) -> (status, remark)
    names: dict[str, str]  # customer -> name
    tags: dict[str, set[str]]  # customer -> tag names
    reps: dict[str, str]  # rep -> label
    rep_names: dict[str, str]  # rep -> name (what a customer may read)

    def label(self, run: SopRun) -> str:
        """How staff see the step's customer: remark（name）, or name."""
        name = self.names.get(run.external_userid) or run.external_userid[-6:]
        remark = self.relations.get((run.userid, run.external_userid), ("", ""))[1]
        return f"{remark}（{name}）" if remark and remark != name else name


async def prefetch(session: AsyncSession, batch: list[SopRun]) -> Known:
    """Relations, names, tags and rep labels of a batch of claimed steps."""
    euids = sorted({r.external_userid for r in batch})
    rows = await session.execute(
        select(FollowRelation.userid, FollowRelation.external_userid, FollowRelation.status,
               FollowRelation.remark).where(FollowRelation.external_userid.in_(euids))
    )  # fmt: skip
    relations = {(u, e): (st, rm) for u, e, st, rm in rows.all()}
    names = dict((await session.execute(
        select(Customer.external_userid, Customer.name).where(Customer.external_userid.in_(euids))
    )).all())  # fmt: skip
    tag_rows = await session.execute(
        select(CustomerTag.external_userid, Tag.name).join(Tag, Tag.id == CustomerTag.tag_id)
        .where(CustomerTag.external_userid.in_(euids))
    )  # fmt: skip
    tag_names: dict[str, set[str]] = {}
    for euid, name in tag_rows.all():
        tag_names.setdefault(euid, set()).add(name)
    userids = sorted({r.userid for r in batch})
    reps = await staff_service.labels(session, userids)
    rep_names = dict((await session.execute(
        select(Staff.userid, Staff.name).where(Staff.userid.in_(userids))
    )).all())  # fmt: skip
    return Known(relations, names, tag_names, reps, rep_names)


async def skip_reason(session: AsyncSession, rule: SopRule, run: SopRun, known: Known) -> str:
    """Why the step must not run ("" when it should)."""
    if known.relations.get((run.userid, run.external_userid), ("", ""))[0] != "active":
        return "客户已不在该员工名下"
    if not still_applies(rule, known.tags.get(run.external_userid, set())):
        return "客户已不符合规则条件"
    step = rule.steps[run.step] if run.step < len(rule.steps) else {}
    if step.get("skip_if_replied") and await _replied_since_start(session, run):
        return "客户已回复"
    return ""


async def run_step(
    session: AsyncSession, settings: Settings, rule: SopRule, run: SopRun, known: Known, *,
    now: datetime,
) -> str:  # fmt: skip
    """Carry out a claimed step's actions; its final status (task, mass, done or skipped).

    A step that queued a 企业群发 waits for its result (mass_check_at): in status `mass`, or
    beside a rep task, which keeps status `task` (the rep's one-tap send, the completion rate)
    and reports the 群发 in mass_note.
    """
    why = await skip_reason(session, rule, run, known)
    if why:
        run.status, run.note = SKIPPED, why
        return SKIPPED
    step = rule.steps[run.step]
    name = known.label(run)
    rep = known.reps.get(run.userid, run.userid)
    # task and mass texts go to the customer: their nickname and the rep's name, as in the
    # welcome, never the staff labels (the rep's private remark, the rep's userid).
    outward = {"customer": known.names.get(run.external_userid) or "",
               "rep": known.rep_names.get(run.userid) or ""}  # fmt: skip
    status, notes, massed = DONE, [], False
    for index, action in enumerate(step.get("actions") or []):
        key = f"sop:{run.id}:{index}"
        raw = str(action.get("text") or "")
        text = (render(raw, **outward) if action["type"] in CUSTOMER_FACING
                else render(raw, customer=name, rep=rep))  # fmt: skip
        try:
            done = await _act(session, settings, rule, run, action, text, key=key, now=now)
        except UserError as exc:  # e.g. a tag missing from the library: noted, not retried
            done = f"失败：{exc.message}"
        if action["type"] == "task":
            status, run.note = TASK, text
            head = f"【SOP 任务】{rule.name}\n客户：{name}\n{text}\n{TASK_HINT}"
            await notify.notify(session, run.userid, head, key=key)
        elif done:
            notes.append(done)
        massed = massed or done == MASS_QUEUED
    if status != TASK:
        run.note = "；".join(notes)[:1000]
        if massed:
            status = MASS
    if massed:
        run.mass_check_at, run.mass_note = now + MASS_CHECK_EVERY, MASS_QUEUED
    run.status = status
    return status


async def _act(
    session: AsyncSession, settings: Settings, rule: SopRule, run: SopRun, action: JSON,
    text: str, *, key: str, now: datetime,
) -> str:  # fmt: skip
    kind, euid = action["type"], run.external_userid
    if kind == "mass":
        payload: JSON = {"sender": run.userid, "external_userid": [euid], "text": text}
        if action.get("link"):
            payload["attachments"] = [{"msgtype": "link", "link": action["link"]}]
        await effects.add(session, "mass_msg", payload, key=key, group=f"sop:{euid}")
        return MASS_QUEUED
    if kind == "tag_add":
        added = await tags.add_tags(session, external_userid=euid, userid=run.userid,
                                    names=action["tags"], by_kind="sop", by=rule.id)  # fmt: skip
        return f"加标签 {'、'.join(added)}" if added else ""
    if kind == "tag_remove":
        gone = await tags.remove_tags(session, external_userid=euid, userid=run.userid,
                                      names=action["tags"], by_kind="sop", by=rule.id)  # fmt: skip
        return f"去标签 {'、'.join(gone)}" if gone else ""
    if kind == "stage":
        change = await stages.change_stage(session, settings, euid, action["stage"],
                                           by_kind="sop", by=rule.id, userid=run.userid,
                                           now=now)  # fmt: skip
        return f"阶段→{change.to_stage}" if change else ""
    if kind == "pool":
        entry = await pool.enter(session, euid, by_kind="sop", by=rule.id, reason=rule.name,
                                 now=now)  # fmt: skip
        return "移入公海" if entry else ""
    if kind == "notify":
        to: list[str] = []
        if action.get("to") in ("rep", "both"):
            to.append(run.userid)
        if action.get("to") in ("supervisor", "both"):
            to += await notify.supervisors_of(session, run.userid, settings=settings)
        await notify.notify(session, sorted(set(to)), f"【SOP】{rule.name}\n{text}", key=key)
        return "已通知"
    if kind == "followup":
        await followups.add_followup(session, external_userid=euid, userid=run.userid,
                                     note=text, due_at=now)  # fmt: skip
        return "已建跟进"
    return ""  # "task" is handled by the caller
