"""The customer turns table: one row per wait for a first response (bot/domain/response_times).

Maintained where messages are recorded (bot/domain/turns.py) and backfilled from the message
table by its migration; the dashboard, its first-response list and /stats read it by asked_at.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from bot.core.db import Base, UTCDateTime


class CustomerTurn(Base):
    """A customer's turn: from their first message after a reply to the first reply after it."""

    __tablename__ = "customer_turn"
    __table_args__ = (
        # The period's waits (asked_at range; wait read from the index on SQLite).
        Index("ix_customer_turn_asked_at", "asked_at", "wait"),
        # One customer's turns (maintenance; a team's customers over a period).
        Index("ix_customer_turn_customer_asked", "external_userid", "asked_at"),
        # A customer has at most one open turn: two workers cannot both open one.
        Index(
            "uq_customer_turn_open", "external_userid", unique=True,
            sqlite_where=text("replied_at IS NULL"), postgresql_where=text("replied_at IS NULL"),
        ),  # fmt: skip
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    external_userid: Mapped[str] = mapped_column(String(64))
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    wait: Mapped[float | None] = mapped_column(Float, nullable=True)  # seconds
    source: Mapped[str] = mapped_column(String(16))  # the asking message's: kf | archive
