"""WeCom corp tags mirrored locally, and tags on customers (kept in step with mark_tag)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from rapidfuzz import fuzz, process, utils
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.errors import NotFoundError, UsageError, WeComError
from bot.domain.models import CustomerTag, Tag
from bot.wecom.client import WeComClient

logger = logging.getLogger(__name__)

DEFAULT_GROUP = "客户标签"
# A suggestion must be at least this similar (rapidfuzz WRatio, 0-100) to be worth showing.
SUGGEST_CUTOFF = 60
# WeCom's limit on tag and group names (wecom-reference §4, add_corp_tag).
NAME_MAX = 30
# add_corp_tag's answer when a name already exists in the group (WeCom global code 40071).
TAG_EXISTS_ERRCODE = 40071


async def _by_names(session: AsyncSession, names: Sequence[str]) -> dict[str, Tag]:
    rows = await session.scalars(
        select(Tag).where(Tag.name.in_(list(names)), Tag.deleted.is_(False)).order_by(Tag.id)
    )
    found: dict[str, Tag] = {}
    for tag in rows:
        found.setdefault(tag.name, tag)  # the same name in two groups: first one wins
    return found


def _store_group(session_tags: dict[str, Tag], group: dict[str, Any]) -> list[Tag]:
    """Tag rows for one tag_group JSON object (updating the known ones in place)."""
    out = []
    for item in group.get("tag") or []:
        tag = session_tags.get(str(item["id"]))
        if tag is None:
            tag = Tag(id=str(item["id"]))
            session_tags[tag.id] = tag
        tag.group_id = str(group.get("group_id", ""))
        tag.group_name = str(group.get("group_name", ""))
        tag.name = str(item.get("name", ""))
        tag.order = int(item.get("order") or 0)
        tag.deleted = bool(item.get("deleted") or group.get("deleted"))
        out.append(tag)
    return out


async def ensure_tags(
    session: AsyncSession,
    wecom: WeComClient,
    names: Sequence[str],
    *,
    group_name: str = DEFAULT_GROUP,
) -> list[Tag]:
    """Tags for these names, in order; the missing ones are created in WeCom first."""
    wanted = _clean(names)
    found = await _by_names(session, wanted)
    missing = [n for n in wanted if n not in found]
    if missing:
        try:
            data = await wecom.add_corp_tag(group_name, missing)
        except WeComError as exc:
            if exc.errcode != TAG_EXISTS_ERRCODE:
                raise
            # Created in WeCom but not mirrored here yet: sync, then use what exists.
            await sync_corp_tags(session, wecom)
            found = await _by_names(session, wanted)
            return [found[n] for n in wanted if n in found]
        known = {t.id: t for t in await session.scalars(select(Tag))}
        for tag in _store_group(known, data.get("tag_group") or {}):
            session.add(tag)
            found.setdefault(tag.name, tag)
        await session.flush()
    return [found[n] for n in wanted if n in found]


def _clean(names: Sequence[str]) -> list[str]:
    out: list[str] = []
    for raw in names:
        name = raw.strip()
        if not name:
            continue
        if len(name) > NAME_MAX:
            raise UsageError(f"标签名最多 {NAME_MAX} 个字：「{name}」")
        if name not in out:
            out.append(name)
    return out


async def customer_tags(session: AsyncSession, external_userid: str) -> list[Tag]:
    """The tags on a customer, by group then order."""
    rows = await session.scalars(
        select(Tag)
        .join(CustomerTag, CustomerTag.tag_id == Tag.id)
        .where(CustomerTag.external_userid == external_userid)
        .order_by(Tag.group_name, Tag.order, Tag.name)
    )
    return list(rows)


async def _known_or_suggest(session: AsyncSession, names: Sequence[str]) -> list[Tag]:
    """Existing tags for names (case-insensitive); NotFoundError with suggestions otherwise."""
    found = await _by_names(session, names)
    missing = [n for n in names if n not in found]
    if missing:
        # "vip" means the corp's "VIP": WeCom tag names are for people, not exact keys.
        live = await session.scalars(select(Tag).where(Tag.deleted.is_(False)).order_by(Tag.id))
        folded: dict[str, Tag] = {}
        for tag in live:
            folded.setdefault(tag.name.casefold(), tag)
        for name in missing:
            if name.casefold() in folded:
                found[name] = folded[name.casefold()]
    for name in names:
        if name not in found:
            hints = await suggest_tag_names(session, name)
            tail = f"，你是不是想用：{'、'.join(hints)}" if hints else "，发 /tags 查看标签库"
            raise NotFoundError(f"没有标签「{name}」{tail}")
    unique: dict[str, Tag] = {}
    for name in names:
        unique.setdefault(found[name].id, found[name])
    return list(unique.values())


async def add_tags(
    session: AsyncSession,
    wecom: WeComClient,
    *,
    external_userid: str,
    userid: str,
    names: Sequence[str],
    by_kind: str,
    by: str,
    create_missing: bool = True,
) -> list[str]:
    """Tag a customer (locally and via mark_tag); returns only the names newly added.

    With create_missing=False an unknown name raises NotFoundError with suggestions
    (reps pick from the corp library; rules and channels may create tags).
    """
    wanted = _clean(names)
    if create_missing:
        tags = await ensure_tags(session, wecom, wanted)
    else:
        tags = await _known_or_suggest(session, wanted)
    have = {t.id for t in await customer_tags(session, external_userid)}
    new = [t for t in tags if t.id not in have]
    if not new:
        return []
    # WeCom first: if mark_tag fails the caller's transaction rolls back the local rows.
    await wecom.mark_tag(userid, external_userid, add_tag=[t.id for t in new])
    for tag in new:
        session.add(
            CustomerTag(
                external_userid=external_userid, tag_id=tag.id, added_by_kind=by_kind, added_by=by
            )
        )
    await session.flush()
    return [t.name for t in new]


async def remove_tags(
    session: AsyncSession,
    wecom: WeComClient,
    *,
    external_userid: str,
    userid: str,
    names: Sequence[str],
    by_kind: str = "rep",
    by: str = "",
) -> list[str]:
    """Remove tags from a customer; returns only the names that were on it."""
    wanted = {n.casefold() for n in _clean(names)}
    gone = [
        t for t in await customer_tags(session, external_userid) if t.name.casefold() in wanted
    ]
    if not gone:
        return []
    await wecom.mark_tag(userid, external_userid, remove_tag=[t.id for t in gone])
    await session.execute(
        delete(CustomerTag).where(
            CustomerTag.external_userid == external_userid,
            CustomerTag.tag_id.in_([t.id for t in gone]),
        )
    )
    logger.info("tags removed customer=%s by=%s/%s n=%d", external_userid, by_kind, by, len(gone))
    return [t.name for t in gone]


async def sync_corp_tags(session: AsyncSession, wecom: WeComClient) -> int:
    """Mirror WeCom's tag library (vanished tags marked deleted); returns the live count."""
    data = await wecom.get_corp_tag_list()
    known = {t.id: t for t in await session.scalars(select(Tag))}
    seen: set[str] = set()
    for group in data.get("tag_group") or []:
        for tag in _store_group(known, group):
            session.add(tag)
            seen.add(tag.id)
    for tag_id, tag in known.items():
        if tag_id not in seen:
            tag.deleted = True
    await session.flush()
    return sum(1 for t in known.values() if not t.deleted)


async def all_tag_names(session: AsyncSession) -> list[str]:
    """Names of every live tag."""
    rows = await session.scalars(select(Tag.name).where(Tag.deleted.is_(False)).distinct())
    return sorted(rows)


async def suggest_tag_names(session: AsyncSession, name: str, limit: int = 3) -> list[str]:
    """Live tag names closest to `name` (rapidfuzz), best first."""
    names = await all_tag_names(session)
    hits = process.extract(
        name,
        names,
        scorer=fuzz.WRatio,
        processor=utils.default_process,
        limit=limit,
        score_cutoff=SUGGEST_CUTOFF,
    )
    return [hit[0] for hit in hits]
