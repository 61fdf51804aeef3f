"""kb rule exclusions (negations): phrases that stop a keyword rule from firing

Revision ID: 7b9523230448
Revises: 4b24e62053d6
Create Date: 2026-11-29 22:53:18.001227
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '7b9523230448'
down_revision: str | None = '4b24e62053d6'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing rules get no exclusions: '[]' on SQLite and PostgreSQL alike.
    with op.batch_alter_table('kb_rule', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('negations', sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )


def downgrade() -> None:
    with op.batch_alter_table('kb_rule', schema=None) as batch_op:
        batch_op.drop_column('negations')
