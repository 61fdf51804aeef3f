"""Models of the console's channel and kf pages: 联系我 configs and kf handovers (issue 12)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.core.db import Base, UTCDateTime, utcnow


class ContactWay(Base):
    """The 联系我 config (QR code) WeCom made for a channel; one per channel state."""

    __tablename__ = "contact_way"

    state: Mapped[str] = mapped_column(
        ForeignKey("channel.state", ondelete="CASCADE"), primary_key=True
    )
    # WeCom's id of the config (update_contact_way / del_contact_way need it).
    config_id: Mapped[str] = mapped_column(String(64), unique=True)
    qr_code: Mapped[str] = mapped_column(String(512), default="")
    type: Mapped[int] = mapped_column(Integer, default=1)  # 1 single rep, 2 several reps
    users: Mapped[list[str]] = mapped_column(JSON, default=list)
    skip_verify: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class KfHandover(Base):
    """A 微信客服 conversation the bot handed to people, until a person has it and it ends."""

    __tablename__ = "kf_handover"
    __table_args__ = (
        Index("ix_kf_handover_status_requested", "status", "requested_at"),
        Index("ix_kf_handover_conversation", "open_kfid", "external_userid", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    open_kfid: Mapped[str] = mapped_column(String(64))
    external_userid: Mapped[str] = mapped_column(String(64))
    # The customer message that caused it (the kf.trans effect is keyed on it).
    message_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reason: Mapped[str] = mapped_column(String(128), default="")
    # waiting (queue, or being moved) | held (a person has it) | ended
    status: Mapped[str] = mapped_column(String(16), default="waiting")
    servicer_userid: Mapped[str] = mapped_column(String(64), default="")
    # Who claimed or assigned it in the console ("" when WeCom or the bot's routing did).
    assigned_by: Mapped[str] = mapped_column(String(64), default="")
    # The latest effect that moves it (the bot's kf.trans, a console kf.assign): its status
    # says whether WeCom has done it yet.
    effect_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
