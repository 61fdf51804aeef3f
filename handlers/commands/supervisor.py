"""Supervisor commands: /stats /escalations /resolve /overdue /misses."""

from __future__ import annotations

import re
from datetime import datetime

from bot.core.errors import NotFoundError, PermissionDeniedError
from bot.domain import escalations, followups, periods, response_times, stats, timeparse
from bot.domain import staff as staff_service
from bot.domain.models import Escalation
from handlers.commands.engine import ArgError, CommandRouter, Context, Reply, Role, first
from handlers.commands.rep import LIST_MAX, customer_names
from knowledge import misses

router = CommandRouter()


def _hint(ctx: Context) -> str:
    hint = staff_service.scope_hint(ctx.user)
    return f"\n{hint}" if hint else ""


def _period(ctx: Context, args: str) -> tuple[datetime, datetime, str]:
    try:
        return periods.parse_period(args.strip(), now=ctx.now, tz=ctx.tz)
    except timeparse.TimeParseError as exc:
        raise ArgError(exc.for_chat) from exc


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def _first_response(waits: response_times.FirstResponse) -> str:
    waiting = f"，{waits.unanswered} 次尚未回复" if waits.unanswered else ""
    if not waits.count:
        return f"首次响应：—（0 次{waiting}）" if waiting else "首次响应：—"
    return (f"首次响应：中位 {response_times.describe(waits.p50)}　"
            f"P90 {response_times.describe(waits.p90)}（{waits.count} 次{waiting}）")  # fmt: skip


@router.command(
    "stats", aliases=["统计"], help="团队数据：客户增减、消息、自动回复率、跟进、升级、标签",
    usage="/stats [今天|本周|本月|开始~结束]", example="/stats 本周", role=Role.SUPERVISOR,
)  # fmt: skip
async def stats_show(ctx: Context, args: str) -> Reply:
    """Figures for the caller's team over a period."""
    start, end, label = _period(ctx, args)
    team = await staff_service.team_userids(ctx.session, ctx.user)
    figures = await stats.compute(ctx.session, team=team, start=start, end=end, now=ctx.now)
    waits = await response_times.first_response(
        ctx.session, customers=response_times.team_customers(team), start=start, end=end
    )
    top = "、".join(f"{name}({n})" for name, n in figures.top_tags) or "—"
    return Reply(
        f"【{label}】{'全公司' if team is None else '我的团队'}\n"
        f"新增客户：{figures.new_customers}　流失：{figures.lost_customers}\n"
        f"客户消息：{figures.messages_in}　自动回复率：{_rate(figures.auto_reply_rate)}\n"
        f"{_first_response(waits)}\n"
        f"完成跟进：{figures.followups_done}　逾期跟进：{figures.followups_overdue}\n"
        f"未处理升级：{figures.open_escalations}\n"
        f"热门标签：{top}" + _hint(ctx)
    )


@router.command(
    "escalations", aliases=["升级列表"], help="团队未处理的升级",
    usage="/escalations", role=Role.SUPERVISOR,
)  # fmt: skip
async def escalation_list(ctx: Context, args: str) -> Reply:
    """Open escalations of the caller's team, oldest first."""
    team = await staff_service.team_userids(ctx.session, ctx.user)
    items = await escalations.open_escalations(ctx.session, userids=team)
    if not items:
        return Reply("没有未处理的升级。" + _hint(ctx))
    names = await customer_names(ctx, [e.external_userid for e in items])
    reps = await staff_service.labels(ctx.session, [e.userid for e in items])
    lines = [f"未处理升级 {len(items)} 条："]
    for e in items[:LIST_MAX]:
        when = timeparse.describe(e.created_at, now=ctx.now, tz=ctx.tz)
        rep = reps.get(e.userid, e.userid)
        lines.append(f"#{e.id} {names[e.external_userid]} · {rep} · {e.reason} · {when}")
    lines.append("处理后发 /resolve 编号 说明")
    return Reply("\n".join(lines))


async def _team_escalation(ctx: Context, escalation_id: int) -> Escalation:
    item = await ctx.session.get(Escalation, escalation_id)
    if item is None:
        raise NotFoundError(f"没有编号为 {escalation_id} 的升级")
    team = await staff_service.team_userids(ctx.session, ctx.user)
    if team is not None and item.userid not in team:
        raise PermissionDeniedError("这条升级不属于你的团队" + _hint(ctx))
    return item


@router.command(
    "resolve", aliases=["解决"], help="处理完一条升级并写明说明",
    usage="/resolve 编号 说明", example="/resolve 3 已电话沟通并退款", role=Role.SUPERVISOR,
)  # fmt: skip
async def escalation_resolve(ctx: Context, args: str) -> Reply:
    """Resolve one of the team's escalations."""
    number, note = first(args)
    if not re.fullmatch(r"#?\d{1,9}", number) or not note:
        raise ArgError("请写升级编号和处理说明")
    item = await _team_escalation(ctx, int(number.lstrip("#")))
    await escalations.resolve_escalation(
        ctx.session, escalation_id=item.id, by=ctx.user.userid, resolution=note
    )
    return Reply(f"升级 #{item.id} 已处理：{note}")


@router.command(
    "overdue", aliases=["逾期"], help="团队逾期未完成的跟进",
    usage="/overdue", role=Role.SUPERVISOR,
)  # fmt: skip
async def followup_overdue(ctx: Context, args: str) -> Reply:
    """Overdue follow-ups of the caller's team."""
    team = await staff_service.team_userids(ctx.session, ctx.user)
    items = await followups.overdue(ctx.session, now=ctx.now, userids=team)
    if not items:
        return Reply("团队没有逾期的跟进。" + _hint(ctx))
    names = await customer_names(ctx, [f.external_userid for f in items])
    reps = await staff_service.labels(ctx.session, [f.userid for f in items])
    lines = [f"逾期跟进 {len(items)} 条："]
    for f in items[:LIST_MAX]:
        due = timeparse.describe(f.due_at, now=ctx.now, tz=ctx.tz) if f.due_at else ""
        rep = reps.get(f.userid, f.userid)
        lines.append(f"#{f.id} {rep} · {names[f.external_userid]} · {f.note} · {due}")
    return Reply("\n".join(lines))


@router.command(
    "misses", aliases=["未答"], help="知识库答不上的高频问题",
    usage="/misses [本周|本月|…]", example="/misses 本周", role=Role.SUPERVISOR,
)  # fmt: skip
async def kb_misses(ctx: Context, args: str) -> Reply:
    """Top unanswered customer questions."""
    since = None
    if args.strip():
        since, _end, _label = _period(ctx, args)
    gaps = await misses.top_gaps(ctx.session, limit=LIST_MAX, since=since)
    if not gaps:
        return Reply("没有未答的问题。")
    lines = ["未答问题（按次数）："]
    lines += [f"{i}. {g.question} ×{g.count}" for i, g in enumerate(gaps, 1)]
    lines.append("可以把它们补进知识库。")
    return Reply("\n".join(lines))
