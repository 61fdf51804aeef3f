"""Indexes the console's lifecycle pages read (bot/domain/lifecycle_views.py); imported at the
bottom of bot.domain.models for Alembic."""

from __future__ import annotations

from sqlalchemy import Index

from bot.domain.models import FollowRelation

# Counting a scope's active customers (per rep, per stage, the customer list's scope) reads
# this index alone instead of a table row per relation. userid leads: with status first,
# SQLite preferred it over the external_userid index for per-customer probes, a full index
# scan per customer.
Index(
    "ix_follow_relation_userid_status",
    FollowRelation.userid,
    FollowRelation.status,
    FollowRelation.external_userid,
)
