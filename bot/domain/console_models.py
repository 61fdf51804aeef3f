"""Indexes the operator console's dashboard needs on existing tables (docs/console.md).

New customers and lost customers are counted by period: a range on added_at / ended_at.
"""

from __future__ import annotations

from sqlalchemy import Index

from bot.domain.models import FollowRelation

FOLLOW_ADDED = Index("ix_follow_relation_added_at", FollowRelation.added_at)
FOLLOW_ENDED = Index("ix_follow_relation_ended_at", FollowRelation.ended_at)
