"""WeCom corp tags mirrored locally, and tags on customers (kept in step with mark_tag)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from rapidfuzz import fuzz, process, utils
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.errors import NotFoundError, UsageError, WeComError
from bot.domain import rule_marks
from bot.domain.lifecycle_models import TagRemoval
from bot.domain.models import ROLE_ADMIN, ROLE_SUPERVISOR, Customer, CustomerTag, Staff, Tag
from bot.outbox import effects
from bot.wecom.client import JSON, WeComClient
from knowledge.model import KeywordRule

logger = logging.getLogger(__name__)

DEFAULT_GROUP = "客户标签"
# A suggestion must be at least this similar (rapidfuzz WRatio, 0-100) to be worth showing.
SUGGEST_CUTOFF = 60
# WeCom's limit on tag and group names (wecom-reference §4, add_corp_tag).
NAME_MAX = 30
# add_corp_tag's answer when a name already exists in the group (WeCom global code 40071).
TAG_EXISTS_ERRCODE = 40071
# Who may add a tag to the corp library (from /tag, /tagnew or the sidebar): the library is
# shared by the whole corp and mirrored in WeCom, so reps pick from it and get suggestions.
CREATOR_ROLES = frozenset({ROLE_SUPERVISOR, ROLE_ADMIN})
CREATE_HINT = "新标签请主管或管理员创建"


def can_create(staff: Staff) -> bool:
    """Whether this member may add tags to the corp library."""
    return staff.role in CREATOR_ROLES and staff.active


async def _by_names(session: AsyncSession, names: Sequence[str]) -> dict[str, Tag]:
    rows = await session.scalars(
        select(Tag).where(Tag.name.in_(list(names)), Tag.deleted.is_(False)).order_by(Tag.id)
    )
    found: dict[str, Tag] = {}
    for tag in rows:
        found.setdefault(tag.name, tag)  # the same name in two groups: first one wins
    return found


def store_group(session_tags: dict[str, Tag], group: dict[str, Any]) -> list[Tag]:
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
    sm: async_sessionmaker[AsyncSession],
    wecom: WeComClient,
    names: Sequence[str],
    *,
    group_name: str = DEFAULT_GROUP,
) -> list[Tag]:
    """Tags for these names, in order; missing ones are created in WeCom first.

    Runs before the caller's transaction, with short sessions of its own: creating a corp tag
    is a WeCom call whose answer (the tag id) the caller needs. It is harmless if the caller
    then fails (the tag stays in the library), and a name another worker created meanwhile
    (40071) is re-read from WeCom.
    """
    wanted = _clean(names)
    async with sm() as session:
        found = await _by_names(session, wanted)
    missing = [n for n in wanted if n not in found]
    if not missing:
        return [found[n] for n in wanted]
    try:
        data = await wecom.add_corp_tag(group_name, missing)
    except WeComError as exc:
        if exc.errcode != TAG_EXISTS_ERRCODE:
            raise
        # Created in WeCom but not mirrored here yet: mirror the library, then look again.
        library = await wecom.get_corp_tag_list()
        async with sm.begin() as session:
            await sync_corp_tags(session, library)
            found = await _by_names(session, wanted)
        return [found[n] for n in wanted if n in found]
    async with sm.begin() as session:
        known = {t.id: t for t in await session.scalars(select(Tag))}
        for tag in store_group(known, data.get("tag_group") or {}):
            session.add(tag)
        await session.flush()
        found = await _by_names(session, wanted)
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
            tail = f"，你是不是想用：{'、'.join(hints)}" if hints else ""
            raise NotFoundError(f"没有标签「{name}」{tail}（{CREATE_HINT}）",
                                chat_hint="" if hints else "发 /tags 查看标签库")  # fmt: skip
    unique: dict[str, Tag] = {}
    for name in names:
        unique.setdefault(found[name].id, found[name])
    return list(unique.values())


async def add_tags(
    session: AsyncSession,
    *,
    external_userid: str,
    userid: str,
    names: Sequence[str],
    by_kind: str,
    by: str,
) -> list[str]:
    """Tag a customer (local rows, and mark_tag through the outbox); the names newly added.

    The tags must exist in the library (ensure_tags, before the transaction, creates them);
    an unknown name raises NotFoundError with the closest names. userid is the member whose
    relation mark_tag goes through (WeCom keeps tags per relation).
    """
    wanted = await _known_or_suggest(session, _clean(names))
    have = {t.id for t in await customer_tags(session, external_userid)}
    new = [t for t in wanted if t.id not in have]
    if not new:
        return []
    session.add_all(
        CustomerTag(
            external_userid=external_userid, tag_id=t.id, added_by_kind=by_kind, added_by=by
        )
        for t in new
    )
    await session.flush()
    names = [t.name for t in new]
    requester = by if by_kind == "rep" else ""
    what = await _what(session, external_userid, f"打标签「{'、'.join(names)}」")
    await record_mark(
        session, userid, external_userid, add=[t.id for t in new], notify=requester, what=what
    )
    return names


async def _what(session: AsyncSession, external_userid: str, action: str) -> str:
    customer = await session.get(Customer, external_userid)
    name = (customer.name if customer else "") or external_userid
    return f"给客户 {name} {action}"


async def record_mark(
    session: AsyncSession,
    userid: str,
    external_userid: str,
    *,
    add: Sequence[str] = (),
    remove: Sequence[str] = (),
    notify: str = "",
    what: str = "",
) -> None:
    """Record the mark_tag effect that makes WeCom's relation match the local change.

    notify: who hears about it if WeCom refuses (the rep who asked), with `what` it was.
    """
    body: JSON = {"userid": userid, "external_userid": external_userid,
                  "add_tag": list(add), "remove_tag": list(remove)}  # fmt: skip
    if notify:
        body |= {"notify": notify, "what": what}
    # Per customer in order: a remove recorded after an add must not overtake it.
    await effects.add(session, "mark_tag", body, group=f"tags:{external_userid}")


async def remove_tags(
    session: AsyncSession,
    *,
    external_userid: str,
    userid: str,
    names: Sequence[str],
    by_kind: str = "rep",
    by: str = "",
    rules: Sequence[KeywordRule] = (),
) -> list[str]:
    """Remove tags from a customer (locally and through the outbox); the names removed.

    rules: the keyword rules in force; a removed tag a rule put there for a caution or for
    special care takes that caution (and, when none is left, special care) with it.
    """
    wanted = {n.casefold() for n in _clean(names)}
    gone = [
        t for t in await customer_tags(session, external_userid) if t.name.casefold() in wanted
    ]
    if not gone:
        return []
    await session.execute(
        delete(CustomerTag).where(
            CustomerTag.external_userid == external_userid,
            CustomerTag.tag_id.in_([t.id for t in gone]),
        )
    )
    # Kept for the timeline and the SOP "tag removed" trigger (customer_tag only has present ones).
    session.add_all(
        TagRemoval(external_userid=external_userid, tag_id=t.id, tag_name=t.name,
                   by_kind=by_kind, by=by)  # fmt: skip
        for t in gone
    )
    requester = by if by_kind == "rep" else ""
    what = await _what(session, external_userid, f"去掉标签「{'、'.join(t.name for t in gone)}」")
    await record_mark(
        session, userid, external_userid, remove=[t.id for t in gone], notify=requester, what=what
    )
    left = [t.name for t in await customer_tags(session, external_userid)]
    await rule_marks.release(session, external_userid, [t.name for t in gone], left, rules)
    logger.info("tags removed customer=%s by=%s/%s n=%d", external_userid, by_kind, by, len(gone))
    return [t.name for t in gone]


async def sync_corp_tags(session: AsyncSession, library: JSON) -> int:
    """Mirror WeCom's tag library (get_corp_tag_list's answer, fetched before the
    transaction); vanished tags are marked deleted. Returns the live count."""
    known = {t.id: t for t in await session.scalars(select(Tag))}
    seen: set[str] = set()
    for group in library.get("tag_group") or []:
        for tag in store_group(known, group):
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
