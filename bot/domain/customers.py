"""Customers and follow relations: upserts from events, ownership and access checks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.db import utcnow
from bot.core.errors import NotFoundError, PermissionDeniedError
from bot.core.settings import Settings
from bot.domain import staff as staff_service
from bot.domain.models import Customer, FollowRelation, Staff

ACTIVE = "active"
NOT_YOURS = "这不是你的客户"


async def upsert_customer(
    session: AsyncSession,
    *,
    external_userid: str,
    name: str = "",
    avatar: str = "",
    corp_name: str = "",
    type: int = 1,  # WeCom's field name (1 WeChat, 2 WeCom)
    gender: int = 0,
    unionid: str = "",
) -> Customer:
    """Create or update a customer; empty values never overwrite known ones."""
    customer = await session.get(Customer, external_userid)
    if customer is None:
        customer = Customer(
            external_userid=external_userid,
            name=name,
            avatar=avatar,
            corp_name=corp_name,
            type=type,
            gender=gender,
            unionid=unionid,
        )
        session.add(customer)
    else:
        for field, value in (
            ("name", name),
            ("avatar", avatar),
            ("corp_name", corp_name),
            ("unionid", unionid),
        ):
            if value:
                setattr(customer, field, value)
        customer.type = type or customer.type
        customer.gender = gender or customer.gender
    await session.flush()
    return customer


async def upsert_follow(
    session: AsyncSession,
    *,
    userid: str,
    external_userid: str,
    remark: str = "",
    description: str = "",
    state: str = "",
    add_way: int = 0,
    added_at: datetime | None = None,
) -> FollowRelation:
    """Create or re-activate the rep-customer relation (the customer row must exist)."""
    follow = await session.scalar(
        select(FollowRelation).where(
            FollowRelation.userid == userid, FollowRelation.external_userid == external_userid
        )
    )
    if follow is None:
        follow = FollowRelation(
            userid=userid,
            external_userid=external_userid,
            remark=remark,
            description=description,
            state=state,
            add_way=add_way,
            added_at=added_at or utcnow(),
            status=ACTIVE,
        )
        session.add(follow)
    else:
        follow.remark = remark or follow.remark
        follow.description = description or follow.description
        follow.state = state or follow.state
        follow.add_way = add_way or follow.add_way
        if follow.status != ACTIVE:
            # Re-added after a deletion: a new relationship starts now.
            follow.status = ACTIVE
            follow.ended_at = None
            follow.added_at = added_at or utcnow()
    await session.flush()
    return follow


async def end_follow(
    session: AsyncSession, *, userid: str, external_userid: str, status: str, at: datetime
) -> FollowRelation | None:
    """Mark a relation lost / deleted / transferred; None when there was none."""
    follow = await session.scalar(
        select(FollowRelation).where(
            FollowRelation.userid == userid, FollowRelation.external_userid == external_userid
        )
    )
    if follow is not None and follow.status == ACTIVE:
        follow.status = status
        follow.ended_at = at
        await session.flush()
    return follow


async def get_staff(session: AsyncSession, settings: Settings, userid: str) -> Staff:
    """The staff row for userid (created if missing, role seeded from settings)."""
    return await staff_service.get_staff(session, settings, userid)


async def followers(session: AsyncSession, external_userid: str) -> list[str]:
    """Userids with an active relation to the customer, newest first."""
    rows = await session.scalars(
        select(FollowRelation.userid)
        .where(FollowRelation.external_userid == external_userid, FollowRelation.status == ACTIVE)
        .order_by(FollowRelation.added_at.desc(), FollowRelation.id.desc())
    )
    return list(rows)


async def rep_of(session: AsyncSession, external_userid: str) -> str | None:
    """The rep whose active relation with the customer is the newest, if any."""
    reps = await followers(session, external_userid)
    return reps[0] if reps else None


async def can_access(session: AsyncSession, viewer: Staff, external_userid: str) -> bool:
    """Whether the viewer may see and act on this customer."""
    team = await staff_service.team_userids(session, viewer)
    if team is None:
        return True
    return bool(team & set(await followers(session, external_userid)))


async def require_customer_access(
    session: AsyncSession, viewer: Staff, external_userid: str
) -> Customer:
    """The customer, if the viewer may act on it; NotFoundError / PermissionDeniedError."""
    customer = await session.get(Customer, external_userid)
    if customer is None:
        raise NotFoundError("找不到这位客户")
    if not await can_access(session, viewer, external_userid):
        raise PermissionDeniedError(NOT_YOURS)
    return customer


async def follow_of(
    session: AsyncSession, userid: str, external_userid: str
) -> FollowRelation | None:
    """The active relation between this rep and this customer, if any."""
    return await session.scalar(
        select(FollowRelation).where(
            FollowRelation.userid == userid,
            FollowRelation.external_userid == external_userid,
            FollowRelation.status == ACTIVE,
        )
    )


async def acting_userid(session: AsyncSession, viewer: Staff, external_userid: str) -> str:
    """Whose relation a WeCom call (mark_tag) goes through: the viewer's own, else the rep's."""
    if await follow_of(session, viewer.userid, external_userid) is not None:
        return viewer.userid
    rep = await rep_of(session, external_userid)
    if rep is None:
        raise NotFoundError("这位客户目前没有跟进员工")
    return rep


def display_name(customer: Customer, remark: str = "") -> str:
    """How a customer is shown to staff: remark (name) or name or a short id."""
    name = customer.name or customer.external_userid[-6:]
    return f"{remark}（{name}）" if remark and remark != name else name


async def customer_label(session: AsyncSession, external_userid: str) -> str:
    """How staff see a customer in a notice: remark（name） of the newest relation, or name."""
    customer = await session.get(Customer, external_userid)
    if customer is None:
        return external_userid
    follow = await session.scalar(
        select(FollowRelation)
        .where(FollowRelation.external_userid == external_userid)
        .order_by(FollowRelation.added_at.desc(), FollowRelation.id.desc())
        .limit(1)
    )
    return display_name(customer, follow.remark if follow else "")
