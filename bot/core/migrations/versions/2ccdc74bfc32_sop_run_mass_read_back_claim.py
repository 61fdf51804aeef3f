"""sop_run.mass_check_at, mass_note: the 企业群发 read-back is claimed, and a task's is read

Revision ID: 2ccdc74bfc32
Revises: 870231454946
Create Date: 2026-11-30 05:08:48

A worker claims a waiting step's read by moving `mass_check_at` on (one WeCom call per step
per interval across workers); `mass_note` reports the 企业群发 beside a rep task. Steps
waiting at upgrade are due for a read at once: those in status `mass`, and task steps whose
企业群发 effect is still in the outbox (before this revision their result was never read).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.core.db

revision: str = "2ccdc74bfc32"
down_revision: str | None = "870231454946"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WAITING = "已提交企业群发，待员工确认"


def upgrade() -> None:
    with op.batch_alter_table("sop_run", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("mass_check_at", bot.core.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("mass_note", sa.String(length=255), server_default="", nullable=False)
        )
        batch_op.create_index("ix_sop_run_mass_check", ["mass_check_at"], unique=False)
    waiting = sa.text(
        "UPDATE sop_run SET mass_check_at = due_at, mass_note = :note WHERE status = 'mass' "
        "OR (status IN ('task', 'sent') AND EXISTS (SELECT 1 FROM outbox_effect e "
        "WHERE e.kind = 'mass_msg' AND e.group_key = 'sop:' || sop_run.external_userid "
        "AND e.key LIKE 'sop:' || CAST(sop_run.id AS VARCHAR(20)) || ':%'))"
    )
    op.get_bind().execute(waiting, {"note": WAITING})


def downgrade() -> None:
    with op.batch_alter_table("sop_run", schema=None) as batch_op:
        batch_op.drop_index("ix_sop_run_mass_check")
        batch_op.drop_column("mass_note")
        batch_op.drop_column("mass_check_at")
