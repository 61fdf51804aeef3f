"""The address book mirrored from WeCom: departments, members' names and departments, who left.

So that names are known before a member's first event (the first customer's welcome names
the rep; a supervisor can reassign to a colleague who never wrote to the app), the whole
address book is read at start-up and every `directory_sync_interval` seconds, once across
all workers (a lease in `app_lock`). The reads (department/list, user/list per department,
user/get for members no longer listed) happen with no transaction open; one short
transaction then stores what they said. A member missing from the listing is asked about on
their own: WeCom's 60111 (no such member) or status 5 means they left and become inactive,
while 60011 (outside the app's visible range) keeps them as they are.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core import db as core_db
from bot.core.errors import NotFoundError, WeComError
from bot.core.keys import CLOCK, DB, SETTINGS, WECOM
from bot.core.settings import Settings
from bot.domain import churn
from bot.domain import staff as staff_service
from bot.domain.models import Department, Staff
from bot.wecom.client import WeComClient

logger = logging.getLogger(__name__)

LEASE = "directory-sync"
# A worker looks this often whether a sync is due (the lease says whether one ran lately).
TICK = 300.0
# After a failed sync (WeCom down, the sandbox's fake not listening yet) try again this soon.
RETRY_AFTER = 60.0
# A command naming an unknown member refreshes the address book at most this often.
REFRESH_EVERY = timedelta(seconds=60)
# Members missing from a listing asked about one by one (user/get) per sync, at most.
ABSENT_CHECKS = 50
# WeCom's "no such member": the member left the corp (or never existed).
NO_SUCH_MEMBER = 60111
# What WeCom accepts as a userid (1-64 of letters, digits and _-@.); anything else is a name.
USERID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")


@dataclass
class Listing:
    """What WeCom's address book said, read before any transaction."""

    departments: list[Mapping[str, Any]] = field(default_factory=list)
    members: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    # Members known here but not listed, asked about one by one.
    absent: dict[str, staff_service.Fetched] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """What one sync changed."""

    departments: int
    members: int
    new: int
    left: list[str]
    # Members this sync found newly departed (active before, inactive now): issue 13 hands
    # their customers on.
    departed: list[str] = field(default_factory=list)


async def read(db: async_sessionmaker[AsyncSession], wecom: WeComClient) -> Listing:
    """The visible departments and their members; WeComError when WeCom refuses a page."""
    listing = Listing()
    data = await wecom.list_departments()
    listing.departments = [d for d in data.get("department") or [] if isinstance(d.get("id"), int)]
    for dept in listing.departments:
        page = await wecom.list_users(int(dept["id"]))
        for member in page.get("userlist") or []:
            userid = str(member.get("userid") or "")
            if userid:
                listing.members.setdefault(userid, member)
    if not listing.members:
        return listing  # an empty listing means no permission, not that everybody left
    async with db() as session:
        rows = await session.execute(
            select(Staff.userid, Staff.synced_at).where(Staff.active.is_(True))
        )
        # Least recently asked first, so that members who stay unlisted (outside the app's
        # range) cannot keep the others from ever being asked.
        oldest = sorted(rows.all(), key=lambda r: (r.synced_at is not None, r.synced_at, r.userid))
    absent = [r.userid for r in oldest if r.userid not in listing.members]
    for userid in absent[:ABSENT_CHECKS]:
        listing.absent[userid] = await staff_service.fetch_member(wecom, userid)
    return listing


async def store(
    session: AsyncSession, settings: Settings, listing: Listing, *, now: datetime
) -> Outcome:
    """Write what `read` found: departments, members (never their role), who left."""
    known = {d.id: d for d in await session.scalars(select(Department))}
    for item in listing.departments:
        dept = known.get(int(item["id"])) or Department(id=int(item["id"]))
        dept.name = str(item.get("name") or "") or dept.name or ""
        dept.parent_id = int(item.get("parentid") or 0)
        dept.order = int(item.get("order") or 0)
        dept.synced_at = now
        session.add(dept)
    rows = {s.userid: s for s in await session.scalars(select(Staff))}
    was_active = {userid for userid, row in rows.items() if row.active}
    new = 0
    for userid, member in listing.members.items():
        new += userid not in rows
        # get_staff: a new row gets its role from the settings, which only ever raise one.
        row = await staff_service.get_staff(session, settings, userid)
        staff_service.apply_member(row, staff_service.Fetched(member, answered=True), now)
    left: list[str] = []
    for userid, fetched in listing.absent.items():
        gone = rows.get(userid)
        if gone is None:
            continue
        staff_service.apply_member(gone, fetched, now)
        if fetched.errcode == NO_SUCH_MEMBER:
            gone.active = False
        if not gone.active:
            left.append(userid)
    await session.flush()
    departed = sorted(u for u in was_active if not rows[u].active)
    return Outcome(len(listing.departments), len(listing.members), new, left, departed)


async def sync(
    db: async_sessionmaker[AsyncSession],
    settings: Settings,
    wecom: WeComClient,
    *,
    now: datetime,
    every: timedelta,
) -> Outcome | None:
    """One sync, unless another worker ran one within `every` (None then).

    The lease is committed before WeCom is read and given back if the sync fails, so the
    next worker to look tries again instead of waiting a whole interval.
    """
    async with db.begin() as session:
        if not await core_db.claim_lease(session, LEASE, every=every, now=now):
            return None
    try:
        listing = await read(db, wecom)
        async with db.begin() as session:
            outcome = await store(session, settings, listing, now=now)
            for userid in outcome.departed:
                await churn.hand_on(session, settings, userid, now=now, by="directory")
    except BaseException:
        with contextlib.suppress(Exception):  # the lease then simply runs out
            async with db.begin() as session:
                await core_db.release_lease(session, LEASE)
        raise
    logger.info(
        "directory synced departments=%d members=%d new=%d left=%d",
        outcome.departments, outcome.members, outcome.new, len(outcome.left),
    )  # fmt: skip
    return outcome


async def know_member(
    db: async_sessionmaker[AsyncSession],
    settings: Settings,
    wecom: WeComClient,
    ref: str,
    *,
    now: datetime,
) -> None:
    """Before a command's transaction: make a member named by userid or name known here.

    Known ones are re-synced when due; an unknown userid is asked about (user/get); an
    unknown name refreshes the address book (at most every REFRESH_EVERY). NotFoundError
    when WeCom does not know them either.
    """
    async with db() as session:
        row = await _find(session, ref)
    if row is not None:
        await staff_service.ensure_synced(db, settings, wecom, row.userid, now=now)
        return
    if USERID.fullmatch(ref):
        fetched = await staff_service.fetch_member(wecom, ref)
        if fetched.member is not None:
            async with db.begin() as session:
                member = await staff_service.get_staff(session, settings, ref)
                staff_service.apply_member(member, fetched, now)
            return
    try:
        await sync(db, settings, wecom, now=now, every=REFRESH_EVERY)
    except WeComError as exc:
        logger.warning("directory refresh failed errcode=%s", exc.errcode)
    async with db() as session:
        if await _find(session, ref) is None:
            raise NotFoundError(f"找不到员工「{ref}」，请写企业微信里的姓名或账号（userid）")


async def _find(session: AsyncSession, ref: str) -> Staff | None:
    row = await session.get(Staff, ref)
    if row is not None:
        return row
    return await session.scalar(select(Staff).where(Staff.name == ref).limit(1))


async def department_names(session: AsyncSession, ids: list[int]) -> dict[int, str]:
    """id -> name of the known departments among ids."""
    rows = await session.scalars(select(Department).where(Department.id.in_(ids)))
    return {d.id: d.name for d in rows if d.name}


def department_label(names: Mapping[int, str], ids: list[int]) -> str:
    """"客服一组（2）、3" for a member's departments ("—" for none)."""
    if not ids:
        return "—"
    return "、".join(f"{names[i]}（{i}）" if names.get(i) else str(i) for i in ids)


async def directory_ctx(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: sync at start-up (in the background) and whenever the interval says."""
    interval = app[SETTINGS].directory_sync_interval
    if not interval:
        yield
        return

    async def loop() -> None:
        every = timedelta(seconds=interval)
        while True:
            pause = min(interval, TICK)
            try:
                await sync(app[DB], app[SETTINGS], app[WECOM], now=app[CLOCK].now(), every=every)
            except Exception as exc:  # noqa: BLE001 - the next tick tries again
                code = exc.errcode if isinstance(exc, WeComError) else None
                logger.warning("directory sync failed errcode=%s", code, exc_info=code is None)
                pause = min(pause, RETRY_AFTER)
            await asyncio.sleep(pause)

    task = asyncio.get_running_loop().create_task(loop())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
