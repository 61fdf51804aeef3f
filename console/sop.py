"""SOP rules (issue 13): the list with status, trigger, conditions and steps; one rule's runs
and its completion rate per rep; pause and resume (supervisors, as /soppause); YAML export.
Creating, editing and importing rules is for admins (console.sop_edit)."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.core.errors import NotFoundError
from bot.core.keys import CLOCK, DB, SETTINGS
from bot.domain import audit, lifecycle_views
from bot.domain import staff as staff_service
from bot.domain.lifecycle_models import SopRule, SopRun
from bot.domain.models import ROLE_SUPERVISOR
from bot.domain.sop import actions, editing, mass, rules, runs
from console import auth, fmt, layout
from console.registry import Nav, route
from console.scope import request_scope

PAGE = "/console/sop"
# The notices a change redirects with: only these are shown (never arbitrary text).
DONE = re.compile(r"(paused|resumed|saved)-[a-z0-9][a-z0-9_-]{0,63}|imported-\d{1,4}")
RUN_LIMIT = 200


def summary(rule: SopRule, counts: dict[str, int]) -> dict[str, object]:
    """What the list and the rule page show about a rule."""
    issued = counts.get("task", 0) + counts.get("sent", 0)
    return {
        "rule": rule,
        "trigger": rules.describe_trigger(rule.trigger),
        "conditions": editing.describe_conditions(rule.conditions),
        "steps": [editing.describe_step(s) for s in rule.steps],
        "counts": counts,
        "total": sum(counts.values()),
        "completion": fmt.rate(counts.get("sent", 0) / issued if issued else None),
    }


def finished(run: SopRun, tz: ZoneInfo) -> str:
    """The 完成 column: empty while a person still has to act (a rep task, a 企业群发 to
    confirm), whose done_at is only when the scheduler ran the step."""
    return "" if run.status in (actions.TASK, actions.MASS) else fmt.when(run.done_at, tz)


def _done(raw: str) -> str:
    """The notice after a change ("paused-<id>", "imported-<n>"...); anything else: none."""
    return raw if DONE.fullmatch(raw) else ""


@route("GET", "/sop", role=ROLE_SUPERVISOR, nav=Nav("SOP 规则", 75))
async def sop_page(request: web.Request) -> web.StreamResponse:
    """Every rule with its state and the runs of reps in the viewer's scope; ?format=yaml
    downloads every rule as YAML (what the import and `python -m bot` read)."""
    if request.query.get("format") == "yaml":
        return await export(request)
    viewer = auth.viewer_of(request)
    async with request.config_dict[DB]() as db:
        scope = await request_scope(db, request)
        items = await rules.list_rules(db)
        counts = await lifecycle_views.run_counts(db, userids=scope.reps)
    context = {
        "rules": [summary(r, counts.get(r.id, {})) for r in items],
        "statuses": editing.STATUS_LABEL,
        "can_edit": viewer.is_admin,
        "done": _done(request.query.get("done", "")),
    }
    return layout.render(request, "console/sop.html", context)


@route("GET", "/sop/rule/{rule_id}", role=ROLE_SUPERVISOR, sample={"rule_id": "warming"})
async def rule_page(request: web.Request) -> web.StreamResponse:
    """One rule: its definition, its runs (filter by status) and completion per rep."""
    viewer = auth.viewer_of(request)
    settings = request.config_dict[SETTINGS]
    tz = ZoneInfo(settings.timezone)
    status = request.query.get("status", "")
    status = status if status in editing.STATUS_LABEL else ""
    async with request.config_dict[DB]() as db:
        rule = await db.get(SopRule, request.match_info["rule_id"])
        if rule is None:
            raise NotFoundError("没有这条 SOP 规则")
        scope = await request_scope(db, request)
        counts = await lifecycle_views.run_counts(db, userids=scope.reps, rule_id=rule.id)
        items = await lifecycle_views.rule_runs(
            db, rule.id, userids=scope.reps, status=status, limit=RUN_LIMIT
        )
        completion = await runs.completion_by_rep(db, userids=scope.reps, rule_id=rule.id)
        labels = await staff_service.labels(
            db, [r.userid for r, _ in items] + [c.userid for c in completion]
        )
    run_rows = [
        {
            "run": run,
            "customer": name,
            "rep": labels.get(run.userid, run.userid),
            "status": mass.with_mass(editing.STATUS_LABEL.get(run.status, run.status), run),
            "due": fmt.when(run.due_at, tz),
            "done": finished(run, tz),
            "done_by": labels.get(run.done_by, run.done_by),
        }
        for run, name in items
    ]
    reps = [
        (labels.get(c.userid, c.userid), c.sent, c.issued, fmt.rate(c.rate)) for c in completion
    ]
    context = {
        **summary(rule, counts.get(rule.id, {})),
        "yaml": editing.rule_yaml(rules.to_json(rule)),
        "runs": run_rows,
        "reps": reps,
        "status": status,
        "statuses": editing.STATUS_LABEL,
        "limit": RUN_LIMIT,
        "can_edit": viewer.is_admin,
    }
    return layout.render(request, "console/sop_rule.html", context)


async def _set_paused(request: web.Request, paused: bool) -> web.StreamResponse:
    viewer = auth.viewer_of(request)
    now = request.config_dict[CLOCK].now()
    rule_id = request.match_info["rule_id"]
    async with request.config_dict[DB].begin() as db:
        rule = await rules.set_paused(db, rule_id, paused, now=now)
        await audit.record(
            db,
            actor=viewer.userid,
            action="console:sop_pause",
            target=rule.id,
            detail={"paused": paused},
        )
    raise layout.see_other(PAGE, done=("paused-" if paused else "resumed-") + rule.id)


@route(
    "POST",
    "/sop/rule/{rule_id}/pause",
    role=ROLE_SUPERVISOR,
    sample={"rule_id": "warming"},
    form={"x": "1"},
)
async def pause(request: web.Request) -> web.StreamResponse:
    """Pause a rule: no new runs, due steps wait (as /soppause)."""
    return await _set_paused(request, True)


@route(
    "POST",
    "/sop/rule/{rule_id}/resume",
    role=ROLE_SUPERVISOR,
    sample={"rule_id": "xss-rule"},
    form={"x": "1"},
)
async def resume(request: web.Request) -> web.StreamResponse:
    """Resume a paused rule (as /sopresume)."""
    return await _set_paused(request, False)


async def export(request: web.Request) -> web.StreamResponse:
    """Every rule as YAML, as an attachment."""
    now = request.config_dict[CLOCK].now()
    async with request.config_dict[DB]() as db:
        text = rules.to_yaml(await rules.list_rules(db))
    name = f"sop-rules-{now:%Y%m%d-%H%M}.yaml"
    return web.Response(
        text=text,
        content_type="application/x-yaml",
        charset="utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )
