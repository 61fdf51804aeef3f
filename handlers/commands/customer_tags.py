"""/tag, /untag, /tags: WeCom corp tags on the caller's customers."""

from __future__ import annotations

from bot.domain import customers, tags
from handlers.commands.engine import ArgError, CommandRouter, Context, Reply, Role, first, words

router = CommandRouter()


async def _current(ctx: Context, external_userid: str) -> str:
    names = [t.name for t in await tags.customer_tags(ctx.session, external_userid)]
    return "、".join(names) if names else "（无）"


@router.command(
    "tag",
    aliases=["标签", "打标签"],
    help="给客户打标签（企业标签库里的标签）",
    usage="/tag 客户 标签…",
    example="/tag 张三 VIP 高意向",
)
async def tag_add(ctx: Context, args: str) -> Reply:
    """Add corp tags to one of the caller's customers."""
    ref, rest = first(args)
    names = words(rest)
    if not ref or not names:
        raise ArgError("请写明客户和至少一个标签")
    customer = await ctx.customer(ref)
    userid = await customers.acting_userid(ctx.session, ctx.user, customer.external_userid)
    added = await tags.add_tags(
        ctx.session, external_userid=customer.external_userid, userid=userid, names=names,
        by_kind="rep", by=ctx.user.userid,
    )  # fmt: skip
    current = await _current(ctx, customer.external_userid)
    if not added:
        return Reply(f"{customer.name} 已经有这些标签了。当前标签：{current}")
    return Reply(f"已给 {customer.name} 打上：{'、'.join(added)}\n当前标签：{current}")


@router.command(
    "untag",
    aliases=["去标签", "删标签"],
    help="去掉客户的标签",
    usage="/untag 客户 标签…",
    example="/untag 张三 高意向",
)
async def tag_remove(ctx: Context, args: str) -> Reply:
    """Remove tags from one of the caller's customers."""
    ref, rest = first(args)
    names = words(rest)
    if not ref or not names:
        raise ArgError("请写明客户和要去掉的标签")
    customer = await ctx.customer(ref)
    userid = await customers.acting_userid(ctx.session, ctx.user, customer.external_userid)
    removed = await tags.remove_tags(
        ctx.session, external_userid=customer.external_userid, userid=userid, names=names,
        by_kind="rep", by=ctx.user.userid,
    )  # fmt: skip
    current = await _current(ctx, customer.external_userid)
    if not removed:
        return Reply(f"{customer.name} 没有这些标签。当前标签：{current}")
    return Reply(f"已去掉 {customer.name} 的：{'、'.join(removed)}\n当前标签：{current}")


@router.command(
    "tags",
    aliases=["标签库"],
    help="查看企业标签库（可按关键词筛选）",
    usage="/tags [关键词]",
    example="/tags 意向",
    role=Role.REP,
)
async def tag_library(ctx: Context, args: str) -> Reply:
    """List the corp tag library."""
    names = await tags.all_tag_names(ctx.session)
    keyword = args.strip()
    if keyword:
        names = [n for n in names if keyword in n]
    if not names:
        return Reply(
            "标签库里没有匹配的标签。" if keyword else "标签库是空的，请管理员用 /tagnew 创建。"
        )
    return Reply("标签库：" + "、".join(names[:100]))
