"""kb_proposal.suggested_by: the reps whose pick counts towards the quorum

Revision ID: 870231454946
Revises: fa678bd88dab
Create Date: 2026-11-30 03:28:09

A pick from the rep's own KB search waits for a supervisor; only picks made among a message's
suggestions count towards the reps' quorum. Every pick stored before this revision was such a
pick (the search path comes with it), so the column starts as a copy of `reps`.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "870231454946"
down_revision: str | None = "fa678bd88dab"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("kb_proposal", schema=None) as batch_op:
        batch_op.add_column(sa.Column("suggested_by", sa.JSON(), nullable=True))
    op.execute("UPDATE kb_proposal SET suggested_by = reps")
    with op.batch_alter_table("kb_proposal", schema=None) as batch_op:
        batch_op.alter_column("suggested_by", existing_type=sa.JSON(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("kb_proposal", schema=None) as batch_op:
        batch_op.drop_column("suggested_by")
