"""Keeping customer_turn in step with the message table, as messages are recorded.

The definition is bot/domain/response_times.py's: over a customer's kf and archive messages
in time order (at the same instant a reply comes after the customer's message), a turn starts
at each customer message that follows a reply or starts the history, and ends at the first
reply after it. The migration that created the table computed that from the whole message
table in one statement; here each message just stored is applied to its customer's turns, in
any arrival order:

- a customer message inside an open (or later-answered) wait changes nothing;
- one after the last reply opens a turn; if it arrived late, before turns already recorded,
  its wait runs to the first reply after it, or, when no reply lies between, it is where the
  next turn really started (that turn's start moves back to it);
- a reply closes the turn it follows if that turn is open or was closed by a later reply
  (a reply pulled late from the archive); customer messages between it and the old reply then
  form a turn of their own. A reply before every turn, or after a closed one, changes nothing.

Concurrency: the customers' rows are locked first (PostgreSQL), so two workers recording the
same customer's messages take turns; a partial unique index keeps one open turn per customer.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Row, Table, and_, bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.models import Customer, Message
from bot.domain.stats import CUSTOMER_SOURCES
from bot.domain.turn_models import CustomerTurn


@dataclass(frozen=True, slots=True)
class Event:
    """A message just stored, as far as turns are concerned."""

    external_userid: str
    direction: str  # in | out
    at: datetime
    source: str


def events_of(messages: Iterable[Message]) -> list[Event]:
    """The turn events of Message rows stored in this transaction."""
    return [Event(m.external_userid, m.direction, m.created_at, m.source) for m in messages]


@dataclass(frozen=True, slots=True)
class Known:
    """What was recorded about some customers before a batch of their messages is stored."""

    last_message: dict[str, datetime]  # their latest kf or archive message
    latest_turn: dict[str, tuple[int, datetime, datetime | None]]  # id, asked_at, replied_at


async def _lock(session: AsyncSession, euids: Iterable[str]) -> None:
    if session.get_bind().dialect.name == "postgresql":
        # Serialise per customer across workers, in one order so two batches cannot deadlock.
        await session.execute(
            select(Customer.external_userid)
            .where(Customer.external_userid.in_(sorted(set(euids))))
            .order_by(Customer.external_userid)
            .with_for_update()
        )


async def before_batch(session: AsyncSession, euids: Collection[str]) -> Known:
    """Lock the customers and read their turns' state; call before storing their messages."""
    euids = sorted(set(euids))
    await _lock(session, euids)
    last = await session.execute(
        select(Message.external_userid, func.max(Message.created_at))
        .where(Message.external_userid.in_(euids), Message.source.in_(CUSTOMER_SOURCES))
        .group_by(Message.external_userid)
    )
    newest = (
        select(CustomerTurn.external_userid, func.max(CustomerTurn.asked_at).label("asked_at"))
        .where(CustomerTurn.external_userid.in_(euids))
        .group_by(CustomerTurn.external_userid)
        .subquery()
    )
    turns = await session.execute(
        select(CustomerTurn.external_userid, CustomerTurn.id, CustomerTurn.asked_at,
               CustomerTurn.replied_at)
        .join(newest, and_(newest.c.external_userid == CustomerTurn.external_userid,
                           newest.c.asked_at == CustomerTurn.asked_at))
        .order_by(CustomerTurn.id)
    )  # fmt: skip
    return Known({e: at for e, at in last}, {e: (i, a, r) for e, i, a, r in turns})


async def record(
    session: AsyncSession, events: Sequence[Event], known: Known | None = None
) -> None:
    """Apply messages stored in the caller's transaction to their customers' turns.

    With `known` (read by before_batch), a customer whose messages all come after everything
    recorded about them is settled in memory and written in a few statements; the others (and
    every customer without `known`) go message by message against the tables.
    """
    events = [e for e in events if e.source in CUSTOMER_SOURCES and e.external_userid]
    if not events:
        return
    if known is None:
        await _lock(session, (e.external_userid for e in events))
    ordered = sorted(events, key=lambda e: (e.at, e.direction == "out"))
    slow = ordered
    if known is not None:
        last = known.last_message
        late = {e.external_userid for e in ordered
                if e.external_userid in last and e.at < last[e.external_userid]}  # fmt: skip
        await _in_order(session, [e for e in ordered if e.external_userid not in late], known)
        slow = [e for e in ordered if e.external_userid in late]
    for event in slow:
        if event.direction == "in":
            await _asked(session, event)
        else:
            await _replied(session, event)


async def _in_order(session: AsyncSession, events: list[Event], known: Known) -> None:
    """Customers' messages none older than anything recorded about them: settled in memory."""
    latest: dict[str, dict[str, Any]] = {}  # customer -> their latest turn, as it becomes
    for euid, (turn_id, asked_at, replied_at) in known.latest_turn.items():
        latest[euid] = {"id": turn_id, "asked_at": asked_at, "replied_at": replied_at}
    new: list[dict[str, Any]] = []
    closed: list[dict[str, Any]] = []
    for e in events:
        turn = latest.get(e.external_userid)
        if e.direction == "out":
            if turn is not None and turn["replied_at"] is None:
                turn.update(replied_at=e.at, wait=_seconds(e.at, turn["asked_at"]))
                if "id" in turn:
                    closed.append(turn)
            continue
        if turn is not None and (turn["replied_at"] is None or turn["replied_at"] >= e.at):
            continue  # already waiting (a reply at this very instant comes after this message)
        turn = {"external_userid": e.external_userid, "asked_at": e.at, "replied_at": None,
                "wait": None, "source": e.source}  # fmt: skip
        if e.at == known.last_message.get(e.external_userid):
            # Stored at the instant of their latest message with no wait open: that message
            # was a reply, which comes after this one and so answers it.
            turn.update(replied_at=e.at, wait=0.0)
        latest[e.external_userid] = turn
        new.append(turn)
    if closed:  # before the inserts: one open turn a customer
        table = cast(Table, CustomerTurn.__table__)
        await session.execute(
            update(table)
            .where(table.c.id == bindparam("turn_id"), table.c.replied_at.is_(None))
            .values(replied_at=bindparam("reply_at"), wait=bindparam("reply_wait")),
            [{"turn_id": t["id"], "reply_at": t["replied_at"], "reply_wait": t["wait"]}
             for t in closed],
        )  # fmt: skip
    if new:
        await session.execute(insert(CustomerTurn), new)


def _seconds(later: datetime | None, earlier: datetime) -> float | None:
    return None if later is None else max(0.0, (later - earlier).total_seconds())


# Plain rows, not ORM objects: the updates below are SQL, and the session's identity map must
# not hand back a turn as it was before them.
_TURN = (CustomerTurn.id, CustomerTurn.asked_at, CustomerTurn.replied_at)


TurnRow = Row[int, datetime, datetime | None]


async def _turn_before(session: AsyncSession, euid: str, at: datetime) -> TurnRow | None:
    """(id, asked_at, replied_at) of the customer's latest turn started at or before `at`."""
    found = await session.execute(
        select(*_TURN)
        .where(CustomerTurn.external_userid == euid, CustomerTurn.asked_at <= at)
        .order_by(CustomerTurn.asked_at.desc(), CustomerTurn.id.desc())
        .limit(1)
    )
    return found.first()


def _messages(euid: str, direction: str) -> list[ColumnElement[bool]]:
    return [
        Message.external_userid == euid,
        Message.direction == direction,
        Message.source.in_(CUSTOMER_SOURCES),
    ]


async def _asked(session: AsyncSession, e: Event) -> None:
    before = await _turn_before(session, e.external_userid, e.at)
    if before is not None and (before.replied_at is None or before.replied_at >= e.at):
        return  # the customer was already waiting
    reply = await session.scalar(
        select(func.min(Message.created_at)).where(
            *_messages(e.external_userid, "out"), Message.created_at >= e.at
        )
    )
    found = await session.execute(
        select(*_TURN)
        .where(CustomerTurn.external_userid == e.external_userid, CustomerTurn.asked_at > e.at)
        .order_by(CustomerTurn.asked_at, CustomerTurn.id)
        .limit(1)
    )
    after = found.first()
    if after is not None and (reply is None or reply >= after.asked_at):
        # Recorded late, with no reply between it and the next turn: that wait began here.
        await session.execute(
            update(CustomerTurn)
            .where(CustomerTurn.id == after.id)
            .values(asked_at=e.at, wait=_seconds(after.replied_at, e.at), source=e.source)
            .execution_options(synchronize_session=False)
        )
        return
    await session.execute(insert(CustomerTurn).values(
        external_userid=e.external_userid, asked_at=e.at, replied_at=reply,
        wait=_seconds(reply, e.at), source=e.source,
    ))  # fmt: skip


async def _replied(session: AsyncSession, e: Event) -> None:
    turn = await _turn_before(session, e.external_userid, e.at)
    if turn is None or (turn.replied_at is not None and turn.replied_at <= e.at):
        return  # nothing was waiting for this reply
    old_reply = turn.replied_at
    closed = await session.execute(
        update(CustomerTurn)
        .where(
            CustomerTurn.id == turn.id,
            (CustomerTurn.replied_at.is_(None)) | (CustomerTurn.replied_at > e.at),
        )
        .values(replied_at=e.at, wait=_seconds(e.at, turn.asked_at))
        .execution_options(synchronize_session=False)
    )
    if not closed.rowcount:  # type: ignore[attr-defined]
        return
    # Customer messages after this (late) reply and before the old one start a turn of their
    # own, which the old reply answers (or which is still open).
    later = [*_messages(e.external_userid, "in"), Message.created_at > e.at]
    if old_reply is not None:
        later.append(Message.created_at <= old_reply)
    first = await session.execute(
        select(Message.created_at, Message.source)
        .where(*later)
        .order_by(Message.created_at, Message.id)
        .limit(1)
    )
    row = first.first()
    if row is None:
        return
    asked_at, source = row
    await session.execute(insert(CustomerTurn).values(
        external_userid=e.external_userid, asked_at=asked_at, replied_at=old_reply,
        wait=_seconds(old_reply, asked_at), source=source,
    ))  # fmt: skip
