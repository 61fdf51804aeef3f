"""The one pipeline every inbound customer text goes through (kf, archive ingest, sidebar).

Store the message (idempotent on (source, source_msgid)), run the keyword rules and act on them,
run the FAQ matcher, publish a live event for the sidebar. It never writes to the customer: the
kf flow decides auto-replies from the result.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from aiohttp import web
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.db import utcnow
from bot.core.keys import CACHE, DB, KB
from bot.domain import customers, rule_actions, shapes, turns
from bot.domain.models import Message
from knowledge import matcher
from knowledge.index import Match
from knowledge.rules import RuleHit, RuleResult

logger = logging.getLogger(__name__)

Source = Literal["kf", "archive", "sidebar"]
SOURCES: tuple[Source, ...] = ("kf", "archive", "sidebar")
# WeCom texts are at most 2048 bytes; anything longer is cut before storing and matching.
TEXT_MAX = 4000
SUGGESTIONS = 3


def sidebar_channel(external_userid: str) -> str:
    """Cache pub/sub channel of live events about one customer (read by the sidebar)."""
    return f"sidebar:customer:{external_userid}"


@dataclass(frozen=True, slots=True)
class PipelineResult:
    """What the pipeline found and did for one customer text."""

    message_id: int
    external_userid: str
    text: str
    matches: tuple[Match, ...]
    decision: matcher.Action
    rule_hits: tuple[RuleHit, ...]
    actions_taken: tuple[str, ...]
    duplicate: bool
    # The bot already finished with this message (kf); only ever True for a duplicate.
    answered: bool = False
    # The rep the message is about (given, or the customer's rep).
    userid: str = ""

    @property
    def best(self) -> Match | None:
        """The top match, if any."""
        return self.matches[0] if self.matches else None

    def suggestions_json(self) -> list[dict[str, Any]]:
        """The top matches as JSON objects."""
        return [shapes.suggestion_json(m) for m in self.matches]

    def rule_hits_json(self) -> list[dict[str, Any]]:
        """The rule hits as JSON objects."""
        return [shapes.rule_hit_json(h) for h in self.rule_hits]


@dataclass(frozen=True, slots=True)
class Prepared:
    """One customer text, scanned and matched, with what its rule actions need from WeCom."""

    source: str
    external_userid: str
    text: str
    userid: str
    rules: RuleResult
    matches: tuple[Match, ...]
    decision: matcher.Action
    actions: rule_actions.Prepared | None


async def prepare(
    app: web.Application,
    *,
    source: str,
    external_userid: str,
    text: str,
    userid: str = "",
    allow_auto_reply: bool = False,
) -> Prepared:
    """Rule-scan and match (pure), and read what the rule actions need (before any transaction).

    `decision` is "auto" only when allow_auto_reply is set (kf); elsewhere a confident match
    is a suggestion for the rep.
    """
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}")
    if not external_userid:
        raise ValueError("external_userid is required")
    # U+0000 cannot be stored in PostgreSQL text and means nothing in a chat message.
    text = text.replace("\x00", "").strip()[:TEXT_MAX]
    snapshot = app[KB].snapshot
    found: RuleResult = snapshot.rules.scan(text)
    decided = matcher.decide(
        snapshot.index.match(text, limit=SUGGESTIONS), query=text, rules=snapshot.rules,
        calibration=snapshot.calibration,
    )  # fmt: skip
    decision = decided.action
    if decision == "auto" and not allow_auto_reply:
        decision = "suggest"
    actions = None
    if found:
        actions = await rule_actions.prepare(
            app, external_userid=external_userid, userid=userid, source=source, result=found
        )
    return Prepared(source, external_userid, text, userid, found, decided.matches, decision,
                    actions)  # fmt: skip


async def record(
    app: web.Application,
    session: AsyncSession,
    prepared: Prepared,
    *,
    open_kfid: str = "",
    source_msgid: str | None = None,
    sent_at: datetime | None = None,
) -> PipelineResult:
    """Store the message and take the rule actions in the caller's transaction.

    `sent_at`: when the customer sent it (kf's send_time), so that a message read late still
    counts from then, as the person's reply read back from WeCom does; default now.

    A message already seen (same source and source_msgid) comes back with duplicate=True and
    nothing is done twice. Publish the result (`publish`) after the transaction commits.
    """
    p = prepared
    message, duplicate = await _store(
        session, source=p.source, external_userid=p.external_userid, text=p.text,
        userid=p.userid, open_kfid=open_kfid, source_msgid=source_msgid, matches=p.matches,
        hits=p.rules.hits, sent_at=sent_at,
    )  # fmt: skip
    actions: list[str] = []
    if not duplicate and p.rules and p.actions is not None:
        plan = await rule_actions.apply(
            app, session, external_userid=p.external_userid, prepared=p.actions,
            result=p.rules, text=p.text, now=utcnow(),
        )  # fmt: skip
        actions = plan.actions
    logger.info(
        "pipeline source=%s msg=%s customer=%s decision=%s hits=%d dup=%s",
        p.source, message.id, p.external_userid, p.decision, len(p.rules.hits), duplicate,
    )  # fmt: skip
    return PipelineResult(
        message_id=message.id, external_userid=p.external_userid, text=p.text,
        matches=p.matches, decision=p.decision, rule_hits=p.rules.hits,
        actions_taken=tuple(actions), duplicate=duplicate,
        answered=message.answered_at is not None, userid=message.userid,
    )  # fmt: skip


async def handle_customer_text(
    app: web.Application,
    *,
    source: str,
    external_userid: str,
    text: str,
    userid: str = "",
    source_msgid: str | None = None,
) -> PipelineResult:
    """Prepare, record in a transaction of its own, publish (archive ingest, the sidebar)."""
    prepared = await prepare(
        app, source=source, external_userid=external_userid, text=text, userid=userid
    )
    async with app[DB].begin() as session:
        result = await record(app, session, prepared, source_msgid=source_msgid)
    if not result.duplicate:
        await publish(app, result, source=source)
    return result


async def record_inbound(
    session: AsyncSession,
    *,
    source: str,
    external_userid: str,
    text: str,
    open_kfid: str = "",
    source_msgid: str | None = None,
    sent_at: datetime | None = None,
) -> PipelineResult:
    """Store a customer message that carries no question (an image, a voice note) as is.

    No rules, no matching, no live event: only the row, so a re-read is a duplicate.
    """
    message, duplicate = await _store(
        session, source=source, external_userid=external_userid, text=text, userid="",
        open_kfid=open_kfid, source_msgid=source_msgid, matches=(), hits=(), sent_at=sent_at,
    )  # fmt: skip
    return PipelineResult(
        message_id=message.id, external_userid=external_userid, text=text, matches=(),
        decision="none", rule_hits=(), actions_taken=(), duplicate=duplicate,
        answered=message.answered_at is not None, userid=message.userid,
    )  # fmt: skip


async def mark_answered(session: AsyncSession, message_id: int) -> None:
    """Record that the bot finished with an inbound message (in the deciding transaction)."""
    await session.execute(
        update(Message)
        .where(Message.id == message_id, Message.answered_at.is_(None))
        .values(answered_at=utcnow())
    )


async def _store(
    session: AsyncSession,
    *,
    source: str,
    external_userid: str,
    text: str,
    userid: str,
    open_kfid: str,
    source_msgid: str | None,
    matches: tuple[Match, ...],
    hits: tuple[RuleHit, ...],
    sent_at: datetime | None = None,
) -> tuple[Message, bool]:
    """Insert the inbound message; (the existing row, True) when it was seen before."""
    if source_msgid:
        existing = await _find(session, source, source_msgid)
        if existing is not None:
            return existing, True
    customer = await customers.upsert_customer(session, external_userid=external_userid)
    customer.last_interaction_at = utcnow()
    if not userid:
        userid = await customers.rep_of(session, external_userid) or ""
    best = matches[0] if matches else None
    message = Message(
        created_at=sent_at or utcnow(), source=source, source_msgid=source_msgid or None,
        direction="in",
        external_userid=external_userid, userid=userid, open_kfid=open_kfid, text=text,
        matched_faq=best.entry.id if best else None, score=best.confidence if best else None,
        suggestions=[shapes.suggestion_json(m) for m in matches],
        rule_hits=[{"rule_id": h.rule.id, "name": h.rule.name, "phrase": h.phrase} for h in hits],
    )  # fmt: skip
    existing = await _insert_once(session, message)
    return (existing, True) if existing is not None else (message, False)


async def record_reply(
    session: AsyncSession, *, source: str, external_userid: str, text: str, open_kfid: str = "",
    matched_faq: str | None = None, auto_replied: bool = False,
) -> Message:
    """Store a reply the product sent to a customer (the kf bot's answer); it ends their turn."""
    message = Message(
        created_at=utcnow(), source=source, direction="out", external_userid=external_userid,
        open_kfid=open_kfid, text=text, matched_faq=matched_faq, auto_replied=auto_replied,
    )  # fmt: skip
    return await _add_reply(session, message)


async def record_servicer_reply(
    session: AsyncSession, *, external_userid: str, userid: str, text: str, open_kfid: str,
    source_msgid: str, sent_at: datetime,
) -> bool:
    """Store a person's kf reply (sent from the WeCom client, read back by kf sync) once; it
    ends the customer's turn at the time it was sent. False when it was stored already."""
    if await _find(session, "kf", source_msgid) is not None:
        return False  # a re-read page
    return await _insert_once(session, Message(
        created_at=sent_at, source="kf", source_msgid=source_msgid, direction="out",
        external_userid=external_userid, userid=userid, open_kfid=open_kfid, text=text,
    )) is None  # fmt: skip


async def _insert_once(session: AsyncSession, message: Message) -> Message | None:
    """Insert a message WeCom identifies (source, source_msgid) and bring its turn up to date;
    when a concurrent delivery of the same message won the insert, that row instead."""
    try:
        async with session.begin_nested():
            session.add(message)
    except IntegrityError:
        existing = await _find(session, message.source, message.source_msgid or "")
        if existing is None:
            raise
        return existing
    await turns.record(session, turns.events_of([message]))
    return None


async def _add_reply(session: AsyncSession, message: Message) -> Message:
    """Insert an outbound message; it ends the customer's open turn (first-response time)."""
    session.add(message)
    await session.flush()
    await turns.record(session, turns.events_of([message]))
    return message


async def _find(session: AsyncSession, source: str, source_msgid: str) -> Message | None:
    return await session.scalar(
        select(Message).where(Message.source == source, Message.source_msgid == source_msgid)
    )


async def publish(
    app: web.Application, result: PipelineResult, *, source: str, reply_status: str | None = None
) -> None:
    """Push the result to sidebars open on this customer (any worker); never raises.

    reply_status is what became of the bot's kf answer (bot.domain.answers), read after commit.
    """
    payload = {
        "reply_status": reply_status,
        "type": "customer_message",
        "message_id": result.message_id,
        "external_userid": result.external_userid,
        "userid": result.userid,
        "source": source,
        "text": result.text,
        "decision": result.decision,
        "suggestions": result.suggestions_json(),
        "rule_hits": result.rule_hits_json(),
        "actions": list(result.actions_taken),
        "auto_replied": reply_status == "sent",
        "at": utcnow().isoformat(),
    }
    try:
        await app[CACHE].publish(
            sidebar_channel(result.external_userid), json.dumps(payload, ensure_ascii=False)
        )
    except Exception:  # noqa: BLE001 - a live push is best effort; the message is stored
        logger.exception("sidebar publish failed msg=%s", result.message_id)
