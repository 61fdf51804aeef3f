"""Tables of the customer lifecycle (issue 13): stages, tag removals, SOP rules and runs,
the 公海 pool and customer moves. Imported at the bottom of bot.domain.models for Alembic."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.core.db import Base, UTCDateTime, utcnow
from bot.domain.models import Customer, CustomerTag, FollowRelation, Followup


class CustomerStage(Base):
    """A customer's current stage (no row: the first configured stage)."""

    __tablename__ = "customer_stage"
    __table_args__ = (Index("ix_customer_stage_stage", "stage"),)

    external_userid: Mapped[str] = mapped_column(
        ForeignKey("customer.external_userid", ondelete="CASCADE"), primary_key=True
    )
    stage: Mapped[str] = mapped_column(String(32))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StageChange(Base):
    """One change of a customer's stage, kept for history, the funnel and SOP triggers."""

    __tablename__ = "stage_change"
    __table_args__ = (Index("ix_stage_change_to_at", "to_stage", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    external_userid: Mapped[str] = mapped_column(
        ForeignKey("customer.external_userid", ondelete="CASCADE"), index=True
    )
    from_stage: Mapped[str] = mapped_column(String(32), default="")
    to_stage: Mapped[str] = mapped_column(String(32))
    # rep | sop | system (churn) ; by: userid, rule id or event
    by_kind: Mapped[str] = mapped_column(String(16), default="rep")
    by: Mapped[str] = mapped_column(String(64), default="")
    # The acting rep's userid (for the funnel by rep); "" when no rep was involved.
    userid: Mapped[str] = mapped_column(String(64), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TagRemoval(Base):
    """A tag taken off a customer, with by whom (customer_tag keeps only present tags)."""

    __tablename__ = "tag_removal"
    __table_args__ = (Index("ix_tag_removal_name_at", "tag_name", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    external_userid: Mapped[str] = mapped_column(
        ForeignKey("customer.external_userid", ondelete="CASCADE"), index=True
    )
    tag_id: Mapped[str] = mapped_column(String(64))
    tag_name: Mapped[str] = mapped_column(String(64))
    by_kind: Mapped[str] = mapped_column(String(16), default="rep")
    by: Mapped[str] = mapped_column(String(64), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SopRule(Base):
    """An SOP rule as data: trigger, conditions and steps (see docs/lifecycle.md)."""

    __tablename__ = "sop_rule"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), default="")
    trigger: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    conditions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    # Events before this never trigger the rule (a new rule does not replay history).
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the scheduler last looked for what fires the rule: the next pass only looks at
    # what happened since (less a margin), so a pass over a large corp reads narrow ranges.
    scanned_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class SopRun(Base):
    """One step of one (rule, customer, occurrence): due, then done exactly once."""

    __tablename__ = "sop_run"
    __table_args__ = (
        UniqueConstraint("rule_id", "external_userid", "occurrence", "step"),
        Index("ix_sop_run_due", "status", "due_at"),
        # The window deferral moves one (rule, step)'s due rows at a time.
        Index("ix_sop_run_rule_step_due", "rule_id", "step", "status", "due_at"),
        Index("ix_sop_run_customer", "external_userid", "id"),
        Index("ix_sop_run_user", "userid", "status"),
        # The 企业群发 read-back claims the waiting steps whose next read is due.
        Index("ix_sop_run_mass_check", "mass_check_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[str] = mapped_column(ForeignKey("sop_rule.id", ondelete="CASCADE"))
    external_userid: Mapped[str] = mapped_column(
        ForeignKey("customer.external_userid", ondelete="CASCADE")
    )
    # The rep the step works through (their relation, their task).
    userid: Mapped[str] = mapped_column(String(64), default="")
    occurrence: Mapped[str] = mapped_column(String(128))
    step: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # pending (not due, or waiting for its send window) | task (a rep task waiting for the
    # rep's one-tap send) | sent (the rep sent it) | done (automatic actions recorded)
    # | skipped (the customer left, replied, or no longer fits the rule)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    note: Mapped[str] = mapped_column(Text, default="")
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    done_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A step whose 企业群发 waits for WeCom's send result (status mass, or a task's beside
    # it): when a worker may next read it. A worker's claim moves it on by one interval, so
    # one worker per interval asks WeCom; NULL once the result is in, or without a 企业群发.
    mass_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The 企业群发's state in words (waiting, then the result), whatever the step's status:
    # a task's note is the text the rep sends, so the 群发 beside it is reported here.
    mass_note: Mapped[str] = mapped_column(String(255), default="", server_default="")


class PoolEntry(Base):
    """A customer in the 公海 pool, until claimed or assigned."""

    __tablename__ = "pool_entry"
    __table_args__ = (Index("ix_pool_entry_status", "status", "entered_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    external_userid: Mapped[str] = mapped_column(
        ForeignKey("customer.external_userid", ondelete="CASCADE"), index=True
    )
    # The rep the customer stays with in WeCom until someone takes them.
    from_userid: Mapped[str] = mapped_column(String(64), default="")
    reason: Mapped[str] = mapped_column(String(255), default="")
    entered_by_kind: Mapped[str] = mapped_column(String(16), default="supervisor")
    entered_by: Mapped[str] = mapped_column(String(64), default="")
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # open | claimed | assigned
    status: Mapped[str] = mapped_column(String(16), default="open")
    taken_by: Mapped[str] = mapped_column(String(64), default="")
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class CustomerMove(Base):
    """A move of a customer between reps in WeCom (pool claim, assignment), or its refusal."""

    __tablename__ = "customer_move"
    __table_args__ = (Index("ix_customer_move_customer_at", "external_userid", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    external_userid: Mapped[str] = mapped_column(
        ForeignKey("customer.external_userid", ondelete="CASCADE")
    )
    from_userid: Mapped[str] = mapped_column(String(64), default="")
    to_userid: Mapped[str] = mapped_column(String(64), default="")
    # claim | assign | resigned
    kind: Mapped[str] = mapped_column(String(16), default="claim")
    # started (WeCom accepted; the customer has 24 h to refuse) | failed
    status: Mapped[str] = mapped_column(String(16), default="started")
    reason: Mapped[str] = mapped_column(Text, default="")
    by: Mapped[str] = mapped_column(String(64), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# The SOP triggers read these columns by range (what happened since the last pass); the
# activity-tier filters read the first.
Index("ix_customer_last_interaction", Customer.last_interaction_at)
Index("ix_customer_tag_tag_created", CustomerTag.tag_id, CustomerTag.created_at)
Index("ix_follow_relation_added", FollowRelation.added_at)
Index("ix_followup_created", Followup.created_at)
