"""The pipeline for a source that delivers messages by the hundred (the chat archive).

The same rows and rule actions as `pipeline.record`, in a few statements per batch instead
of a few per message: customers created or touched at once, messages inserted together, rule
actions taken only for the texts that hit a rule. Reps' replies are stored as outbound
messages (the customer's timeline and the first-response time) and feed nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from aiohttp import web
from sqlalchemy import insert, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.db import Base, utcnow
from bot.domain import rule_actions, shapes, turns
from bot.domain.models import Customer, Message
from bot.domain.pipeline import PipelineResult, Prepared


@dataclass(frozen=True, slots=True)
class Entry:
    """One message of a batch: a customer's (in) or a rep's (out)."""

    direction: Literal["in", "out"]
    external_userid: str
    userid: str
    text: str
    source_msgid: str
    # When it was sent, as the source recorded it (the archive's msgtime).
    sent_at: datetime | None = None
    # A customer's text: its rule scan and matches (pipeline.prepare, before the transaction).
    prepared: Prepared | None = None


async def insert_ignore_many(
    session: AsyncSession, model: type[Base], rows: Sequence[dict[str, object]]
) -> None:
    """INSERT ... ON CONFLICT DO NOTHING for many rows in one executemany."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    await session.execute(insert(model).on_conflict_do_nothing(), list(rows))


async def record_batch(
    app: web.Application, session: AsyncSession, *, source: str, entries: Sequence[Entry]
) -> list[PipelineResult]:
    """Store messages not stored before (the caller filtered their msgids) and take the rule
    actions, in the caller's transaction; the results of customers' texts, to publish after
    it commits. A concurrent insert of the same msgid fails the transaction: re-read then."""
    if not entries:
        return []
    now = utcnow()
    euids = sorted({e.external_userid for e in entries})
    await insert_ignore_many(session, Customer, [{"external_userid": e} for e in euids])
    known = await turns.before_batch(session, euids)  # locks the customers, in one order
    inbound = sorted({e.external_userid for e in entries if e.direction == "in"})
    if inbound:
        await session.execute(
            update(Customer).where(Customer.external_userid.in_(inbound))
            .values(last_interaction_at=now)
        )  # fmt: skip
    # One executemany (bulk INSERT ... RETURNING, in parameter order), not a unit of work per
    # message: the ORM's per-object bookkeeping was most of the cost of storing a batch.
    rows = [_row(source, e, now) for e in entries]
    ids = list(await session.scalars(
        insert(Message).returning(Message.id, sort_by_parameter_order=True), rows
    ))  # fmt: skip
    # The turns see each message at the time stored for it (the row's created_at).
    await turns.record(session, [
        turns.Event(r["external_userid"], r["direction"], r["created_at"], source) for r in rows
    ], known)  # fmt: skip
    results = []
    for entry, message_id in zip(entries, ids, strict=True):
        p = entry.prepared
        if p is None:
            continue
        actions: list[str] = []
        if p.rules and p.actions is not None:
            plan = await rule_actions.apply(
                app, session, external_userid=p.external_userid, prepared=p.actions,
                result=p.rules, text=p.text, now=now,
            )  # fmt: skip
            actions = plan.actions
        results.append(PipelineResult(
            message_id=message_id, external_userid=p.external_userid, text=p.text,
            matches=p.matches, decision=p.decision, rule_hits=p.rules.hits,
            actions_taken=tuple(actions), duplicate=False, userid=entry.userid,
        ))  # fmt: skip
    return results


def _row(source: str, entry: Entry, now: datetime) -> dict[str, Any]:
    """The message's column values (every column, so one executemany serves the batch)."""
    p = entry.prepared
    best = p.matches[0] if p is not None and p.matches else None
    hits = p.rules.hits if p is not None else ()
    return {
        "source": source, "source_msgid": entry.source_msgid, "direction": entry.direction,
        "external_userid": entry.external_userid, "userid": entry.userid, "open_kfid": "",
        "text": p.text if p is not None else entry.text.replace("\x00", ""),
        "matched_faq": best.entry.id if best else None,
        "score": best.confidence if best else None, "auto_replied": False,
        "suggestions": [shapes.suggestion_json(m) for m in p.matches] if p is not None else [],
        "rule_hits": [{"rule_id": h.rule.id, "name": h.rule.name, "phrase": h.phrase}
                      for h in hits],
        "answered_at": None, "created_at": entry.sent_at or now,
    }  # fmt: skip
