"""Rep commands: /note /follow /done /todo /escalate /find /kb."""

from __future__ import annotations

import re

from bot.core.keys import KB
from bot.domain import customers, followups, lookup, rep_actions, tags, timeparse
from bot.domain import staff as staff_service
from bot.domain.models import Followup
from handlers.commands.engine import ArgError, CommandRouter, Context, Reply, Role, first

router = CommandRouter()

# /find and /todo lists stay readable in a chat bubble.
LIST_MAX = 10


def _number(text: str, what: str) -> int:
    found = re.fullmatch(r"#?(\d{1,9})", text.strip())
    if found is None:
        raise ArgError(f"请写{what}编号（数字）")
    return int(found.group(1))


@router.command(
    "note", aliases=["备注", "笔记"], help="给客户记一条备注",
    usage="/note 客户 文本", example="/note 张三 喜欢下午联系",
)  # fmt: skip
async def note_add(ctx: Context, args: str) -> Reply:
    """Add a note about one of the caller's customers."""
    ref, text = first(args)
    if not ref or not text:
        raise ArgError("请写明客户和备注内容")
    customer = await ctx.customer(ref)
    await rep_actions.add_note(ctx.session, ctx.user, customer.external_userid, text)
    return Reply(f"已记下 {customer.name} 的备注。")


@router.command(
    "follow", aliases=["跟进"], help="记一条跟进，可带提醒时间",
    usage="/follow 客户 文本 [时间]", example="/follow 张三 回电确认报价 明天10点",
)  # fmt: skip
async def followup_add(ctx: Context, args: str) -> Reply:
    """Create a follow-up, reminded at the given time."""
    ref, rest = first(args)
    if not ref or not rest:
        raise ArgError("请写明客户和跟进内容（时间可选：明天10点、3天后、周五下午、11-30 14:00）")
    try:  # the time first: a bad one is refused before the customer is looked up
        rep_actions.read_followup(rest, now=ctx.now, tz=ctx.tz)
        customer = await ctx.customer(ref)
        item = await rep_actions.add_followup(
            ctx.session, ctx.user, customer.external_userid, rest, now=ctx.now, tz=ctx.tz
        )
    except timeparse.TimeParseError as exc:
        raise ArgError(exc.for_chat) from exc
    due = item.due_at
    when = f"，{timeparse.describe(due, now=ctx.now, tz=ctx.tz)} 提醒你" if due else ""
    return Reply(
        f"已记下跟进 #{item.id}：{customer.name} · {item.note}{when}。完成后发 /done {item.id}"
    )


@router.command(
    "done", aliases=["完成"], help="把一条跟进标记为完成",
    usage="/done 编号", example="/done 12",
)  # fmt: skip
async def followup_done(ctx: Context, args: str) -> Reply:
    """Close a follow-up by its number."""
    if not args.strip():
        raise ArgError("请写跟进编号（/todo 里 # 后面的数字）")
    item = await followups.done_followup(
        ctx.session, followup_id=_number(args, "跟进"), by=ctx.user, now=ctx.now
    )
    return Reply(f"跟进 #{item.id} 已完成：{item.note}")


def _line(ctx: Context, item: Followup, names: dict[str, str]) -> str:
    due = ""
    if item.due_at is not None:
        due = " · " + timeparse.describe(item.due_at, now=ctx.now, tz=ctx.tz)
        if followups.is_overdue(item, ctx.now):
            due += "（逾期）"
    return f"#{item.id} {names.get(item.external_userid, item.external_userid)} · {item.note}{due}"


async def customer_names(ctx: Context, ids: list[str]) -> dict[str, str]:
    """external_userid -> how staff know the customer ("张总（张三）") for a list of them."""
    return {euid: await customers.customer_label(ctx.session, euid) for euid in set(ids)}


@router.command("todo", aliases=["待办"], help="我的未完成和逾期跟进", usage="/todo")
async def followup_list(ctx: Context, args: str) -> Reply:
    """The caller's open follow-ups, overdue first."""
    items = await followups.open_followups(ctx.session, ctx.user.userid)
    if not items:
        return Reply("没有未完成的跟进。")
    late = [i for i in items if followups.is_overdue(i, ctx.now)]
    rest = [i for i in items if not followups.is_overdue(i, ctx.now)]
    names = await customer_names(ctx, [i.external_userid for i in items])
    lines = [f"未完成跟进 {len(items)} 条，其中逾期 {len(late)} 条："]
    lines += [_line(ctx, i, names) for i in (late + rest)[:LIST_MAX]]
    if len(items) > LIST_MAX:
        lines.append(f"……还有 {len(items) - LIST_MAX} 条")
    lines.append("完成后发 /done 编号")
    return Reply("\n".join(lines))


@router.command(
    "escalate", aliases=["升级"], help="把客户问题升级给主管",
    usage="/escalate 客户 原因", example="/escalate 张三 要求退款并投诉",
)  # fmt: skip
async def escalation_open(ctx: Context, args: str) -> Reply:
    """Open an escalation and alert the supervisors."""
    ref, reason = first(args)
    if not ref or not reason:
        raise ArgError("请写明客户和升级原因")
    customer = await ctx.customer(ref)
    item, leads = await rep_actions.escalate(
        ctx.session, ctx.settings, ctx.user, customer.external_userid, reason, now=ctx.now
    )
    labels = await staff_service.labels(ctx.session, leads)
    who = "、".join(labels[u] for u in leads) if leads else "（暂无主管，已记录）"
    return Reply(f"已升级 #{item.id}：{customer.name} · {item.reason}\n已通知：{who}")


@router.command(
    "find", aliases=["查找", "搜索"], help="按名字、备注、手机尾号或标签找我的客户",
    usage="/find 文本", example="/find VIP",
)  # fmt: skip
async def customer_find(ctx: Context, args: str) -> Reply:
    """Search the caller's customers."""
    text = args.strip()
    if not text:
        raise ArgError("请写要找的名字、备注、手机尾号或标签")
    hits = await lookup.search(ctx.session, ctx.user, text, limit=LIST_MAX)
    if not hits:
        return Reply(f"你的客户里没有匹配「{text}」的。")
    show_rep = ctx.role > Role.REP
    lines = [f"找到 {len(hits)} 位客户："]
    for hit in hits:
        names = [t.name for t in await tags.customer_tags(ctx.session, hit.external_userid)]
        tag_text = f" [{'、'.join(names)}]" if names else ""
        lines.append(f"· {hit.label(show_rep)}{tag_text}")
    return Reply("\n".join(lines))


@router.command(
    "kb", aliases=["知识库"], help="在知识库里找答案（前 3 条）",
    usage="/kb 问题", example="/kb 怎么开发票",
)  # fmt: skip
async def kb_search(ctx: Context, args: str) -> Reply:
    """Top-3 knowledge-base answers for a question."""
    question = args.strip()
    if not question:
        raise ArgError("请写要查的问题")
    if KB not in ctx.app:
        return Reply("知识库未配置。")
    snapshot = ctx.app[KB].snapshot
    matches = snapshot.index.match(question, limit=3)
    status = f"\n\n（{snapshot.calibration.status}）"
    if not matches:
        return Reply(f"知识库里没有找到「{question}」的答案。{status}")
    lines = []
    for i, match in enumerate(matches, 1):
        lines.append(
            f"{i}. {match.entry.question}（匹配 {match.confidence:.0%}）\n{match.entry.answer}"
        )
    return Reply("\n\n".join(lines) + status)
