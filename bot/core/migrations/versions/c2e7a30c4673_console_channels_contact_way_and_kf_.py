"""console: contact_way (联系我 configs) and kf_handover (the handover queue)

Revision ID: c2e7a30c4673
Revises: 7b9523230448
Create Date: 2026-11-29 22:53:25.320775
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.core.db


revision: str = 'c2e7a30c4673'
down_revision: str | None = '7b9523230448'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('kf_handover',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('open_kfid', sa.String(length=64), nullable=False),
    sa.Column('external_userid', sa.String(length=64), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=128), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('servicer_userid', sa.String(length=64), nullable=False),
    sa.Column('assigned_by', sa.String(length=64), nullable=False),
    sa.Column('effect_id', sa.Integer(), nullable=True),
    sa.Column('requested_at', bot.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('taken_at', bot.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_at', bot.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kf_handover'))
    )
    with op.batch_alter_table('kf_handover', schema=None) as batch_op:
        batch_op.create_index('ix_kf_handover_conversation', ['open_kfid', 'external_userid', 'status'], unique=False)
        batch_op.create_index('ix_kf_handover_status_requested', ['status', 'requested_at'], unique=False)

    op.create_table('contact_way',
    sa.Column('state', sa.String(length=30), nullable=False),
    sa.Column('config_id', sa.String(length=64), nullable=False),
    sa.Column('qr_code', sa.String(length=512), nullable=False),
    sa.Column('type', sa.Integer(), nullable=False),
    sa.Column('users', sa.JSON(), nullable=False),
    sa.Column('skip_verify', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', bot.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', bot.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['state'], ['channel.state'], name=op.f('fk_contact_way_state_channel'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('state', name=op.f('pk_contact_way')),
    sa.UniqueConstraint('config_id', name=op.f('uq_contact_way_config_id'))
    )


def downgrade() -> None:
    op.drop_table('contact_way')
    with op.batch_alter_table('kf_handover', schema=None) as batch_op:
        batch_op.drop_index('ix_kf_handover_status_requested')
        batch_op.drop_index('ix_kf_handover_conversation')

    op.drop_table('kf_handover')
