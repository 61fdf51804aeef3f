"""console lifecycle pages: follow_relation (userid, status, external_userid) index

Revision ID: e4c1a7d2b9f3
Revises: c2e7a30c4673
Create Date: 2026-11-29 23:55:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "e4c1a7d2b9f3"
down_revision: str | None = 'c2e7a30c4673'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_follow_relation_userid_status",
        "follow_relation",
        ["userid", "status", "external_userid"],
    )


def downgrade() -> None:
    op.drop_index("ix_follow_relation_userid_status", table_name="follow_relation")
