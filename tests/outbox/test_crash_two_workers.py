"""A burst of mixed callbacks, each sent to two workers, one worker SIGKILLed mid-burst.

PostgreSQL + Redis, real `python -m bot` processes, the fake WeCom in this process. Nothing
may be lost or doubled in the database; at WeCom, as docs/outbox.md promises: no doubled
welcome, alert or kf answer (mark_tag may repeat: it is idempotent).
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select

from bot.core import db
from bot.domain.models import (
    Customer,
    CustomerTag,
    Escalation,
    FollowRelation,
    Followup,
    InboxItem,
    Message,
    Note,
    Staff,
    Tag,
    WelcomeTemplate,
)
from bot.inbound import inbox as inbox_store
from bot.outbox import effects
from bot.outbox.model import Effect
from bot.sandbox.fake import FakeWeCom
from bot.wecom.crypto import parse_plain
from knowledge import store
from tests import processes
from tests.flows.conftest import TEST_KB

KF = "wkCRASH01"
ADD = "event/change_external_contact/add_external_contact"
REPS = [f"r{n}" for n in range(10)]  # each in a department of their own, with a supervisor
NOTES, FOLLOWS, ESCALATIONS, TAGS, WELCOMES, KF_QUESTIONS = 200, 150, 100, 150, 200, 200
CUSTOMERS = 200
LEASES = {
    "SIDEKICK_INBOX_LEASE": "2", "SIDEKICK_INBOX_SWEEP": "0.5", "SIDEKICK_OUTBOX_LEASE": "3",
    "SIDEKICK_OUTBOX_POLL": "0.5", "SIDEKICK_SCHEDULER_INTERVAL": "3600",
}  # fmt: skip


@pytest.fixture
async def redis_db(redis_url: str) -> AsyncIterator[str]:
    """A Redis database of this test's own (emptied), so no other test's keys meet ours."""
    # Derived from the run's own database, so two suites sharing one redis-server (two
    # checkouts on a dev machine) never share the kf locks and tokens of this test.
    base, _, number = redis_url.rpartition("/")
    own = f"{base}/{(int(number or 0) + 8) % 16}"
    client = aioredis.from_url(own)
    await client.flushdb()
    yield own
    await client.flushdb()
    await client.aclose()


async def _seed(pg_url: str, fake: FakeWeCom) -> None:
    """Reps and supervisors, customers with relations, a tag library, a template, the KB."""
    engine = db.create_engine(pg_url)
    fake.state.groups["grp1"] = {
        "group_id": "grp1", "group_name": "客户标签", "create_time": 0, "order": 0,
        "deleted": False,
        "tag": [{"id": "tagVIP", "name": "VIP", "create_time": 0, "order": 0, "deleted": False}],
    }  # fmt: skip
    async with db.create_sessionmaker(engine).begin() as session:
        for n, rep in enumerate(REPS):
            session.add(Staff(userid=rep, name=f"员工{n}", departments=[100 + n], role="rep"))
            session.add(Staff(userid=f"s{n}", name=f"主管{n}", departments=[100 + n],
                              role="supervisor"))  # fmt: skip
        session.add(Tag(id="tagVIP", group_id="grp1", group_name="客户标签", name="VIP"))
        session.add(WelcomeTemplate(id="default", scope="default", text="您好，欢迎！"))
        for n in range(CUSTOMERS):
            euid, rep = f"wmcust{n:04}", REPS[n % len(REPS)]
            session.add(Customer(external_userid=euid, name=f"顾客{n:04}"))
            await session.flush()
            session.add(FollowRelation(userid=rep, external_userid=euid))
            fake.add_contact(euid, name=f"顾客{n:04}", follow_user=[rep])
        await store.replace_kb(session, TEST_KB)
    await engine.dispose()


def _callbacks(fake: FakeWeCom) -> list[Callable[[], bytes]]:
    """1,000 distinct callbacks (made when sent, as WeCom does): commands, welcomes, kf."""
    out: list[Callable[[], bytes]] = []

    def command(n: int, text: str) -> Callable[[], bytes]:
        return lambda: fake.xml_app_text(REPS[n % len(REPS)], text)

    def added(n: int) -> Callable[[], bytes]:
        euid, rep = f"wmnew{n:04}", REPS[n % len(REPS)]
        fake.add_contact(euid, name=f"新客{n}", follow_user=[rep])
        return lambda: fake.xml_add_external_contact(rep, euid, "", f"CODE{n:04}")

    def asked(n: int) -> Callable[[], bytes]:
        def make() -> bytes:
            fake.queue_kf_text(KF, f"wmkf{n:04}", "怎么开发票")
            return fake.xml_kf_event(KF)

        return make

    out += [command(n, f"/note 顾客{n % CUSTOMERS:04} 备注第{n}条") for n in range(NOTES)]
    out += [command(n, f"/follow 顾客{n:04} 跟进第{n}条") for n in range(FOLLOWS)]
    out += [command(n, f"/escalate 顾客{n:04} 升级第{n}条") for n in range(ESCALATIONS)]
    out += [command(n, f"/tag 顾客{n:04} VIP") for n in range(TAGS)]
    out += [added(n) for n in range(WELCOMES)]
    out += [asked(n) for n in range(KF_QUESTIONS)]
    # Interleave the kinds, as a real day would.
    return [out[i] for i in sorted(range(len(out)), key=lambda i: (i * 7919) % len(out))]


async def _settled(pg_url: str, within: float = 120.0) -> dict[str, int]:
    """Wait until every inbox row is done and every effect done; their counts."""
    engine = db.create_engine(pg_url)
    sm = db.create_sessionmaker(engine)
    deadline = asyncio.get_running_loop().time() + within
    try:
        while True:
            async with sm() as session:
                inbox = await inbox_store.counts(session)
                outbox = await effects.counts(session)
            if set(inbox) <= {"done"} and set(outbox) <= {"done"} and inbox:
                return {"inbox": inbox.get("done", 0), "effects": outbox.get("done", 0)}
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"not settled: inbox {inbox}, outbox {outbox}")
            await asyncio.sleep(0.5)
    finally:
        await engine.dispose()


async def _both_busy(pg_url: str, within: float = 30.0) -> None:
    """Wait until two workers each hold a claimed inbox row."""
    engine = db.create_engine(pg_url)
    query = select(func.count(func.distinct(InboxItem.claimed_by))).where(
        InboxItem.status == "processing"
    )
    deadline = asyncio.get_running_loop().time() + within
    try:
        while True:
            async with db.create_sessionmaker(engine)() as session:
                if (await session.scalar(query) or 0) >= 2:
                    return
            assert asyncio.get_running_loop().time() < deadline, "the workers never overlapped"
            await asyncio.sleep(0.01)
    finally:
        await engine.dispose()


async def _count(pg_url: str, *queries: Any) -> list[Any]:
    engine = db.create_engine(pg_url)
    try:
        async with db.create_sessionmaker(engine)() as session:
            return [(await session.execute(q)).all() for q in queries]
    finally:
        await engine.dispose()


async def _expired_after_retake(pg_url: str, codes: set[str]) -> set[str]:
    """Of these welcome codes, those missed as docs/outbox.md allows: the kill left the add
    event to be retaken, and the replay came after the code's 20 s (the handler skipped it,
    or its effect expired before delivery). On a fast machine there are none."""
    if not codes:
        return set()
    retaken, decided, expired = await _count(
        pg_url,
        select(InboxItem.payload).where(InboxItem.kind == ADD, InboxItem.attempts > 1),
        select(FollowRelation.welcome_code, FollowRelation.welcome)
        .where(FollowRelation.welcome_code.in_(codes)),
        select(Effect.key).where(
            Effect.key.in_([f"welcome:{c}" for c in codes]), Effect.outcome == "expired"
        ),
    )  # fmt: skip
    late = {code for code, welcome in decided if welcome == "skipped"}
    late |= {key.removeprefix("welcome:") for (key,) in expired}
    codes_retaken = {parse_plain(xml.encode()).get("WelcomeCode", "") for (xml,) in retaken}
    return late & codes_retaken


async def test_no_loss_no_double_when_a_worker_is_killed_mid_burst(
    pg_url: str, redis_db: str, fake: FakeWeCom, fake_server: TestServer
) -> None:
    await _seed(pg_url, fake)
    bodies = _callbacks(fake)
    api = str(fake_server.make_url("")).rstrip("/")
    env = processes.production_env(api, pg_url, REDIS_URL=redis_db, **LEASES)
    ports = [processes.free_port(), processes.free_port()]
    workers = [await processes.start(env, port) for port in ports]
    urls = [f"http://127.0.0.1:{port}/wecom/callback" for port in ports]
    sem = asyncio.Semaphore(16)

    async def send(make: Callable[[], bytes]) -> None:
        async with sem:
            query, envelope = fake.build_callback(make())
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:

                async def post(url: str) -> None:
                    try:
                        async with http.post(url, params=query, data=envelope) as resp:
                            assert resp.status == 200
                    except aiohttp.ClientError:
                        pass  # the killed worker: WeCom's copy to the other one counts

                await asyncio.gather(*(post(u) for u in urls))

    third = len(bodies) // 3
    await asyncio.gather(*(send(b) for b in bodies[:third]))
    burst = [asyncio.create_task(send(b)) for b in bodies[third : 2 * third]]
    # Mid-burst: worker A dies with callbacks in flight. Both workers holding claimed work is
    # the moment (a fixed pause after the burst began missed it on a faster or slower machine).
    await _both_busy(pg_url)
    await processes.kill(workers[0])
    await asyncio.gather(*burst)
    workers[0] = await processes.start(env, ports[0])  # restarted
    await asyncio.gather(*(send(b) for b in bodies[2 * third :]))
    try:
        settled = await _settled(pg_url)
    finally:
        for proc in workers:
            await processes.stop(proc)

    # The database: every callback exactly once, every write exactly once.
    assert settled["inbox"] == len(bodies)
    (retaken,) = await _count(
        pg_url, select(func.count()).select_from(InboxItem).where(InboxItem.attempts > 1)
    )
    assert retaken[0][0] > 0  # the kill left claimed work that the other worker took over
    notes, follows, escalations, tags, relations, kf = await _count(
        pg_url,
        select(Note.text, func.count()).group_by(Note.text),
        select(Followup.note, func.count()).group_by(Followup.note),
        select(Escalation.reason, func.count()).group_by(Escalation.reason),
        select(CustomerTag.external_userid, func.count()).group_by(CustomerTag.external_userid),
        select(FollowRelation.external_userid, func.count())
        .where(FollowRelation.external_userid.like("wmnew%"))
        .group_by(FollowRelation.external_userid),
        select(Message.source_msgid, func.count())
        .where(Message.source == "kf", Message.direction == "in")
        .group_by(Message.source_msgid),
    )
    found = {name: (len(rows), {n for _, n in rows}) for name, rows in (
        ("notes", notes), ("follows", follows), ("escalations", escalations), ("tags", tags),
        ("welcomes", relations), ("kf", kf))}  # fmt: skip
    assert found == {
        "notes": (NOTES, {1}), "follows": (FOLLOWS, {1}), "escalations": (ESCALATIONS, {1}),
        "tags": (TAGS, {1}), "welcomes": (WELCOMES, {1}), "kf": (KF_QUESTIONS, {1}),
    }  # fmt: skip

    # WeCom: no doubled welcome, alert or kf answer.
    welcomes = Counter(
        c["json"]["welcome_code"] for c in fake.calls_to("externalcontact/send_welcome_msg")
        if c["errcode"] == 0
    )  # fmt: skip
    assert set(welcomes.values()) == {1}
    missed = {f"CODE{n:04}" for n in range(WELCOMES)} - set(welcomes)
    assert missed <= await _expired_after_retake(pg_url, missed)
    alerts = Counter(
        re.match(r"【客户升级 #(\d+)】", c["json"]["text"]["content"]).group(1)  # type: ignore[union-attr]
        for c in fake.calls_to("message/send")
        if c["errcode"] == 0 and not c.get("duplicate")
        and c["json"]["text"]["content"].startswith("【客户升级")
    )  # fmt: skip
    assert (len(alerts), set(alerts.values())) == (ESCALATIONS, {1})
    answers = Counter(
        c["json"]["touser"] for c in fake.calls_to("kf/send_msg")
        if c["errcode"] == 0 and not c.get("duplicate")
    )  # fmt: skip
    assert (len(answers), set(answers.values())) == (KF_QUESTIONS, {1})
