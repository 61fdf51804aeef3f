"""Channels with their 联系我 QR codes: create, edit, delete, and each channel's adds and losses.

Creating is "call, then record": add_contact_way must answer the config_id and qr_code before
anything can be stored, so the console calls it before the transaction and records the answer
(`record_created`); when the call fails nothing is stored. A crash between the two leaves one
config in WeCom that we do not know (it carries our state; an admin may delete it in WeCom).
Editing and deleting change our rows and record the WeCom call as an outbox effect in the
same transaction: the local change and the call commit together, and the sender delivers it
at least once, in order per channel.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.errors import NotFoundError, UsageError
from bot.domain.models import Channel, FollowRelation, Staff, WelcomeTemplate
from bot.domain.ops_models import ContactWay
from bot.outbox import effects
from bot.outbox.model import OPEN_STATUSES, PARKED, Effect

logger = logging.getLogger(__name__)

STATE_MAX = 30  # WeCom's limit on a 联系我 state
NAME_MAX = 64
TAG_MAX = 30
TAGS_MAX = 10
USERS_MAX = 100  # members per config
REMARK_MAX = 64
SINGLE, MULTI = 1, 2
# A state travels in callbacks and URLs: keep it to plain characters.
_STATE = re.compile(r"^[A-Za-z0-9_\-]+$")


@dataclass(frozen=True)
class ChannelInput:
    """What an admin asks for: the channel and, for its QR code, who answers it."""

    state: str
    name: str
    type: int
    users: tuple[str, ...]
    skip_verify: bool
    tags: tuple[str, ...]
    tag_group: str
    template_id: str | None
    remark: str


def split_words(raw: str) -> list[str]:
    """Items typed as "a b", "a,b" or "a，b" (order kept, duplicates dropped)."""
    words = re.split(r"[\s,，、|]+", raw.strip())
    return list(dict.fromkeys(w for w in words if w))


def check_input(data: ChannelInput, *, qr: bool = True) -> None:
    """Chinese errors for what WeCom or we would refuse, before anything is asked or stored.

    qr: the channel has (or gets) a QR code, so its type and members matter.
    """
    if not data.state or len(data.state) > STATE_MAX or not _STATE.match(data.state):
        raise UsageError(f"渠道标识（state）必填，最多 {STATE_MAX} 个英文字母、数字、- 或 _")
    if not data.name.strip() or len(data.name) > NAME_MAX:
        raise UsageError(f"渠道名称必填，最多 {NAME_MAX} 个字")
    if qr:
        _check_members(data)
    if len(data.tags) > TAGS_MAX or any(len(t) > TAG_MAX for t in data.tags):
        raise UsageError(f"渠道标签最多 {TAGS_MAX} 个，每个最多 {TAG_MAX} 个字")
    if not data.tag_group.strip() or len(data.tag_group) > TAG_MAX:
        raise UsageError(f"标签组名必填，最多 {TAG_MAX} 个字")
    if len(data.remark) > REMARK_MAX:
        raise UsageError(f"备注模板最多 {REMARK_MAX} 个字")


def _check_members(data: ChannelInput) -> None:
    if data.type not in (SINGLE, MULTI):
        raise UsageError("请选择单人码或多人码")
    if not data.users:
        raise UsageError("请至少选择一位接待成员")
    if data.type == SINGLE and len(data.users) != 1:
        raise UsageError("单人码只能有一位接待成员；多位成员请选多人码")
    if len(data.users) > USERS_MAX:
        raise UsageError(f"一个活码最多 {USERS_MAX} 位成员")


async def check_refs(session: AsyncSession, data: ChannelInput, *, qr: bool = True) -> None:
    """The members are active and the template exists (read before calling WeCom)."""
    if data.template_id and await session.get(WelcomeTemplate, data.template_id) is None:
        raise UsageError("所选欢迎语不存在，请刷新页面后重选")
    if not qr:
        return
    found = {s.userid: s for s in await session.scalars(
        select(Staff).where(Staff.userid.in_(list(data.users))))}  # fmt: skip
    unknown = [u for u in data.users if u not in found or not found[u].active]
    if unknown:
        raise UsageError(f"这些成员不存在或已停用：{'、'.join(unknown)}")


async def check_new(session: AsyncSession, data: ChannelInput) -> None:
    """A state not in use by a QR code yet (an imported channel without one may get one)."""
    check_input(data)
    if await session.get(ContactWay, data.state) is not None:
        raise UsageError(f"渠道标识「{data.state}」已有二维码，请换一个")
    await check_refs(session, data)


def _apply(channel: Channel, data: ChannelInput) -> None:
    channel.name, channel.tags, channel.tag_group = data.name, list(data.tags), data.tag_group
    channel.template_id, channel.remark = data.template_id, data.remark


async def record_created(
    session: AsyncSession, data: ChannelInput, *, config_id: str, qr_code: str, actor: str
) -> ContactWay:
    """Store the channel and the config WeCom just made for it (after add_contact_way)."""
    channel = await session.get(Channel, data.state)
    if channel is None:
        channel = Channel(state=data.state)
        session.add(channel)
    _apply(channel, data)
    way = ContactWay(
        state=data.state, config_id=config_id, qr_code=qr_code, type=data.type,
        users=list(data.users), skip_verify=data.skip_verify, created_by=actor,
    )  # fmt: skip
    session.add(way)
    await session.flush()
    logger.info("channel created state=%s config=%s", data.state, config_id)
    return way


async def forget_orphan(session: AsyncSession, config_id: str) -> None:
    """A config WeCom made that we could not record (a race on the state): delete it there."""
    await effects.add(session, "contact_way.delete", {"config_id": config_id},
                      key=f"contact_way-orphan:{config_id}")  # fmt: skip


def group_key(state: str) -> str:
    """Effects of one channel go out in the order they were recorded."""
    return f"contact_way:{state}"


async def update(session: AsyncSession, data: ChannelInput) -> bool:
    """Change a channel; its QR's members and verification follow through the outbox.

    The type and the state of a config cannot change in WeCom; True when WeCom is updated.
    """
    channel = await session.get(Channel, data.state)
    if channel is None:
        raise NotFoundError("找不到这个渠道")
    way = await session.get(ContactWay, data.state)
    check_input(data, qr=way is not None)
    await check_refs(session, data, qr=way is not None)
    _apply(channel, data)
    if way is None:  # an imported channel without a QR code: nothing in WeCom to change
        await session.flush()
        return False
    if data.type != way.type:
        raise UsageError("二维码创建后不能在单人码和多人码之间切换；请新建一个渠道")
    changed = list(data.users) != list(way.users) or data.skip_verify != way.skip_verify
    way.users, way.skip_verify = list(data.users), data.skip_verify
    await session.flush()
    if changed:
        payload = {"config_id": way.config_id, "users": list(data.users),
                   "skip_verify": data.skip_verify}  # fmt: skip
        await effects.add(session, "contact_way.update", payload, group=group_key(data.state))
    return changed


async def delete(session: AsyncSession, state: str) -> str | None:
    """Delete a channel (and its QR code in WeCom, through the outbox); its config_id.

    Past customers keep their state on their relation, so the channel's figures stay right.
    """
    channel = await session.get(Channel, state)
    if channel is None:
        raise NotFoundError("找不到这个渠道")
    way = await session.get(ContactWay, state)
    config_id = way.config_id if way else None
    if way is not None:
        await effects.add(session, "contact_way.delete", {"config_id": way.config_id},
                          key=f"contact_way-delete:{way.config_id}", group=group_key(state))
        await session.delete(way)
        await session.flush()  # no ORM relationship orders the two deletes: the child first
    await session.delete(channel)
    await session.flush()
    return config_id


@dataclass(frozen=True)
class Figures:
    """A channel's customers: added through it, still there, lost (either side deleted)."""

    added: int = 0
    active: int = 0
    lost: int = 0  # the customer deleted the rep
    deleted: int = 0  # the rep deleted the customer


async def figures(
    session: AsyncSession, states: Sequence[str] | None = None
) -> dict[str, Figures]:
    """Adds and losses per state, from the follow relations' state and status."""
    query = select(
        FollowRelation.state,
        func.count(),
        func.sum(case((FollowRelation.status == "active", 1), else_=0)),
        func.sum(case((FollowRelation.status == "lost", 1), else_=0)),
        func.sum(case((FollowRelation.status == "deleted", 1), else_=0)),
    ).group_by(FollowRelation.state)
    query = query.where(FollowRelation.state != "")
    if states is not None:
        query = query.where(FollowRelation.state.in_(list(states)))
    rows = await session.execute(query)
    return {s: Figures(int(n), int(a or 0), int(lo or 0), int(d or 0))
            for s, n, a, lo, d in rows.all()}  # fmt: skip


async def by_rep(session: AsyncSession, state: str) -> list[tuple[str, Figures]]:
    """One channel's adds and losses per rep, most added first."""
    rows = await session.execute(
        select(
            FollowRelation.userid,
            func.count(),
            func.sum(case((FollowRelation.status == "active", 1), else_=0)),
            func.sum(case((FollowRelation.status == "lost", 1), else_=0)),
            func.sum(case((FollowRelation.status == "deleted", 1), else_=0)),
        )
        .where(FollowRelation.state == state)
        .group_by(FollowRelation.userid)
    )
    out = [(u, Figures(int(n), int(a or 0), int(lo or 0), int(d or 0)))
           for u, n, a, lo, d in rows.all()]  # fmt: skip
    return sorted(out, key=lambda item: (-item[1].added, item[0]))


async def sync_state(session: AsyncSession, state: str) -> dict[str, Any] | None:
    """The channel's latest WeCom change not done yet: pending, or parked (refused)."""
    effect = await session.scalar(
        select(Effect)
        .where(Effect.group_key == group_key(state),
               Effect.status.in_((*OPEN_STATUSES, PARKED)))
        .order_by(Effect.id.desc())
        .limit(1)
    )  # fmt: skip
    if effect is None:
        return None
    return {"id": effect.id, "parked": effect.status == PARKED, "error": effect.last_error}
