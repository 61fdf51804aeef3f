"""ORM models of the product's own data (the knowledge base has its own, in knowledge.store)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.core.db import Base, UTCDateTime, utcnow
from bot.outbox import model as _outbox_model  # noqa: F401 - outbox_effect on Base.metadata
from knowledge import misses  # noqa: F401 - registers kb_miss on KBBase for Alembic

# Roles, lowest to highest; a command or API declares the least role it needs.
ROLE_REP = "rep"
ROLE_SUPERVISOR = "supervisor"
ROLE_ADMIN = "admin"


class Staff(Base):
    """An internal member (rep, supervisor or admin)."""

    __tablename__ = "staff"

    userid: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), default="")
    # WeCom department ids the member belongs to; supervisors see their departments' customers.
    departments: Mapped[list[int]] = mapped_column(JSON, default=list)
    role: Mapped[str] = mapped_column(String(16), default=ROLE_REP)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # When WeCom last answered user/get for this member (data or a refusal); null: never.
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Sidebar sessions carry this number; signing out bumps it, which ends every session of
    # the member at once (a cookie copied elsewhere included).
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Department(Base):
    """A WeCom department, mirrored from the address book (department/list) for its name."""

    __tablename__ = "department"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(128), default="")
    parent_id: Mapped[int] = mapped_column(Integer, default=0)
    order: Mapped[int] = mapped_column(Integer, default=0)
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Customer(Base):
    """An external contact (a customer on personal WeChat or another corp's WeCom)."""

    __tablename__ = "customer"

    external_userid: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), default="")
    avatar: Mapped[str] = mapped_column(String(512), default="")
    corp_name: Mapped[str] = mapped_column(String(128), default="")
    type: Mapped[int] = mapped_column(Integer, default=1)
    gender: Mapped[int] = mapped_column(Integer, default=0)
    unionid: Mapped[str] = mapped_column(String(64), default="")
    special_care: Mapped[bool] = mapped_column(Boolean, default=False)
    caution: Mapped[str] = mapped_column(Text, default="")
    last_interaction_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class FollowRelation(Base):
    """A rep following a customer (WeCom's follow_user), with how the customer came."""

    __tablename__ = "follow_relation"
    __table_args__ = (UniqueConstraint("userid", "external_userid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    userid: Mapped[str] = mapped_column(String(64), index=True)
    external_userid: Mapped[str] = mapped_column(
        ForeignKey("customer.external_userid", ondelete="CASCADE"), index=True
    )
    remark: Mapped[str] = mapped_column(String(128), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(64), default="")
    add_way: Mapped[int] = mapped_column(Integer, default=0)
    # active | lost (customer deleted the rep) | deleted (rep deleted) | transferred
    status: Mapped[str] = mapped_column(String(16), default="active")
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # What the add event decided about the welcome: queued (an outbox effect, keyed on the
    # code; its outcome says sent / taken / expired) | none (no WelcomeCode) | skipped
    # (replayed too late) | no_template | "" (older rows: sent, taken, failed).
    welcome: Mapped[str] = mapped_column(String(16), default="")
    welcome_code: Mapped[str] = mapped_column(String(128), default="", server_default="")


class Tag(Base):
    """A WeCom corp tag (id from WeCom), mirrored locally with its group."""

    __tablename__ = "tag"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    group_id: Mapped[str] = mapped_column(String(64), default="", index=True)
    group_name: Mapped[str] = mapped_column(String(64), default="")
    name: Mapped[str] = mapped_column(String(64), index=True)
    order: Mapped[int] = mapped_column(Integer, default=0)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)


class CustomerTag(Base):
    """A tag on a customer, with who or what put it there."""

    __tablename__ = "customer_tag"
    __table_args__ = (UniqueConstraint("external_userid", "tag_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    external_userid: Mapped[str] = mapped_column(
        ForeignKey("customer.external_userid", ondelete="CASCADE"), index=True
    )
    tag_id: Mapped[str] = mapped_column(ForeignKey("tag.id", ondelete="CASCADE"), index=True)
    # rep | rule | channel | wecom
    added_by_kind: Mapped[str] = mapped_column(String(16), default="rep")
    added_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Note(Base):
    """A free-text note a rep wrote about a customer."""

    __tablename__ = "note"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_userid: Mapped[str] = mapped_column(
        ForeignKey("customer.external_userid", ondelete="CASCADE"), index=True
    )
    userid: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Followup(Base):
    """A follow-up a rep owes a customer, optionally due at a time (reminded once)."""

    __tablename__ = "followup"
    __table_args__ = (Index("ix_followup_due", "done_at", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    external_userid: Mapped[str] = mapped_column(
        ForeignKey("customer.external_userid", ondelete="CASCADE"), index=True
    )
    userid: Mapped[str] = mapped_column(String(64), index=True)
    note: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Escalation(Base):
    """A customer situation raised to supervisors, by a rep or by a keyword rule."""

    __tablename__ = "escalation"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_userid: Mapped[str] = mapped_column(
        ForeignKey("customer.external_userid", ondelete="CASCADE"), index=True
    )
    userid: Mapped[str] = mapped_column(String(64), default="")
    reason: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16), default="rep")
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    assignee: Mapped[str] = mapped_column(String(64), default="")
    resolution: Mapped[str] = mapped_column(Text, default="")
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Message(Base):
    """A customer message seen by the product (kf, archive, sidebar) or a reply it sent."""

    __tablename__ = "message"
    __table_args__ = (
        UniqueConstraint("source", "source_msgid"),
        Index("ix_message_customer_time", "external_userid", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(16))  # kf | archive | sidebar
    source_msgid: Mapped[str | None] = mapped_column(String(128), nullable=True)
    direction: Mapped[str] = mapped_column(String(8), default="in")  # in | out
    external_userid: Mapped[str] = mapped_column(String(64), default="", index=True)
    userid: Mapped[str] = mapped_column(String(64), default="")
    open_kfid: Mapped[str] = mapped_column(String(64), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    matched_faq: Mapped[str | None] = mapped_column(String(64), nullable=True)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    auto_replied: Mapped[bool] = mapped_column(Boolean, default=False)
    suggestions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Issue 4: the keyword rules this message fired ({"rule_id", "name", "phrase"} each).
    rule_hits: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # kf: when the bot finished with it (answered or handed over). A message stored but never
    # answered, because the process died in between, is answered when the page is re-read.
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class InboxItem(Base):
    """A decrypted callback, committed before it is acknowledged; processed from here."""

    __tablename__ = "inbox"
    __table_args__ = (Index("ix_inbox_status_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(128), default="")
    payload: Mapped[str] = mapped_column(Text)
    # processing (claimed, lease running) | pending (retry due) | done | parked (gave up)
    status: Mapped[str] = mapped_column(String(16), default="processing")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    claimed_by: Mapped[str] = mapped_column(String(64), default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class KfCursor(Base):
    """The kf/sync_msg cursor per kf account, saved after every page."""

    __tablename__ = "kf_cursor"

    open_kfid: Mapped[str] = mapped_column(String(64), primary_key=True)
    cursor: Mapped[str] = mapped_column(String(256), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class AuditLog(Base):
    """Who did what, when, with what result."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(128), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[str] = mapped_column(String(16), default="ok")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


# ----------------------------------------------------------------- issue 4: customer flows


class WelcomeTemplate(Base):
    """A welcome message; the most specific scope wins: state > user > department > default."""

    __tablename__ = "welcome_template"
    __table_args__ = (Index("ix_welcome_template_scope_target", "scope", "target"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # state (target = 活码 state) | user (target = userid) | department (target = id) | default
    scope: Mapped[str] = mapped_column(String(16), default="default")
    target: Mapped[str] = mapped_column(String(64), default="")
    # Placeholders {customer} and {rep}; see docs/flows.md.
    text: Mapped[str] = mapped_column(Text, default="")
    # Our attachment dicts ({"kind": "link"|"image"|"miniprogram", ...}), at most 9.
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Channel(Base):
    """An acquisition channel: a 活码 state with its source tags, template and remark."""

    __tablename__ = "channel"

    state: Mapped[str] = mapped_column(String(30), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), default="")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    tag_group: Mapped[str] = mapped_column(String(30), default="来源")
    template_id: Mapped[str | None] = mapped_column(
        ForeignKey("welcome_template.id", ondelete="SET NULL"), nullable=True
    )
    # e.g. "{customer}-抖音"; empty: leave the remark alone.
    remark: Mapped[str] = mapped_column(String(64), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class KbProposal(Base):
    """A rep's pick: "this customer wording means that KB entry", until accepted a hint only."""

    __tablename__ = "kb_proposal"
    # One proposal per (entry, wording): a second rep's same pick supports the first.
    __table_args__ = (UniqueConstraint("entry_id", "question_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[str] = mapped_column(String(64), index=True)
    question: Mapped[str] = mapped_column(Text)
    # The matcher's normal form of the question (punctuation, width, case folded).
    question_key: Mapped[str] = mapped_column(String(255))
    # The message the first pick answered; later picks are in message_ids.
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("message.id", ondelete="SET NULL"), nullable=True
    )
    message_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    # Distinct reps who made this pick, first one first.
    reps: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Those of them who picked it among the message's suggestions over the floor: only they
    # count towards the reps' quorum. A pick from the rep's own KB search ties free text to
    # any entry, so it waits for a supervisor or admin.
    suggested_by: Mapped[list[str]] = mapped_column(JSON, default=list)
    # pending | accepted | rejected | undone
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    # Who decided ("" when accepted by reaching the reps quorum) and when.
    decided_by: Mapped[str] = mapped_column(String(64), default="")
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The accept added a new similar question (so an undo removes it; False: it was known).
    added: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# Feature modules' tables, imported here so Alembic and create_all see every table.
from bot.domain import (  # noqa: E402, F401
    archive_models,  # chat archive: cursor, lease, media
    console_models,  # the console's dashboard indexes
    lifecycle_console_models,  # the console's lifecycle index
    lifecycle_models,  # stages, SOP rules and runs, the pool
    ops_models,  # contact_way (channels' QR codes), kf_handover
    turn_models,  # customer turns: the first-response time
)
