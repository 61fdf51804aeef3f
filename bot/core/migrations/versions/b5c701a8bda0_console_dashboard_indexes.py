"""console dashboard indexes: new and lost customers are counted by period

Revision ID: b5c701a8bda0
Revises: 993cdffe958a
Create Date: 2026-11-29 23:00:18.187691
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "b5c701a8bda0"
down_revision: str | None = "993cdffe958a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_follow_relation_added_at", "follow_relation", ["added_at"])
    op.create_index("ix_follow_relation_ended_at", "follow_relation", ["ended_at"])
    op.create_index(
        "ix_follow_relation_userid_added_at", "follow_relation", ["userid", "added_at"]
    )
    op.create_index(
        "ix_follow_relation_userid_ended_at", "follow_relation", ["userid", "ended_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_follow_relation_userid_ended_at", table_name="follow_relation")
    op.drop_index("ix_follow_relation_userid_added_at", table_name="follow_relation")
    op.drop_index("ix_follow_relation_ended_at", table_name="follow_relation")
    op.drop_index("ix_follow_relation_added_at", table_name="follow_relation")
