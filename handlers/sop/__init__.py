"""The SOP scheduler: starts runs for what fired, and carries out due steps, once each.

Same shape as the reminders (handlers.reminders): a clock-driven pass at start-up and every
`sop_interval` seconds on every worker. Run creation is set-based and idempotent (a unique
key per rule, customer, occurrence and step), and due steps are claimed by a conditional
update in the transaction that records their effects, so two workers or a restart in the
middle neither lose nor repeat a step.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from dataclasses import dataclass
from datetime import datetime

from aiohttp import web
from sqlalchemy import select

from bot.core.errors import WeComError
from bot.core.keys import CLOCK, DB, SETTINGS, WECOM
from bot.core.tasks import periodic_ctx
from bot.domain import tags
from bot.domain.lifecycle_models import SopRule, SopRun
from bot.domain.models import Staff
from bot.domain.sop import mass, rules, runs, triggers
from bot.wecom import lifecycle as wecom_lifecycle

logger = logging.getLogger(__name__)

# Tags SOP actions add are created in this group when the library lacks them.
TAG_GROUP = "SOP"
# Seconds a pass keeps running due batches; a backlog beyond that waits for the next pass.
PASS_BUDGET = 20.0
# 企业群发 results a worker reads per pass (one WeCom call each), claimed longest unread first;
# each waiting step is read at most once per mass.MASS_CHECK_EVERY across all workers.
MASS_PER_PASS = 50


@dataclass(frozen=True)
class Pass:
    """What one pass did."""

    started: int
    deferred: int
    run: int


async def prepare_tags(app: web.Application, active: list[SopRule], now: datetime) -> None:
    """Before any transaction: the tags that due steps will add exist in WeCom's library."""
    by_id = {r.id: r for r in active}
    async with app[DB]() as session:
        due = (await session.execute(
            select(SopRun.rule_id, SopRun.step).where(SopRun.status == "pending",
                                                      SopRun.due_at <= now).distinct()
        )).all()  # fmt: skip
    names = sorted({
        name for rule_id, step in due if rule_id in by_id and step < len(by_id[rule_id].steps)
        for action in by_id[rule_id].steps[step].get("actions") or []
        if action.get("type") == "tag_add" for name in action.get("tags") or []
    })  # fmt: skip
    if not names:
        return
    try:
        await tags.ensure_tags(app[DB], app[WECOM], names, group_name=TAG_GROUP)
    except WeComError as exc:  # the step notes the missing tag; the next pass tries again
        logger.warning("sop tags not ensured errcode=%s", exc.errcode)


async def _members_by_department(app: web.Application) -> dict[int, set[str]]:
    async with app[DB]() as session:
        rows = (await session.execute(select(Staff.userid, Staff.departments))).all()
    out: dict[int, set[str]] = {}
    for userid, departments in rows:
        for dept in departments or []:
            out.setdefault(int(dept), set()).add(userid)
    return out


async def tick(app: web.Application, now: datetime | None = None) -> Pass:
    """One pass: start runs, defer steps outside their window, run due steps."""
    now = now or app[CLOCK].now()
    settings = app[SETTINGS]
    async with app[DB]() as session:
        active = [r for r in await rules.list_rules(session) if not r.paused]
    depts = await _members_by_department(app)
    started = 0
    async with app[DB].begin() as session:
        for rule in active:
            wanted = rule.conditions.get("departments") or []
            members = set().union(*(depts.get(d, set()) for d in wanted)) if wanted else None
            started += await triggers.start_runs(session, settings, rule, now=now,
                                                 department_members=members)  # fmt: skip
    async with app[DB].begin() as session:
        deferred = await runs.defer_closed(session, active, settings, now)
    await prepare_tags(app, active, now)
    done, started_at = 0, time.monotonic()
    while True:  # batch after batch, one transaction each, until caught up or out of time
        async with app[DB].begin() as session:
            batch = await runs.run_due(session, settings, active, now)
            _fault(settings.fault == "kill_in_sop_step" and batch > 0)
        _fault(settings.fault == "kill_after_sop_step" and batch > 0)
        done += batch
        if batch < runs.BATCH or time.monotonic() - started_at > PASS_BUDGET:
            break
    closed = await check_mass(app, now)
    if started or done or closed:
        logger.info("sop pass started=%d deferred=%d run=%d mass_closed=%d",
                    started, deferred, done, closed)  # fmt: skip
    return Pass(started, deferred, done)


async def check_mass(app: web.Application, now: datetime) -> int:
    """Read WeCom's send result of steps whose 企业群发 waits for the rep; close the settled.

    The reads are claimed and committed first (mass.claim), then asked outside any
    transaction: with several workers, each step is asked about once per interval.
    """
    async with app[DB].begin() as session:  # short: the claim alone
        claimed = await mass.claim(session, now=now, limit=MASS_PER_PASS)
    if not claimed:
        return 0
    async with app[DB]() as session:
        waiting = await mass.awaiting(session, claimed)
    closed = 0
    for item in waiting:
        status = None
        if item.msgid is not None:
            try:
                status = await wecom_lifecycle.groupmsg_send_status(
                    app[WECOM], item.msgid, item.sender, item.external_userid
                )
            except WeComError as exc:  # asked again after the interval (the claim stands)
                logger.warning("sop mass result run=%s errcode=%s", item.run_id, exc.errcode)
                continue
        note = mass.outcome(item, status, now)
        if note is None:
            continue
        async with app[DB].begin() as session:
            closed += await mass.close(session, item.run_id, note, now=now)
    return closed


def _fault(now: bool) -> None:
    """The crash test's SIGKILL (SIDEKICK_FAULT): inside the step's transaction, or just after
    its commit before the sender delivers; never set in production."""
    if now:
        os.kill(os.getpid(), signal.SIGKILL)


# Pass at start-up (catch up after downtime), then every sop_interval seconds.
sop_ctx = periodic_ctx("sop pass", tick, lambda app: app[SETTINGS].sop_interval)
