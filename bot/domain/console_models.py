"""Indexes the operator console's dashboard needs on existing tables (docs/console.md).

New customers and lost customers are counted by period: a range on added_at / ended_at, for
everyone (an admin) or for a team's reps (userid IN (...) with the same range).
"""

from __future__ import annotations

from sqlalchemy import Index

from bot.domain.models import FollowRelation

FOLLOW_ADDED = Index("ix_follow_relation_added_at", FollowRelation.added_at)
FOLLOW_ENDED = Index("ix_follow_relation_ended_at", FollowRelation.ended_at)
REP_ADDED = Index(
    "ix_follow_relation_userid_added_at", FollowRelation.userid, FollowRelation.added_at
)
REP_ENDED = Index(
    "ix_follow_relation_userid_ended_at", FollowRelation.userid, FollowRelation.ended_at
)
