"""customer_turn: one row per wait for a first response, backfilled from the message table

Revision ID: fa678bd88dab
Revises: e4c1a7d2b9f3
Create Date: 2026-11-30 02:10:51

The backfill is the definition of bot/domain/response_times.py in one set-based statement:
over each customer's kf and archive messages in time order (a reply after a customer message
of the same instant), a turn starts at a
customer message whose previous message is a reply (or none), and ends at the first reply
after it. From then on bot/domain/turns.py keeps the table as messages are recorded
(tests/services/test_turns.py checks that both agree on the same messages).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.core.db

revision: str = "fa678bd88dab"
down_revision: str | None = "e4c1a7d2b9f3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SECONDS = {
    "postgresql": "EXTRACT(EPOCH FROM (reply_at - created_at))",
    "sqlite": "(julianday(reply_at) - julianday(created_at)) * 86400.0",
}
# At the same instant a reply comes after the customer's message (as bot/domain/turns.py has it).
_ORDER = (
    "PARTITION BY external_userid"
    " ORDER BY created_at, CASE WHEN direction = 'out' THEN 1 ELSE 0 END, id"
)
BACKFILL = f"""
INSERT INTO customer_turn (external_userid, asked_at, replied_at, wait, source)
SELECT external_userid, created_at, reply_at, {{seconds}}, source
FROM (
    SELECT external_userid, direction, created_at, source,
           lag(direction) OVER ({_ORDER}) AS prev,
           min(CASE WHEN direction = 'out' THEN created_at END)
               OVER ({_ORDER} ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) AS reply_at
    FROM message
    WHERE source IN ('kf', 'archive') AND external_userid <> ''
) AS m
WHERE direction = 'in' AND (prev IS NULL OR prev = 'out')
"""


def upgrade() -> None:
    op.create_table(
        "customer_turn",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_userid", sa.String(length=64), nullable=False),
        sa.Column("asked_at", bot.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("replied_at", bot.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("wait", sa.Float(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_turn")),
    )
    dialect = op.get_bind().dialect.name
    # Filled before the indexes exist: one sort per index instead of a tree grown row by row.
    op.execute(BACKFILL.format(seconds=_SECONDS.get(dialect, _SECONDS["postgresql"])))
    op.create_index("ix_customer_turn_asked_at", "customer_turn", ["asked_at", "wait"])
    op.create_index(
        "ix_customer_turn_customer_asked", "customer_turn", ["external_userid", "asked_at"]
    )
    op.create_index(
        "uq_customer_turn_open", "customer_turn", ["external_userid"], unique=True,
        sqlite_where=sa.text("replied_at IS NULL"), postgresql_where=sa.text("replied_at IS NULL"),
    )  # fmt: skip


def downgrade() -> None:
    op.drop_index("uq_customer_turn_open", table_name="customer_turn")
    op.drop_index("ix_customer_turn_customer_asked", table_name="customer_turn")
    op.drop_index("ix_customer_turn_asked_at", table_name="customer_turn")
    op.drop_table("customer_turn")
