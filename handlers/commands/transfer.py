"""Reassignment: /assign (在职继承) and /transfer (离职继承)."""

from __future__ import annotations

from bot.core.errors import PermissionDeniedError, WeComError
from bot.domain import staff as staff_service
from bot.domain import transfer
from bot.domain.models import Staff
from handlers.commands.engine import ArgError, CommandRouter, Context, Reply, Role, words
from handlers.commands.rep import customer_names

router = CommandRouter()


async def _member(ctx: Context, ref: str, team: set[str] | None) -> Staff:
    member = await staff_service.find_staff(ctx.session, ref)
    if team is not None and member.userid not in team:
        raise PermissionDeniedError(f"{member.userid} 不在你的部门")
    return member


def _failures(
    result: transfer.TransferResult, names: dict[str, str], *, on_job: bool = True
) -> list[str]:
    return [
        f"· {names.get(euid, euid)}：{transfer.describe_errcode(code, on_job=on_job)}"
        for euid, code in result.failed
    ]


@router.command(
    "assign", aliases=["分配", "转接"], help="把客户转给另一位在职员工（在职继承）",
    usage="/assign 客户 员工", example="/assign 张三 bob", role=Role.SUPERVISOR,
)  # fmt: skip
async def customer_assign(ctx: Context, args: str) -> Reply:
    """在职继承 of one customer through transfer_customer."""
    parts = words(args)
    if len(parts) != 2:
        raise ArgError("请写客户和接手员工")
    customer = await ctx.customer(parts[0])
    team = await staff_service.team_userids(ctx.session, ctx.user)
    takeover = await _member(ctx, parts[1], team)
    try:
        result = await transfer.assign_customer(
            ctx.session, ctx.wecom, external_userid=customer.external_userid,
            takeover_userid=takeover.userid,
        )  # fmt: skip
    except WeComError as exc:
        raise transfer.TransferFailedError(
            f"转接失败：{transfer.describe_errcode(exc.errcode)}"
        ) from exc
    if result.failed:
        lines = _failures(result, {customer.external_userid: customer.name})
        raise transfer.TransferFailedError("转接失败：\n" + "\n".join(lines))
    return Reply(
        f"已发起转接：{customer.name} → {takeover.userid}。客户 24 小时内未拒绝即自动接替。"
    )


@router.command(
    "transfer", aliases=["离职继承"], help="把离职员工的全部客户转给接手员工",
    usage="/transfer 离职员工 接手员工", example="/transfer zhangsan lisi", role=Role.SUPERVISOR,
)  # fmt: skip
async def customers_transfer(ctx: Context, args: str) -> Reply:
    """离职继承 of every customer of a departed member, paged by 100."""
    parts = words(args)
    if len(parts) != 2:
        raise ArgError("请写离职员工和接手员工")
    team = await staff_service.team_userids(ctx.session, ctx.user)
    handover = await _member(ctx, parts[0], team)
    takeover = await _member(ctx, parts[1], team)
    result = await transfer.transfer_resigned(
        ctx.session, ctx.wecom, handover_userid=handover.userid, takeover_userid=takeover.userid
    )
    lines = [f"离职继承 {handover.userid} → {takeover.userid}：已发起 {len(result.started)} 位"]
    if result.failed:
        lines.append(f"失败 {len(result.failed)} 位：")
        names = await customer_names(ctx, [euid for euid, _ in result.failed[:10]])
        lines += _failures(result, names, on_job=False)[:10]
    if result.error is not None:
        reason = transfer.describe_errcode(result.error.errcode, on_job=False)
        lines.append(f"其余 {result.pending} 位未转：{reason}")
    if result.failed or result.error is not None:
        raise transfer.TransferFailedError("\n".join(lines))
    lines.append("客户 24 小时内自动接替。")
    return Reply("\n".join(lines))
