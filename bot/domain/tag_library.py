"""The corp tag library as admins run it: groups as dimensions, counts, and changes that stay
in step with WeCom.

Creating a tag is "call, then record" (add_corp_tag answers the id we must store), done by the
caller before the transaction; `record_created` stores the answer. Renames and deletions change
our mirror and record edit_corp_tag / del_corp_tag effects in the same transaction. WeCom's own
changes come back as change_external_tag callbacks, which re-mirror the library (tags.sync).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from sqlalchemy import delete as sql_delete
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.errors import NotFoundError, UsageError
from bot.domain import tags
from bot.domain.models import CustomerTag, FollowRelation, Tag
from bot.outbox import effects
from bot.wecom.client import JSON

# The dimensions customers are described by, in the order the library shows them.
DIMENSIONS = ("来源", "身份", "阶段", "互动", "偏好")


@dataclass
class TagRow:
    """One tag with how many customers (in the viewer's scope) carry it."""

    id: str
    name: str
    count: int = 0


@dataclass
class Group:
    """A tag group: one dimension of the library."""

    id: str
    name: str
    dimension: bool
    tags: list[TagRow] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Customers tagged in this group (a customer with two of its tags counts twice)."""
        return sum(t.count for t in self.tags)


def check_name(name: str, what: str = "标签名") -> str:
    """A tag or group name as WeCom accepts it (1-30 characters)."""
    name = name.strip()
    if not name or len(name) > tags.NAME_MAX:
        raise UsageError(f"{what}必填，最多 {tags.NAME_MAX} 个字")
    return name


async def counts(session: AsyncSession, reps: Collection[str] | None) -> dict[str, int]:
    """tag id -> customers carrying it; reps: only customers these members follow."""
    if reps is None:
        query = select(CustomerTag.tag_id, func.count()).group_by(CustomerTag.tag_id)
    else:
        query = (
            select(CustomerTag.tag_id, func.count(func.distinct(CustomerTag.external_userid)))
            .join(FollowRelation, FollowRelation.external_userid == CustomerTag.external_userid)
            .where(FollowRelation.userid.in_(sorted(reps)), FollowRelation.status == "active")
            .group_by(CustomerTag.tag_id)
        )
    return {tag_id: int(n) for tag_id, n in (await session.execute(query)).all()}


async def library(session: AsyncSession, reps: Collection[str] | None) -> list[Group]:
    """Live groups and tags with counts: the dimensions first, in their order, then the rest."""
    found = await counts(session, reps)
    groups: dict[str, Group] = {}
    rows = await session.scalars(
        select(Tag).where(Tag.deleted.is_(False)).order_by(Tag.group_name, Tag.order, Tag.name)
    )
    for tag in rows:
        group = groups.get(tag.group_id)
        if group is None:
            group = Group(tag.group_id, tag.group_name, tag.group_name in DIMENSIONS)
            groups[tag.group_id] = group
        group.tags.append(TagRow(tag.id, tag.name, found.get(tag.id, 0)))

    def rank(g: Group) -> tuple[int, str]:
        return (DIMENSIONS.index(g.name) if g.dimension else len(DIMENSIONS), g.name)

    return sorted(groups.values(), key=rank)


async def check_new(session: AsyncSession, group_name: str, name: str) -> str | None:
    """Before add_corp_tag: the name is free in the group; the group's id if it exists."""
    existing = list(await session.scalars(
        select(Tag).where(Tag.group_name == group_name, Tag.deleted.is_(False))))  # fmt: skip
    if any(t.name == name for t in existing):
        raise UsageError(f"「{group_name}」里已有标签「{name}」")
    return existing[0].group_id if existing else None


async def record_created(session: AsyncSession, answer: JSON) -> list[Tag]:
    """Mirror the tags add_corp_tag just created (its tag_group answer)."""
    known = {t.id: t for t in await session.scalars(select(Tag))}
    created = tags.store_group(known, answer.get("tag_group") or {})
    session.add_all(created)
    await session.flush()
    return created


async def _live_tag(session: AsyncSession, tag_id: str) -> Tag:
    tag = await session.get(Tag, tag_id)
    if tag is None or tag.deleted:
        raise NotFoundError("找不到这个标签，可能已被删除；请刷新页面")
    return tag


async def _group_tags(session: AsyncSession, group_id: str) -> list[Tag]:
    found = list(await session.scalars(
        select(Tag).where(Tag.group_id == group_id, Tag.deleted.is_(False))))  # fmt: skip
    if not found:
        raise NotFoundError("找不到这个标签组，可能已被删除；请刷新页面")
    return found


async def rename_tag(session: AsyncSession, tag_id: str, name: str) -> tuple[str, str]:
    """Rename a tag here and (outbox) in WeCom; (old name, new name)."""
    name = check_name(name)
    tag = await _live_tag(session, tag_id)
    clash = await session.scalar(select(Tag.id).where(
        Tag.group_id == tag.group_id, Tag.name == name, Tag.id != tag.id,
        Tag.deleted.is_(False)))  # fmt: skip
    if clash:
        raise UsageError(f"「{tag.group_name}」里已有标签「{name}」")
    old, tag.name = tag.name, name
    await effects.add(session, "corp_tag.edit", {"id": tag.id, "name": name},
                      group=f"corp_tag:{tag.id}")  # fmt: skip
    await session.flush()
    return old, name


async def rename_group(session: AsyncSession, group_id: str, name: str) -> tuple[str, str]:
    """Rename a group here and (outbox) in WeCom; (old name, new name)."""
    name = check_name(name, "标签组名")
    members = await _group_tags(session, group_id)
    clash = await session.scalar(select(Tag.id).where(
        Tag.group_name == name, Tag.group_id != group_id, Tag.deleted.is_(False)))  # fmt: skip
    if clash:
        raise UsageError(f"已有标签组「{name}」")
    old = members[0].group_name
    for tag in members:
        tag.group_name = name
    await effects.add(session, "corp_tag.edit", {"id": group_id, "name": name},
                      group=f"corp_tag:{group_id}")  # fmt: skip
    await session.flush()
    return old, name


async def _forget(session: AsyncSession, gone: list[Tag]) -> int:
    """Mark tags deleted and take them off customers (WeCom does the same on its side)."""
    ids = [t.id for t in gone]
    for tag in gone:
        tag.deleted = True
    result = await session.execute(
        sql_delete(CustomerTag).where(CustomerTag.tag_id.in_(ids))
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    await session.flush()
    return int(getattr(result, "rowcount", 0) or 0)


async def delete_tag(session: AsyncSession, tag_id: str) -> tuple[str, int]:
    """Delete a tag here and (outbox) in WeCom; (its name, customers it came off)."""
    tag = await _live_tag(session, tag_id)
    untagged = await _forget(session, [tag])
    await effects.add(session, "corp_tag.delete", {"tag_id": [tag.id]},
                      group=f"corp_tag:{tag.id}")  # fmt: skip
    return tag.name, untagged


async def delete_group(session: AsyncSession, group_id: str) -> tuple[str, int]:
    """Delete a group and its tags here and (outbox) in WeCom; (its name, customers)."""
    members = await _group_tags(session, group_id)
    untagged = await _forget(session, members)
    await effects.add(session, "corp_tag.delete", {"group_id": [group_id]},
                      group=f"corp_tag:{group_id}")  # fmt: skip
    return members[0].group_name, untagged


async def drop_deleted_from_customers(session: AsyncSession) -> int:
    """After a mirror: customers no longer carry tags WeCom deleted; how many rows went."""
    gone = select(Tag.id).where(Tag.deleted.is_(True))
    result = await session.execute(
        sql_delete(CustomerTag).where(CustomerTag.tag_id.in_(gone))
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    return int(getattr(result, "rowcount", 0) or 0)
