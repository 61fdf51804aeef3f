"""KB proposals: a rep's pick ("this customer wording means that entry") as a reviewable change.

A pick is tied to the stored message it answered and must name one of that message's own
suggestions, above the KB's suggestion floor, or an entry the server's KB search showed this
rep for that message; the wording is the message's text, never free text. A pending proposal
changes nothing the customer sees: it is not in the index, so the matcher cannot auto-reply on
it. It becomes a similar question when a supervisor accepts it, or when `quorum` distinct reps
picked it among the suggestions (searched picks wait for a supervisor); an accepted one can be
undone. Every step is
audited. Callers apply a KB change to the live snapshots after their transaction commits
(`Change`, bot.domain.kb.apply_change).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.db import utcnow
from bot.core.errors import NotFoundError, UsageError
from bot.domain import audit
from bot.domain.models import ROLE_SUPERVISOR, KbProposal, Message, Staff
from knowledge import store
from knowledge import text as textmod
from knowledge.errors import EntryNotFoundError

logger = logging.getLogger(__name__)

PENDING, ACCEPTED, REJECTED, UNDONE = "pending", "accepted", "rejected", "undone"
STATUS_LABEL = {PENDING: "待审核", ACCEPTED: "已采纳", REJECTED: "已驳回", UNDONE: "已撤销"}
# Who may list, accept, reject and undo proposals: the /accept commands and the console's
# proposals queue both read it, so the two faces never disagree.
DECIDE_ROLE = ROLE_SUPERVISOR
QUESTION_MAX = 200
KEY_MAX = 255


@dataclass(frozen=True, slots=True)
class Change:
    """What a decision did to the stored KB, to apply to every worker's snapshot after commit."""

    kind: Literal["none", "similar", "reload"]
    entry_id: str = ""
    question: str = ""
    revision: int = 0


NO_CHANGE = Change("none")


@dataclass(frozen=True, slots=True)
class Outcome:
    """A proposal after an action, and the KB change the action made."""

    proposal: KbProposal
    change: Change = NO_CHANGE


def as_json(p: KbProposal, quorum: int) -> dict[str, Any]:
    """A proposal as the sidebar shows it."""
    return {
        "id": p.id, "entry_id": p.entry_id, "question": p.question, "status": p.status,
        "status_label": STATUS_LABEL.get(p.status, p.status), "reps": len(p.reps or []),
        "quorum": quorum,
    }  # fmt: skip


async def propose(
    session: AsyncSession,
    staff: Staff,
    *,
    message_id: int,
    entry_id: str,
    floor: float,
    quorum: int,
    searched: Collection[str] = frozenset(),
) -> Outcome:
    """Record staff's pick of entry_id for a stored inbound message (access checked by caller).

    Refused (UsageError, nothing changes) unless the entry was among the message's stored
    suggestions and the top suggestion cleared the KB's suggestion floor, or the entry is in
    `searched`: what the server's KB search showed this rep for this message (the rep looked
    the answer up on purpose, so the floor, which keeps chit-chat out, does not apply).
    """
    message = await session.get(Message, message_id)
    if message is None or message.direction != "in":
        raise NotFoundError("没有这条客户消息")
    suggested = {str(s.get("entry_id")): s for s in message.suggestions or []}
    top = max((float(s.get("confidence") or 0) for s in suggested.values()), default=0.0)
    via_suggestion = entry_id in suggested and top >= floor
    if entry_id in suggested:
        if not via_suggestion and entry_id not in searched:
            raise UsageError("这条消息的推荐匹配度太低，不能记录为相似问法")
    elif entry_id not in searched:
        raise UsageError("这个答案不在这条消息的推荐里，也不在你为它搜索到的结果里，"
                         "不能记为它的相似问法")
    question = " ".join(message.text.split())[:QUESTION_MAX]
    key = textmod.normalize(question)[:KEY_MAX]
    if not key:
        raise UsageError("这条消息没有可记录的文字")
    proposal = await _find(session, entry_id, key)
    if proposal is None:
        proposal = await _insert(session, entry_id, question, key, message_id, staff.userid)
    if proposal.status == PENDING and staff.userid not in proposal.reps:
        proposal.reps = [*proposal.reps, staff.userid]
    if proposal.status == PENDING and via_suggestion and staff.userid not in proposal.suggested_by:
        proposal.suggested_by = [*proposal.suggested_by, staff.userid]
    if proposal.status == PENDING and message_id not in proposal.message_ids:
        proposal.message_ids = [*proposal.message_ids, message_id]
    await audit.record(
        session, actor=staff.userid, action="kb_propose", target=entry_id,
        detail={"proposal": proposal.id, "message": message_id, "reps": len(proposal.reps),
                "status": proposal.status, "via": "suggested" if via_suggestion else "searched"},
    )  # fmt: skip
    if proposal.status == PENDING and len(set(proposal.suggested_by)) >= quorum:
        return await _accept(session, proposal, by="", reason="quorum")
    return Outcome(proposal)


async def _find(session: AsyncSession, entry_id: str, key: str) -> KbProposal | None:
    # Locked (PostgreSQL): two reps picking at once must not lose one of them from `reps`.
    return await session.scalar(
        select(KbProposal)
        .where(KbProposal.entry_id == entry_id, KbProposal.question_key == key)
        .with_for_update()
    )


async def _insert(
    session: AsyncSession, entry_id: str, question: str, key: str, message_id: int, userid: str
) -> KbProposal:
    """A new pending proposal; the existing one when another rep's insert won the race."""
    row = KbProposal(
        entry_id=entry_id, question=question, question_key=key, message_id=message_id,
        message_ids=[], reps=[], suggested_by=[], status=PENDING, decided_by="", added=False,
    )  # fmt: skip
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:
        existing = await _find(session, entry_id, key)
        if existing is None:
            raise
        return existing
    logger.info("kb proposal %s created entry=%s by=%s", row.id, entry_id, userid)
    return row


async def marks(session: AsyncSession, text: str) -> dict[str, dict[str, Any]]:
    """Pending and accepted picks for this wording, by entry id: a hint beside suggestions."""
    key = textmod.normalize(" ".join(text.split())[:QUESTION_MAX])[:KEY_MAX]
    if not key:
        return {}
    rows = await session.scalars(
        select(KbProposal).where(
            KbProposal.question_key == key, KbProposal.status.in_((PENDING, ACCEPTED))
        )
    )
    return {p.entry_id: {"id": p.id, "status": p.status, "reps": len(p.reps or [])} for p in rows}


def marked(
    suggestions: list[dict[str, Any]], found: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """Suggestions with their pick hint (`proposal`), never reordered or rescored."""
    return [{**s, "proposal": found.get(str(s.get("entry_id")))} for s in suggestions]


async def get(session: AsyncSession, proposal_id: int) -> KbProposal:
    """One proposal; NotFoundError."""
    row = await session.get(KbProposal, proposal_id)
    if row is None:
        raise NotFoundError(f"没有编号为 {proposal_id} 的提议")
    return row


async def listing(
    session: AsyncSession, *, status: str = PENDING, limit: int = 20
) -> Sequence[KbProposal]:
    """Proposals in one status, the most supported first, then the oldest."""
    rows = await session.scalars(
        select(KbProposal).where(KbProposal.status == status).order_by(KbProposal.id)
    )
    ordered = sorted(rows, key=lambda p: -len(p.reps or []))
    return ordered[:limit]


async def accept(session: AsyncSession, proposal_id: int, *, by: str) -> Outcome:
    """A supervisor accepts: the wording becomes a similar question of the entry."""
    proposal = await get(session, proposal_id)
    if proposal.status != PENDING:
        raise UsageError(f"提议 #{proposal.id} {STATUS_LABEL[proposal.status]}，不能再采纳")
    return await _accept(session, proposal, by=by, reason="supervisor")


async def _accept(session: AsyncSession, proposal: KbProposal, *, by: str, reason: str) -> Outcome:
    try:
        added = await store.add_similar_question(session, proposal.entry_id, proposal.question)
    except EntryNotFoundError:
        raise NotFoundError(f"知识条目 {proposal.entry_id} 已不存在") from None
    _decide(proposal, ACCEPTED, by)
    proposal.added = added
    await audit.record(
        session, actor=by or "reps", action="kb_accept", target=proposal.entry_id,
        detail={"proposal": proposal.id, "question": proposal.question, "reason": reason,
                "reps": list(proposal.reps), "added": added},
    )  # fmt: skip
    if not added:
        return Outcome(proposal)
    revision = await store.revision(session)
    change = Change("similar", proposal.entry_id, proposal.question, revision)
    return Outcome(proposal, change)


async def reject(session: AsyncSession, proposal_id: int, *, by: str) -> Outcome:
    """A supervisor rejects a pending proposal; later picks of it are not counted."""
    proposal = await get(session, proposal_id)
    if proposal.status != PENDING:
        raise UsageError(f"提议 #{proposal.id} {STATUS_LABEL[proposal.status]}，不能再驳回")
    _decide(proposal, REJECTED, by)
    detail = {"proposal": proposal.id, "question": proposal.question}
    await audit.record(session, actor=by, action="kb_reject", target=proposal.entry_id,
                       detail=detail)  # fmt: skip
    return Outcome(proposal)


async def undo(session: AsyncSession, proposal_id: int, *, by: str) -> Outcome:
    """Undo a decision: an accepted wording leaves the KB; a rejected one is pending again."""
    proposal = await get(session, proposal_id)
    if proposal.status == REJECTED:
        proposal.status, proposal.decided_by, proposal.decided_at = PENDING, "", None
        await audit.record(session, actor=by, action="kb_undo", target=proposal.entry_id,
                           detail={"proposal": proposal.id, "was": REJECTED})  # fmt: skip
        return Outcome(proposal)
    if proposal.status != ACCEPTED:
        raise UsageError(f"提议 #{proposal.id} {STATUS_LABEL[proposal.status]}，没有可撤销的决定")
    removed = proposal.added and await _remove_similar(session, proposal)
    _decide(proposal, UNDONE, by)
    await audit.record(
        session, actor=by, action="kb_undo", target=proposal.entry_id,
        detail={"proposal": proposal.id, "was": ACCEPTED, "removed": removed,
                "question": proposal.question},
    )  # fmt: skip
    return Outcome(proposal, Change("reload") if removed else NO_CHANGE)


async def _remove_similar(session: AsyncSession, proposal: KbProposal) -> bool:
    """Delete the similar question the accept added and bump the KB revision."""
    result = await session.execute(
        delete(store.KBSimilarQuestion).where(
            store.KBSimilarQuestion.entry_id == proposal.entry_id,
            store.KBSimilarQuestion.question == proposal.question,
        )
    )
    if not getattr(result, "rowcount", 0):
        return False
    # knowledge.store has no removal yet; the revision row is bumped the way it bumps it, so
    # workers that miss the reload broadcast rebuild on their revision poll.
    row = await session.get(store.KBRevision, 1)
    if row is None:
        session.add(store.KBRevision(id=1, revision=1))
    else:
        row.revision += 1
    await session.flush()
    return True


def _decide(proposal: KbProposal, status: str, by: str) -> None:
    proposal.status, proposal.decided_by, proposal.decided_at = status, by, utcnow()
