"""KB proposals for supervisors: /proposals /accept /reject /undo.

A rep's pick in the sidebar is a proposal (bot.domain.proposals); it changes auto-replies only
once accepted here (or picked by enough distinct reps), and an accepted one can be undone.
"""

from __future__ import annotations

import functools
import re

from bot.core.keys import KB
from bot.domain import kb, proposals
from handlers.commands.engine import ArgError, CommandRouter, Context, Reply, Role

router = CommandRouter()
# The same rule as the console's proposals queue (bot.domain.proposals.DECIDE_ROLE).
DECIDE = Role.of(proposals.DECIDE_ROLE)

LIST_MAX = 10
_STATUS_WORDS = {
    "": proposals.PENDING, "待审核": proposals.PENDING, "已采纳": proposals.ACCEPTED,
    "已驳回": proposals.REJECTED, "已撤销": proposals.UNDONE,
}  # fmt: skip


def _number(args: str) -> int:
    text = args.strip()
    if not re.fullmatch(r"#?\d{1,9}", text):
        raise ArgError("请写提议编号")
    return int(text.lstrip("#"))


def _entry_label(ctx: Context, entry_id: str) -> str:
    entry = ctx.app[KB].snapshot.kb.entry(entry_id)
    return f"「{entry.question}」" if entry is not None else f"（已删除的条目 {entry_id}）"


def _after(ctx: Context, outcome: proposals.Outcome) -> None:
    """Swap the committed KB change into every worker's snapshot once the command commits."""
    if outcome.change.kind != "none":
        ctx.after_commit.append(functools.partial(kb.apply_change, ctx.app, outcome.change))


@router.command(
    "proposals", aliases=["提议"], help="客服提议的相似问法（采纳后才会用于自动回复）",
    usage="/proposals [待审核|已采纳|已驳回|已撤销]", example="/proposals", role=DECIDE,
)  # fmt: skip
async def proposal_list(ctx: Context, args: str) -> Reply:
    """Proposals in one status (pending by default), the most supported first."""
    status = _STATUS_WORDS.get(args.strip())
    if status is None:
        raise ArgError(f"未知状态「{args.strip()}」")
    items = await proposals.listing(ctx.session, status=status, limit=LIST_MAX)
    label = proposals.STATUS_LABEL[status]
    if not items:
        return Reply(f"没有{label}的提议。")
    quorum = ctx.settings.kb_proposal_quorum
    lines = [f"{label}的提议（{len(items)} 条）："]
    for p in items:
        lines.append(f"#{p.id} 「{p.question}」→ {_entry_label(ctx, p.entry_id)} · "
                     f"{len(p.reps)}/{quorum} 位客服")  # fmt: skip
    if status == proposals.PENDING:
        lines.append("采纳发 /accept 编号，驳回发 /reject 编号")
    else:
        lines.append("撤销决定发 /undo 编号")
    return Reply("\n".join(lines))


@router.command(
    "accept", aliases=["采纳"], help="采纳提议：把客户问法加为知识条目的相似问法",
    usage="/accept 编号", example="/accept 3", role=DECIDE,
)  # fmt: skip
async def proposal_accept(ctx: Context, args: str) -> Reply:
    """Accept a pending proposal; the wording joins the entry in every worker."""
    outcome = await proposals.accept(ctx.session, _number(args), by=ctx.user.userid)
    _after(ctx, outcome)
    p = outcome.proposal
    known = "" if p.added else "（知识库里已有这个问法）"
    return Reply(f"已采纳提议 #{p.id}：「{p.question}」→ {_entry_label(ctx, p.entry_id)}{known}")


@router.command(
    "reject", aliases=["驳回"], help="驳回提议：不加入知识库",
    usage="/reject 编号", example="/reject 3", role=DECIDE,
)  # fmt: skip
async def proposal_reject(ctx: Context, args: str) -> Reply:
    """Reject a pending proposal."""
    outcome = await proposals.reject(ctx.session, _number(args), by=ctx.user.userid)
    return Reply(f"已驳回提议 #{outcome.proposal.id}：「{outcome.proposal.question}」")


@router.command(
    "undo", aliases=["撤销"], help="撤销对提议的决定：已采纳的从知识库移除，已驳回的恢复待审核",
    usage="/undo 编号", example="/undo 3", role=DECIDE,
)  # fmt: skip
async def proposal_undo(ctx: Context, args: str) -> Reply:
    """Undo the decision on a proposal."""
    outcome = await proposals.undo(ctx.session, _number(args), by=ctx.user.userid)
    _after(ctx, outcome)
    p = outcome.proposal
    if p.status == proposals.PENDING:
        return Reply(f"已撤销驳回，提议 #{p.id} 恢复待审核。")
    entry = _entry_label(ctx, p.entry_id)
    return Reply(f"已撤销提议 #{p.id}：「{p.question}」不再是 {entry} 的相似问法")
