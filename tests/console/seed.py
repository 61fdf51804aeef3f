"""The console tests' org, with an XSS payload in every text field a console page shows.

Page authors: seed what your page shows here (with XSS_* in its text fields), so the
authz-matrix, scoping and XSS tests cover it.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.db import utcnow
from bot.domain import audit, turns
from bot.domain.models import (
    Customer,
    Department,
    Escalation,
    FollowRelation,
    Followup,
    InboxItem,
    KbProposal,
    Message,
    Staff,
)
from bot.outbox import kinds
from bot.outbox.model import Effect
from bot.sandbox.fake import FakeWeCom
from knowledge import store_edit
from knowledge.misses import KBMiss
from knowledge.model import Attachment, FaqEntry, KeywordRule, QuickReply
from knowledge.store import KBSynonym
from tests.console import seed_lifecycle

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
    await activity(session)
    await seed_lifecycle.lifecycle(session, XSS, XSS_SCRIPT, DEPT3_SECRET)
    await session.flush()
    await knowledge(session)
    from tests.console import seed_ops  # issue 12 pages (it imports this module's payloads)

    await seed_ops.seed(session)
    await session.flush()
    # The seeded messages' customer turns, as recording them would have kept them.
    messages = await session.scalars(select(Message).order_by(Message.created_at, Message.id))
    await turns.record(session, turns.events_of(messages))


# Knowledge pages (KB, keyword rules, quick replies): the items their sample URLs name.
KB_ENTRY = FaqEntry(
    id="faq-xss", question=f"发票问题{XSS}", similar=(f"开票{XSS_SCRIPT}",),
    answer=f"答案{XSS_SCRIPT}", keywords=(f"词{XSS}",), category=f"分类{XSS}",
    attachment=Attachment("link", title=f"附件{XSS}", url="https://example.com/x?a=<b>",
                          desc=XSS_SCRIPT),
)  # fmt: skip
KB_RULE = KeywordRule(
    id="rule-xss", name=f"规则{XSS}", phrases=(f"过敏{XSS}", "红肿"), tags=(f"标签{XSS}"[:30],),
    caution=f"提醒{XSS_SCRIPT}", negations=(f"排除{XSS}",), special_care=True,
)  # fmt: skip
QUICK_REPLIES = [
    QuickReply(id="qr-xss", title=f"话术{XSS}", content=f"内容{XSS_SCRIPT}",
               category=f"分组{XSS}", shortcut=f"kj{XSS}"),
    QuickReply(id="qr-delete-me", title="要删的话术", content="再见"),
    # Another department's and its rep's own replies: the dept-2 supervisor never sees them.
    QuickReply(id="qr-dept3", title=DEPT3_SECRET, content=DEPT3_SECRET, scope="department",
               owner="3"),
    QuickReply(id="qr-rep3", title=f"{DEPT3_SECRET}个人", content="私人话术",
               scope="personal", owner="rep3"),
]  # fmt: skip


async def knowledge(session: AsyncSession) -> None:
    """FAQ entries, a rule, quick replies, a synonym group and a pending proposal."""
    await store_edit.save_entry(session, KB_ENTRY)
    await store_edit.save_entry(session, FaqEntry(id="faq-delete-me", question="要删的问题",
                                                  answer="要删的答案"))  # fmt: skip
    await store_edit.save_rule(session, KB_RULE)
    await store_edit.save_rule(session, KeywordRule(id="rule-delete-me", name="要删的规则",
                                                    phrases=("要删",), notify=True))  # fmt: skip
    for reply in QUICK_REPLIES:
        await store_edit.save_quick_reply(session, reply)
    session.add(KBSynonym(canonical=f"同义{XSS}", variant=f"变体{XSS_SCRIPT}"))
    session.add(KbProposal(
        entry_id="faq-xss", question=f"客户问法{XSS}", question_key="xss-proposal",
        message_ids=[], reps=["rep2"], status="pending", decided_by="", added=False,
    ))  # fmt: skip
    await session.flush()


async def activity(session: AsyncSession) -> None:
    """This week's messages, a lost customer, escalations, overdue follow-ups and misses."""
    now = utcnow()
    hour = timedelta(hours=1)
    for euid, _name, rep in CUSTOMERS:
        secret = DEPT3_SECRET if rep == "rep3" else XSS
        session.add_all(
            [
                Message(
                    source="archive",
                    direction="in",
                    external_userid=euid,
                    userid=rep,
                    text=f"问题{secret}",
                    created_at=now - 3 * hour,
                ),
                Message(
                    source="archive",
                    direction="out",
                    external_userid=euid,
                    userid=rep,
                    text=f"回答{XSS_SCRIPT}",
                    created_at=now - 2 * hour,
                ),
                Message(
                    source="kf",
                    direction="in",
                    external_userid=euid,
                    text=f"客服问{secret}",
                    auto_replied=True,
                    answered_at=now - hour,
                    created_at=now - hour,
                ),
                Escalation(
                    external_userid=euid,
                    userid=rep,
                    reason=f"升级原因{secret}",
                    created_at=now - 5 * hour,
                ),
                Followup(
                    external_userid=euid,
                    userid=rep,
                    note=f"回访{secret}",
                    due_at=now - 4 * hour,
                    created_at=now - 6 * hour,
                ),
            ]
        )
    lost = await session.scalar(select(FollowRelation).where(FollowRelation.userid == "rep3"))
    if lost is not None:
        lost.status, lost.ended_at = "lost", now - hour
    for effect_id in (1, 2, 3):  # parked work: 1 is retried, 2 discarded by the tests
        payload = {**kinds.message_payload("rep2", XSS), "what": f"通知{XSS_SCRIPT}"}
        session.add(
            Effect(
                id=effect_id,
                kind="message",
                key=f"seed-{effect_id}",
                payload=payload,
                status="parked",
                last_errcode=81013,
                last_error=XSS,
                attempts=3,
            )
        )
    session.add(
        InboxItem(
            dedup_key="seed-parked",
            kind=f"event{XSS}",
            payload="{}",
            status="parked",
            attempts=5,
            last_error=XSS_SCRIPT,
        )
    )
    for miss_id, question in ((1, f"可以开发票吗{XSS}"), (2, f"{XSS_SCRIPT}几点下班")):
        if await session.get(KBMiss, miss_id) is None:
            session.add(
                KBMiss(
                    id=miss_id,
                    key=f"k{miss_id}",
                    question=question,
                    count=3,
                    source="kf",
                    first_at=now - 2 * hour,
                    last_at=now - hour,
                )
            )


async def staff_names(session: AsyncSession) -> dict[str, str]:
    """userid -> name, for assertions."""
    return {s.userid: s.name for s in await session.scalars(select(Staff))}
