"""Recording effects in the caller's transaction, and the queries admins and faces need."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, event, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from bot.core.db import utcnow
from bot.core.errors import NotFoundError, UsageError
from bot.outbox import kinds
from bot.outbox.model import DISCARDED, DONE, OPEN_STATUSES, PARKED, PENDING, SENDING, Effect

# session.info keys: ids recorded in this transaction, and whom to wake after commit.
# An effect's status in the words an admin reads in chat (/retry, /discard).
STATUS_LABEL = {PENDING: "等待发送", SENDING: "正在发送", DONE: "已完成", DISCARDED: "已放弃"}
_NEW = "outbox_new"
WAKE = "outbox_wake"

KEY_MAX = 191


async def add(
    session: AsyncSession,
    kind: str,
    payload: dict[str, Any],
    *,
    key: str | None = None,
    group: str = "",
    not_before: datetime | None = None,
) -> int | None:
    """Record an effect in the session's transaction; its id, or None if `key` was seen.

    The sender delivers it after commit; with a rollback it never existed.
    """
    if kind not in kinds.KINDS:
        raise ValueError(f"unknown effect kind {kind!r}")
    if key is not None and len(key) > KEY_MAX:
        raise ValueError("effect key too long")
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(Effect)
        .values(
            kind=kind, key=key, group_key=group[:128], payload=payload, status=PENDING,
            priority=kinds.KINDS[kind].priority,
            next_attempt_at=not_before, created_at=utcnow(), outcome="", attempts=0,
            last_error="", result={}, claimed_by="",
        )  # fmt: skip
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(Effect.id)
    )
    effect_id = await session.scalar(stmt)
    if effect_id is not None:
        session.info.setdefault(_NEW, []).append(effect_id)
    return effect_id


def _after_commit(session: Session) -> None:
    ids: list[int] | None = session.info.pop(_NEW, None)
    wake: Callable[[Iterable[int]], None] | None = session.info.get(WAKE)
    if ids and wake is not None:
        wake(ids)


def _after_rollback(session: Session) -> None:
    session.info.pop(_NEW, None)


# Every session: wake the sender after a commit that recorded effects (no polling delay).
event.listen(Session, "after_commit", _after_commit)
event.listen(Session, "after_soft_rollback", lambda session, _previous: _after_rollback(session))


async def by_key(session: AsyncSession, key: str) -> Effect | None:
    """The effect recorded under an idempotency key."""
    return await session.scalar(select(Effect).where(Effect.key == key))


async def counts(session: AsyncSession) -> dict[str, int]:
    """Effects by status, for the health page."""
    rows = await session.execute(select(Effect.status, func.count()).group_by(Effect.status))
    return {status: n for status, n in rows.all()}


async def oldest_open(session: AsyncSession) -> datetime | None:
    """When the oldest effect still waiting to go out was recorded."""
    return await session.scalar(
        select(func.min(Effect.created_at)).where(Effect.status.in_(OPEN_STATUSES))
    )


async def parked(session: AsyncSession, limit: int = 50) -> Sequence[Effect]:
    """Effects that need an admin: WeCom refused them or they kept failing."""
    rows = await session.scalars(
        select(Effect).where(Effect.status == PARKED).order_by(Effect.id).limit(limit)
    )
    return list(rows)


async def retry(session: AsyncSession, effect_id: int) -> Effect:
    """Give a parked effect another round of attempts (an admin fixed the cause)."""
    effect = await _parked_one(session, effect_id)
    effect.status, effect.attempts, effect.next_attempt_at = PENDING, 0, None
    session.info.setdefault(_NEW, []).append(effect.id)
    await session.flush()
    return effect


async def discard(session: AsyncSession, effect_id: int) -> Effect:
    """Give up a parked effect for good (it stays listed, as discarded)."""
    effect = await _parked_one(session, effect_id)
    effect.status, effect.done_at = DISCARDED, utcnow()
    await session.flush()
    return effect


async def _parked_one(session: AsyncSession, effect_id: int) -> Effect:
    effect = await session.get(Effect, effect_id, with_for_update=True)
    if effect is None:
        raise NotFoundError(f"没有编号为 {effect_id} 的待发操作")
    if effect.status != PARKED:
        label = STATUS_LABEL.get(effect.status, effect.status)
        raise UsageError(f"操作 #{effect_id} 当前状态是「{label}」，只有搁置的可以重试或放弃")
    return effect


async def purge_done(session: AsyncSession, *, before: datetime, limit: int) -> int:
    """Delete up to `limit` delivered or discarded effects finished before `before` (retention:
    their payloads carry message texts and names); how many went."""
    ids = select(Effect.id).where(
        Effect.status.in_((DONE, DISCARDED)), Effect.done_at < before
    ).limit(limit)
    result = await session.execute(
        delete(Effect).where(Effect.id.in_(ids)).execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
