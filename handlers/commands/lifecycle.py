"""Lifecycle commands: /stage /customers /funnel /soptasks /sop /soppause /sopresume."""

from __future__ import annotations

from bot.domain import lifecycle_views, stages
from bot.domain import staff as staff_service
from bot.domain.lifecycle_models import SopRule
from bot.domain.sop import actions, rules, runs
from handlers.commands.engine import ArgError, CommandRouter, Context, Reply, Role, first, words
from handlers.commands.rep import LIST_MAX, customer_names
from handlers.commands.supervisor import _period

router = CommandRouter()


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


@router.command(
    "stage", aliases=["阶段"], help="查看或修改客户阶段（保留历史）",
    usage="/stage 客户 [阶段]", example="/stage 张三 报价阶段",
)  # fmt: skip
async def stage_set(ctx: Context, args: str) -> Reply:
    """Show a customer's stage and history, or move them to another stage."""
    ref, rest = first(args)
    if not ref:
        listed = "、".join(f"{i}.{n}" for i, n in enumerate(ctx.settings.stage_names, 1))
        raise ArgError(f"请写客户（和阶段）。阶段：{listed}")
    customer = await ctx.customer(ref)
    euid = customer.external_userid
    if not rest:
        current = await stages.stage_of(ctx.session, ctx.settings, euid)
        lines = [f"{customer.name} 当前阶段：{current}"]
        for past in await stages.history(ctx.session, euid, limit=5):
            when = past.at.astimezone(ctx.tz).strftime("%m-%d %H:%M")
            lines.append(f"· {when} {past.from_stage} → {past.to_stage}（{past.by or '系统'}）")
        return Reply("\n".join(lines))
    change = await stages.change_stage(ctx.session, ctx.settings, euid, rest, by_kind="rep",
                                       by=ctx.user.userid, now=ctx.now)  # fmt: skip
    if change is None:
        return Reply(f"{customer.name} 已经是「{stages.check_stage(ctx.settings, rest)}」阶段。")
    return Reply(f"已把 {customer.name} 从「{change.from_stage}」改为「{change.to_stage}」。")


@router.command(
    "customers", aliases=["客户列表"], help="按阶段和活跃度筛选我的（团队的）客户",
    usage="/customers [阶段] [活跃度]", example="/customers 意向明确 沉默30天",
)  # fmt: skip
async def customer_list(ctx: Context, args: str) -> Reply:
    """Customers in scope filtered by stage and/or activity tier."""
    stage = tier = None
    tiers = stages.tiers(ctx.settings)
    for word in words(args):
        if word in tiers:
            tier = word
        else:
            stage = stages.check_stage(ctx.settings, word)
    team = await staff_service.team_userids(ctx.session, ctx.user)
    total, rows = await stages.list_customers(
        ctx.session, ctx.settings, userids=team, stage=stage, tier=tier, now=ctx.now,
        limit=LIST_MAX,
    )  # fmt: skip
    what = " · ".join(x for x in (stage, tier) if x) or "全部"
    if not rows:
        return Reply(f"没有符合「{what}」的客户。")
    lines = [f"「{what}」客户 {total} 位："]
    for row in rows:
        active = stages.tier_of(ctx.settings, row.last_interaction_at, ctx.now)
        lines.append(f"· {row.name or row.external_userid} · {row.stage} · {active}")
    if total > len(rows):
        lines.append(f"……还有 {total - len(rows)} 位")
    return Reply("\n".join(lines))


@router.command(
    "funnel", aliases=["漏斗"], help="团队的阶段漏斗、阶段转化率和各员工 SOP 完成率",
    usage="/funnel [今天|本周|本月|开始~结束]", example="/funnel 本月", role=Role.SUPERVISOR,
)  # fmt: skip
async def funnel_show(ctx: Context, args: str) -> Reply:
    """The funnel of the caller's team, conversion between stages and SOP completion per rep."""
    since = until = None
    label = "当前"
    if args.strip():
        since, until, label = _period(ctx, args)
    team = await staff_service.team_userids(ctx.session, ctx.user)
    figures = await stages.funnel(ctx.session, ctx.settings, userids=team, since=since,
                                  until=until)  # fmt: skip
    lines = [f"【阶段漏斗 · {label}】"]
    lines += [f"{name}：{figures.current[name]}" for name in ctx.settings.stage_names]
    lines.append("转化：" + "　".join(f"{k} {_rate(v)}" for k, v in figures.conversion.items()))
    lines.append(f"流失（删除员工）：{figures.lost}")
    done = await runs.completion_by_rep(ctx.session, userids=team, since=since)
    if done:
        names = await staff_service.labels(ctx.session, [c.userid for c in done])
        lines.append("SOP 任务完成率：")
        lines += [f"· {names[c.userid]} {c.sent}/{c.issued}（{_rate(c.rate)}）" for c in done]
    return Reply("\n".join(lines))


@router.command("soptasks", aliases=["任务"], help="我待发送的 SOP 任务", usage="/soptasks")
async def task_list(ctx: Context, args: str) -> Reply:
    """The caller's SOP tasks waiting for a one-tap send from the sidebar."""
    items = await runs.tasks_of(ctx.session, ctx.user.userid, limit=LIST_MAX + 1)
    if not items:
        return Reply("没有待发送的 SOP 任务。")
    names = await customer_names(ctx, [r.external_userid for r in items])
    lines = ["待发送的 SOP 任务（在客户聊天的侧边栏「SOP 任务」里一键发送）："]
    for run in items[:LIST_MAX]:
        text = run.note if len(run.note) <= 40 else run.note[:40] + "…"
        lines.append(f"#{run.id} {names[run.external_userid]} · {text}")
    if len(items) > LIST_MAX:
        lines.append("……还有更多")
    return Reply("\n".join(lines))


@router.command(
    "sop", aliases=["规则"], help="SOP 规则列表：触发条件、步骤数、状态和完成率",
    usage="/sop", role=Role.SUPERVISOR,
)  # fmt: skip
async def sop_list(ctx: Context, args: str) -> Reply:
    """Every SOP rule with its state and rep-task completion."""
    items = await rules.list_rules(ctx.session)
    if not items:
        return Reply("还没有 SOP 规则（管理员可在控制台导入 YAML）。")
    # One grouped count for every rule, not a completion query per rule.
    counts = await lifecycle_views.run_counts(ctx.session, userids=None)
    lines = ["SOP 规则："]
    for rule in items:
        by_status = counts.get(rule.id, {})
        sent = by_status.get(actions.SENT, 0)
        issued = sent + by_status.get(actions.TASK, 0)
        rate = f" · 任务完成 {sent}/{issued}" if issued else ""
        state = "⏸ 已暂停" if rule.paused else "▶ 运行中"
        lines.append(f"· {rule.id}「{rule.name}」{rules.describe_trigger(rule.trigger)} · "
                     f"{len(rule.steps)} 步 · {state}{rate}")  # fmt: skip
    lines.append("暂停：/soppause 规则id　恢复：/sopresume 规则id")
    return Reply("\n".join(lines))


async def _set_paused(ctx: Context, args: str, *, paused: bool) -> SopRule:
    if not args.strip():
        raise ArgError("请写规则 id（/sop 查看）")
    return await rules.set_paused(ctx.session, args.strip(), paused, now=ctx.now)


@router.command(
    "soppause", aliases=["暂停规则"], help="暂停一条 SOP 规则（不再触发，到期步骤等待）",
    usage="/soppause 规则id", example="/soppause warming", role=Role.SUPERVISOR,
)  # fmt: skip
async def sop_pause(ctx: Context, args: str) -> Reply:
    """Pause a rule."""
    rule = await _set_paused(ctx, args, paused=True)
    return Reply(f"已暂停规则「{rule.name}」：不再触发新的客户，已排期的步骤等恢复后再执行。")


@router.command(
    "sopresume", aliases=["恢复规则"], help="恢复一条已暂停的 SOP 规则",
    usage="/sopresume 规则id", example="/sopresume warming", role=Role.SUPERVISOR,
)  # fmt: skip
async def sop_resume(ctx: Context, args: str) -> Reply:
    """Resume a paused rule."""
    rule = await _set_paused(ctx, args, paused=False)
    return Reply(f"已恢复规则「{rule.name}」。")
