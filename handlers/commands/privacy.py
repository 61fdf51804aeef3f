"""Admin commands for one customer's personal data (PIPL): /export and /erase (confirmed).

The export is a JSON file on the server (an app message cannot carry it); `python -m bot
customer export` gives the same to an admin at a shell. Both commands keep the customer out of
the command audit log (`private=True`) and audit what they did themselves.
"""

from __future__ import annotations

import asyncio
import re

from bot.domain import privacy
from handlers.commands.engine import ArgError, CommandRouter, Context, Reply, Role, words

router = CommandRouter()

_CODE = re.compile(r"\d{6}")


@router.command(
    "export", aliases=["导出客户"],
    help="导出一位客户在本系统的全部个人信息（JSON 文件，存于服务器）", usage="/export 客户",
    example="/export 张三", role=Role.ADMIN, private=True,
)  # fmt: skip
async def customer_export(ctx: Context, args: str) -> Reply:
    """Write the customer's data to a file under SIDEKICK_DATA_DIR and say where."""
    if not args.strip():
        raise ArgError("请写客户（昵称、备注或 external_userid）")
    customer = await ctx.customer(args.strip())
    euid = customer.external_userid
    held = await privacy.holdings(ctx.session, euid)
    body = await privacy.export(ctx.session, euid, ctx.now)
    where = ctx.settings.data_dir
    path = await asyncio.to_thread(privacy.write_export, where, euid, body, ctx.now)
    await privacy.record_export(
        ctx.session, actor=ctx.user.userid, external_userid=euid, where=str(path), held=held
    )
    return Reply(
        f"已导出客户「{customer.name or euid}」的个人信息：{held.describe()}。\n"
        f"文件在服务器上（仅服务账号可读）：{path}\n"
        f"也可在服务器上运行：python -m bot customer export {euid} -o 文件名"
    )


@router.command(
    "erase", aliases=["删除客户"],
    help="删除一位客户在本系统的个人信息，并移除企业微信里我们打的标签和备注",
    usage="/erase 客户 [确认码]", example="/erase 张三", role=Role.ADMIN, private=True,
)  # fmt: skip
async def customer_erase(ctx: Context, args: str) -> Reply:
    """Without a code: say what would go and give a code; with the code: erase."""
    parts = words(args)
    code = parts.pop() if len(parts) >= 2 and _CODE.fullmatch(parts[-1]) else None
    if not parts:
        raise ArgError("请写客户（昵称、备注或 external_userid）")
    customer = await ctx.customer(" ".join(parts))
    euid = customer.external_userid
    if code is None:
        held = await privacy.holdings(ctx.session, euid)
        code = await privacy.request_erasure(
            ctx.session, actor=ctx.user.userid, external_userid=euid, now=ctx.now
        )
        minutes = int(privacy.CODE_TTL.total_seconds() // 60)
        return Reply(
            f"将删除客户「{customer.name or euid}」在本系统的全部个人信息：{held.describe()}；"
            f"并在企业微信里移除我们打的标签、清空备注。此操作不可撤销。\n"
            f"确认请在 {minutes} 分钟内发送：/erase {euid} {code}"
        )
    held = await privacy.confirm_erasure(
        ctx.session, actor=ctx.user.userid, external_userid=euid, code=code, now=ctx.now,
        data_dir=ctx.settings.data_dir,
    )  # fmt: skip
    return Reply(
        f"已删除这位客户的个人信息：{held.describe()}。企业微信里的标签和备注将随后移除。\n"
        f"审计记录：{privacy.subject_ref(euid)}"
    )
