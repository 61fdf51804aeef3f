"""/tag, /untag, /tags: WeCom corp tags on the caller's customers."""

from __future__ import annotations

from bot.core.keys import KB
from bot.domain import rep_actions, tags
from handlers.commands.engine import (
    ArgError,
    CommandRouter,
    Context,
    Prep,
    Reply,
    Role,
    first,
    words,
)

router = CommandRouter()


async def _current(ctx: Context, external_userid: str) -> str:
    names = [t.name for t in await tags.customer_tags(ctx.session, external_userid)]
    return "、".join(names) if names else "（无）"


def _tag_args(args: str) -> tuple[str, list[str]]:
    ref, rest = first(args)
    names = words(rest)
    if not ref or not names:
        raise ArgError("请写明客户和至少一个标签")
    return ref, names


async def _create_missing(prep: Prep, args: str) -> list[str]:
    """Before the transaction: a supervisor's or admin's new tag names go into the library."""
    _ref, names = _tag_args(args)
    return await rep_actions.prepare_tags(prep.db, prep.wecom, prep.user, names)


@router.command(
    "tag",
    aliases=["标签", "打标签"],
    help="给客户打标签（主管和管理员写的新标签会先加入企业标签库）",
    usage="/tag 客户 标签…",
    example="/tag 张三 VIP 高意向",
    prepare=_create_missing,
)
async def tag_add(ctx: Context, args: str) -> Reply:
    """Add corp tags to one of the caller's customers."""
    ref, names = _tag_args(args)
    customer = await ctx.customer(ref)
    change = await rep_actions.change_tags(
        ctx.session, ctx.user, customer.external_userid, add=names
    )
    current = await _current(ctx, customer.external_userid)
    created: list[str] = ctx.prepared or []
    note = f"（新建标签：{'、'.join(created)}，在「{tags.DEFAULT_GROUP}」组）" if created else ""
    if not change.added:
        return Reply(f"{customer.name} 已经有这些标签了。当前标签：{current}")
    return Reply(
        f"已给 {customer.name} 打上：{'、'.join(change.added)}{note}\n当前标签：{current}"
    )


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
    rules = ctx.app[KB].snapshot.rules.rules if KB in ctx.app else ()
    change = await rep_actions.change_tags(
        ctx.session, ctx.user, customer.external_userid, remove=names, rules=rules
    )
    current = await _current(ctx, customer.external_userid)
    if not change.removed:
        return Reply(f"{customer.name} 没有这些标签。当前标签：{current}")
    return Reply(f"已去掉 {customer.name} 的：{'、'.join(change.removed)}\n当前标签：{current}")


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
        empty = "标签库是空的，请主管或管理员用 /tagnew 创建。"
        return Reply("标签库里没有匹配的标签。" if keyword else empty)
    return Reply("标签库：" + "、".join(names[:100]))
