"""公海 pool commands: /pool /claim /poolassign /pooladd /departpool.

A claim or an assignment moves the customer in WeCom (transfer_customer), so it happens in the
command's prepare step, before its transaction (bot.domain.pool.take: check, ask WeCom, record):
a refusal or a limit is a Chinese reply and changes nothing.
"""

from __future__ import annotations

import re

from bot.core.errors import NotFoundError, UsageError
from bot.domain import directory, pool
from bot.domain import staff as staff_service
from bot.domain.lifecycle_models import PoolEntry
from handlers.commands.engine import ArgError, CommandRouter, Context, Prep, Reply, Role, first
from handlers.commands.rep import LIST_MAX

router = CommandRouter()
DEPARTED = "员工离职"


def _entry_id(text: str) -> int:
    found = re.fullmatch(r"#?(\d{1,9})", text.strip())
    if found is None:
        raise ArgError("请写公海编号（/pool 里 # 后面的数字）")
    return int(found.group(1))


async def _pooled(prep: Prep, ref: str) -> str:
    async with prep.db() as session:
        entry = await session.get(PoolEntry, _entry_id(ref))
    if entry is None or entry.status != pool.OPEN:
        raise NotFoundError(f"公海里没有编号 {ref.strip()} 的客户，发 /pool 查看")
    return entry.external_userid


async def _claim(prep: Prep, args: str) -> pool.Take:
    euid = await _pooled(prep, args)
    return await pool.take(prep.db, prep.wecom, prep.settings, external_userid=euid,
                           taker=prep.user, by=prep.user.userid, kind="claim",
                           now=prep.now)  # fmt: skip


async def _assign(prep: Prep, args: str) -> pool.Take:
    ref, who = first(args)
    if not ref or not who.strip():
        raise ArgError("请写公海编号和接手员工")
    euid = await _pooled(prep, ref)
    await directory.know_member(prep.db, prep.settings, prep.wecom, who.strip(), now=prep.now)
    async with prep.db() as session:
        taker = await staff_service.find_staff(session, who.strip())
        team = await staff_service.team_userids(session, prep.user)
    if team is not None and taker.userid not in team:
        raise UsageError(f"{staff_service.label_of(taker, taker.userid)} 不在你的部门")
    return await pool.take(prep.db, prep.wecom, prep.settings, external_userid=euid,
                           taker=taker, by=prep.user.userid, kind="assign",
                           now=prep.now)  # fmt: skip


@router.command("pool", aliases=["公海"], help="公海里等待领取的客户", usage="/pool")
async def pool_list(ctx: Context, args: str) -> Reply:
    """Open pool entries, oldest first."""
    total = await pool.count_open(ctx.session)
    if not total:
        return Reply("公海里暂时没有客户。")
    items = await pool.list_open(ctx.session, limit=LIST_MAX)
    reps = await staff_service.labels(ctx.session, [i.entry.from_userid for i in items])
    lines = [f"公海客户 {total} 位（每人每天可领取 {ctx.settings.pool_daily_claims} 位）："]
    for item in items:
        entry = item.entry
        when = entry.entered_at.astimezone(ctx.tz).strftime("%m-%d")
        origin = reps.get(entry.from_userid, entry.from_userid) or "无"
        lines.append(f"#{entry.id} {item.name} · 原跟进 {origin} · {entry.reason or '—'} · {when}")
    if total > len(items):
        lines.append(f"……还有 {total - len(items)} 位")
    lines.append("领取：/claim 编号")
    return Reply("\n".join(lines))


@router.command(
    "claim", aliases=["领取"], help="从公海领取客户（企业微信转接，客户 24 小时内可拒绝）",
    usage="/claim 编号", example="/claim 12", prepare=_claim,
)  # fmt: skip
async def pool_claim(ctx: Context, args: str) -> Reply:
    """Claim a pooled customer (done in the prepare step)."""
    take: pool.Take = ctx.prepared
    return Reply(f"已领取 {take.name}：企业微信已发起转接，客户 24 小时内未拒绝即由你接替。")


@router.command(
    "poolassign", aliases=["指派"], help="把公海客户指派给员工", usage="/poolassign 编号 员工",
    example="/poolassign 12 李四", role=Role.SUPERVISOR, prepare=_assign,
)  # fmt: skip
async def pool_assign(ctx: Context, args: str) -> Reply:
    """Assign a pooled customer to a member (done in the prepare step)."""
    take: pool.Take = ctx.prepared
    labels = await staff_service.labels(ctx.session, [take.to_userid])
    return Reply(f"已把 {take.name} 指派给 {labels[take.to_userid]}：企业微信已发起转接。")


@router.command(
    "pooladd", aliases=["移入公海"], help="把客户移入公海，由其他同事领取",
    usage="/pooladd 客户 [原因]", example="/pooladd 张三 长期未成交", role=Role.SUPERVISOR,
)  # fmt: skip
async def pool_add(ctx: Context, args: str) -> Reply:
    """Put a customer of the caller's team in the pool."""
    ref, reason = first(args)
    if not ref:
        raise ArgError("请写客户")
    customer = await ctx.customer(ref)
    entry = await pool.enter(ctx.session, customer.external_userid, by_kind="supervisor",
                             by=ctx.user.userid, reason=reason.strip(), now=ctx.now)  # fmt: skip
    if entry is None:
        return Reply(f"{customer.name} 已经在公海里了。")
    return Reply(f"已把 {customer.name} 移入公海 #{entry.id}。")


@router.command(
    "departpool", aliases=["离职入公海"], help="把离职员工的全部客户移入公海",
    usage="/departpool 员工", example="/departpool zhangsan", role=Role.SUPERVISOR,
)  # fmt: skip
async def depart_pool(ctx: Context, args: str) -> Reply:
    """A departed member's customers go to the pool (离职继承 happens at each claim)."""
    if not args.strip():
        raise ArgError("请写离职员工")
    member = await staff_service.find_staff(ctx.session, args.strip())
    team = await staff_service.team_userids(ctx.session, ctx.user)
    who = staff_service.label_of(member, member.userid)
    if team is not None and member.userid not in team:
        raise UsageError(f"{who} 不在你的部门")
    if member.active:
        raise UsageError(f"{who} 还在职，在职员工的客户请用 /pooladd 或 /assign")
    count = await pool.enter_all_of(ctx.session, member.userid, by_kind="departure",
                                    by=ctx.user.userid, reason=DEPARTED, now=ctx.now)  # fmt: skip
    return Reply(f"已把 {who} 的 {count} 位客户移入公海。")
