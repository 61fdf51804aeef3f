"""A rep's actions on one customer, written once for every face (slash-commands, sidebar).

The face checks who may act on the customer (`lookup.resolve`, `require_customer_access`) and
audits the attempt; these functions do the rest in the caller's transaction. What needs WeCom
first (creating a missing corp tag) is `prepare_tags`, run before the transaction opens.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.errors import UsageError
from bot.core.settings import Settings
from bot.domain import customers, escalations, followups, notes, notify, tags, timeparse, timesplit
from bot.domain.models import Escalation, Followup, Note, Staff
from bot.wecom.client import WeComClient
from knowledge.model import KeywordRule

logger = logging.getLogger(__name__)

# The note of a follow-up typed as a time alone ("明天10点").
DEFAULT_FOLLOWUP = "跟进客户"


async def add_note(session: AsyncSession, viewer: Staff, external_userid: str, text: str) -> Note:
    """A note by the viewer about the customer."""
    return await notes.add_note(
        session, external_userid=external_userid, userid=viewer.userid, text=text
    )


def read_followup(
    text: str, due_text: str = "", *, now: datetime, tz: ZoneInfo
) -> tuple[str, datetime | None]:
    """(note, due time) of a follow-up: the due field when given, else a time in the text.

    "明天下午3点回访" is read the same wherever it is typed; an explicit time already past
    ("昨天10点") or unreadable ("25点") raises TimeParseError, never becomes note text.
    """
    due: datetime | None
    if due_text.strip():
        note, due = text.strip(), timeparse.parse(due_text.strip(), now=now, tz=tz)
    else:
        note, due = timesplit.split_time(text, now=now, tz=tz)
    if due is not None and due <= now:
        when = timeparse.describe(due, now=now, tz=tz)
        raise timeparse.TimeParseError(f"提醒时间 {when} 已经过去了，请写一个将来的时间")
    return note.strip() or DEFAULT_FOLLOWUP, due


async def add_followup(
    session: AsyncSession,
    viewer: Staff,
    external_userid: str,
    text: str,
    *,
    due_text: str = "",
    now: datetime,
    tz: ZoneInfo,
) -> Followup:
    """A follow-up for the viewer, due when the text (or the due field) says."""
    note, due = read_followup(text, due_text, now=now, tz=tz)
    return await followups.add_followup(
        session, external_userid=external_userid, userid=viewer.userid, note=note, due_at=due
    )


async def escalate(
    session: AsyncSession,
    settings: Settings,
    viewer: Staff,
    external_userid: str,
    reason: str,
    *,
    now: datetime,
) -> tuple[Escalation, list[str]]:
    """Open an escalation about the customer's rep and alert their supervisors; (row, who)."""
    owner = await customers.rep_of(session, external_userid)
    if await customers.follow_of(session, viewer.userid, external_userid) is not None:
        owner = viewer.userid
    escalation = await escalations.open_escalation(
        session, external_userid=external_userid, userid=owner or viewer.userid, reason=reason
    )
    leads = await notify.notify_escalation(session, settings, escalation, now=now)
    return escalation, leads


async def prepare_tags(
    db: async_sessionmaker[AsyncSession],
    wecom: WeComClient,
    viewer: Staff,
    names: Sequence[str],
    *,
    group_name: str = tags.DEFAULT_GROUP,
) -> list[str]:
    """Before the transaction: the names a supervisor or admin adds that the library lacks are
    created in WeCom (add_corp_tag); the names created. A rep creates nothing: their unknown
    names get suggestions from `change_tags` instead."""
    if not names or not tags.can_create(viewer):
        return []
    group = group_name.strip() or tags.DEFAULT_GROUP
    if len(group) > tags.NAME_MAX:
        raise UsageError(f"标签组名最多 {tags.NAME_MAX} 个字：「{group}」")
    async with db() as session:
        known = {name.casefold() for name in await tags.all_tag_names(session)}
    wanted = dict.fromkeys(name.strip() for name in names)
    missing = [n for n in wanted if n and n.casefold() not in known]
    if missing:
        await tags.ensure_tags(db, wecom, missing, group_name=group)
        logger.info("tags created by=%s n=%d", viewer.userid, len(missing))
    return missing


@dataclass(frozen=True)
class TagChange:
    """What a tag change came to."""

    added: list[str]
    removed: list[str]


async def change_tags(
    session: AsyncSession,
    viewer: Staff,
    external_userid: str,
    *,
    add: Sequence[str] = (),
    remove: Sequence[str] = (),
    rules: Sequence[KeywordRule] = (),
) -> TagChange:
    """Add and remove tags (locally, mark_tag through the outbox) on the relation WeCom keeps
    them on: the viewer's own, else the customer's rep's. rules: the keyword rules in force."""
    userid = await customers.acting_userid(session, viewer, external_userid)
    added: list[str] = []
    removed: list[str] = []
    if add:
        added = await tags.add_tags(
            session, external_userid=external_userid, userid=userid, names=add, by_kind="rep",
            by=viewer.userid,
        )  # fmt: skip
    if remove:
        removed = await tags.remove_tags(
            session, external_userid=external_userid, userid=userid, names=remove,
            by_kind="rep", by=viewer.userid, rules=rules,
        )  # fmt: skip
    return TagChange(added, removed)
