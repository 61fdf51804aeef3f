"""The console tests' org, with an XSS payload in every text field a console page shows.

Page authors: seed what your page shows here (with XSS_* in its text fields), so the
authz-matrix, scoping and XSS tests cover it.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain import audit
from bot.domain.models import Customer, Department, FollowRelation, Staff
from bot.sandbox.fake import FakeWeCom

# Inert when escaped; an element (or a dialog) when not.
XSS = '<img src=x data-xss=1 onerror="alert(1)">'
XSS_SCRIPT = "<script>alert(2)</script>"
# Text that only department 3 (and admins) may see: a supervisor of department 2 must not.
DEPT3_SECRET = "三组机密客户"

DEPARTMENTS = {2: f"客服一组{XSS}", 3: f"客服二组{XSS_SCRIPT}"}
# userid, name, departments, role, WeCom status (1 active, 5 left)
MEMBERS = [
    ("rep2", f"小二{XSS}", [2], "rep", 1),
    ("sup2", f"二组主管{XSS_SCRIPT}", [2], "supervisor", 1),
    ("rep3", "三组客服", [3], "rep", 1),
    ("boss", f"老板{XSS}", [1], "admin", 1),
    ("gone", "已离职主管", [2], "supervisor", 5),
    ("leaver", "将离职主管", [2], "supervisor", 1),
]
# external_userid, name, rep
CUSTOMERS = [
    ("wmcust2000001", f"二组客户{XSS}", "rep2"),
    ("wmcust3000001", DEPT3_SECRET, "rep3"),
]
IDENTITIES = {"rep": "rep2", "supervisor": "sup2", "admin": "boss", "departed": "gone"}


def address_book(fake: FakeWeCom) -> None:
    """The fake's address book agrees with the org, so the directory sync keeps it."""
    for dept, name in DEPARTMENTS.items():
        fake.add_department(dept, name)
    for userid, name, departments, _role, status in MEMBERS:
        fake.add_member(userid, name, departments, status=status)


async def wait_for_directory(db: async_sessionmaker[AsyncSession]) -> None:
    """Wait until the start-up directory sync has stored the address book."""
    for _ in range(200):
        async with db() as session:
            row = await session.get(Staff, "rep3")
            if row is not None and row.synced_at is not None:
                return
        await asyncio.sleep(0.05)
    raise AssertionError("the directory sync never stored the test org")


async def org(session: AsyncSession) -> None:
    """Roles, departments' names, customers and an audit row (after the directory sync)."""
    for dept, name in DEPARTMENTS.items():
        row = await session.get(Department, dept)
        if row is None:
            session.add(Department(id=dept, name=name, parent_id=1))
        else:
            row.name = name
    for userid, name, departments, role, status in MEMBERS:
        staff = await session.get(Staff, userid)
        if staff is None:
            staff = Staff(userid=userid)
            session.add(staff)
        staff.name, staff.departments, staff.role = name, departments, role
        staff.active = status == 1
    await session.flush()
    for euid, name, rep in CUSTOMERS:
        if await session.get(Customer, euid) is None:
            session.add(Customer(external_userid=euid, name=name))
            await session.flush()
            session.add(FollowRelation(userid=rep, external_userid=euid, state="douyin"))
    await audit.record(session, actor="boss", action="console:test", target=XSS,
                       detail={"note": XSS_SCRIPT})  # fmt: skip
    await session.flush()
    from tests.console import seed_ops  # issue 12 pages (it imports this module's payloads)

    await seed_ops.seed(session)


async def staff_names(session: AsyncSession) -> dict[str, str]:
    """userid -> name, for assertions."""
    return {s.userid: s.name for s in await session.scalars(select(Staff))}
