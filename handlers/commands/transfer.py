"""Reassignment: /assign (在职继承) and /transfer (离职继承)."""

from __future__ import annotations

from bot.core.errors import PermissionDeniedError, UsageError
from bot.domain import directory, transfer
from bot.domain import staff as staff_service
from bot.domain.models import Staff
from handlers.commands.engine import ArgError, CommandRouter, Context, Prep, Reply, Role, words

router = CommandRouter()


async def _know(prep: Prep, refs: list[str]) -> None:
    """Before the transaction: colleagues named here who never wrote to the app are looked up
    in WeCom's address book (user/get for a userid, a refresh for a name)."""
    for ref in refs:
        await directory.know_member(prep.db, prep.settings, prep.wecom, ref, now=prep.now)


async def _know_takeover(prep: Prep, args: str) -> None:
    parts = words(args)
    if len(parts) == 2:  # otherwise the command explains its arguments
        await _know(prep, parts[1:])


async def _know_both(prep: Prep, args: str) -> None:
    parts = words(args)
    if len(parts) == 2:
        await _know(prep, parts)


async def _member(
    ctx: Context, ref: str, team: set[str] | None, *, active: bool = True
) -> Staff:
    member = await staff_service.find_staff(ctx.session, ref)
    who = staff_service.label_of(member, member.userid)
    if team is not None and member.userid not in team:
        raise PermissionDeniedError(f"{who} 不在你的部门")
    if active and not member.active:
        raise UsageError(f"{who} 已停用或已离职，不能接手客户")
    return member


@router.command(
    "assign", aliases=["分配", "转接"], help="把客户转给另一位在职员工（在职继承）",
    usage="/assign 客户 员工", example="/assign 张三 李四", role=Role.SUPERVISOR,
    prepare=_know_takeover,
)  # fmt: skip
async def customer_assign(ctx: Context, args: str) -> Reply:
    """在职继承 of one customer through transfer_customer."""
    parts = words(args)
    if len(parts) != 2:
        raise ArgError("请写客户和接手员工")
    customer = await ctx.customer(parts[0])
    team = await staff_service.team_userids(ctx.session, ctx.user)
    takeover = await _member(ctx, parts[1], team)
    await transfer.assign_customer(
        ctx.session, external_userid=customer.external_userid, takeover_userid=takeover.userid,
        requested_by=ctx.user.userid,
    )  # fmt: skip
    who = staff_service.label_of(takeover, takeover.userid)
    return Reply(
        f"已提交转接：{customer.name} → {who}。企业微信受理结果会发消息告诉你；"
        "客户 24 小时内未拒绝即自动接替。"
    )


@router.command(
    "transfer", aliases=["离职继承"], help="把离职员工的全部客户转给接手员工",
    usage="/transfer 离职员工 接手员工", example="/transfer zhangsan lisi", role=Role.SUPERVISOR,
    prepare=_know_both,
)  # fmt: skip
async def customers_transfer(ctx: Context, args: str) -> Reply:
    """离职继承 of every customer of a departed member, paged by 100."""
    parts = words(args)
    if len(parts) != 2:
        raise ArgError("请写离职员工和接手员工")
    team = await staff_service.team_userids(ctx.session, ctx.user)
    handover = await _member(ctx, parts[0], team, active=False)
    takeover = await _member(ctx, parts[1], team)
    count = await transfer.transfer_resigned(
        ctx.session, handover_userid=handover.userid, takeover_userid=takeover.userid,
        requested_by=ctx.user.userid,
    )  # fmt: skip
    return Reply(
        f"已提交离职继承：{staff_service.label_of(handover, handover.userid)} 的 {count} 位客户 → "
        f"{staff_service.label_of(takeover, takeover.userid)}。企业微信受理结果会发消息告诉你；"
        "客户 24 小时内自动接替。"
    )
