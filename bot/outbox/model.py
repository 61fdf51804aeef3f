"""The effect row: one outward call to make, with its delivery state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.core.db import Base, UTCDateTime, utcnow

# Statuses. pending: waiting for its turn (next_attempt_at, or an earlier effect of its group);
# sending: claimed by a worker (a claim older than the lease is taken over: a crash);
# done: delivered, or WeCom said it was already done (outcome says which);
# parked: WeCom refused it, or it kept failing: an admin retries or discards it;
# discarded: an admin gave it up.
PENDING, SENDING, DONE, PARKED, DISCARDED = "pending", "sending", "done", "parked", "discarded"
OPEN_STATUSES = (PENDING, SENDING)


class Effect(Base):
    """One call to WeCom that the product owes, written in the transaction that decided it."""

    __tablename__ = "outbox_effect"
    __table_args__ = (
        Index("ix_outbox_effect_due", "status", "priority", "next_attempt_at"),
        Index("ix_outbox_effect_group", "group_key", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    # Idempotency key: recording the same effect twice (a replayed callback) is a no-op.
    key: Mapped[str | None] = mapped_column(String(191), unique=True, nullable=True)
    # Effects of one group go out one at a time, in id order ("" = no order).
    group_key: Mapped[str] = mapped_column(String(128), default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Higher goes first: a welcome's code lives 20 s, so it must not queue behind a backlog.
    priority: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    # What delivery came to: sent, or a kind's own word (taken, human, expired, ...).
    outcome: Mapped[str] = mapped_column(String(16), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_errcode: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    # WeCom's answer on success (msgid, per-customer results of a transfer, ...).
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    claimed_by: Mapped[str] = mapped_column(String(64), default="")
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
