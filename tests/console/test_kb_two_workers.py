"""Must-show: editing a KB entry in the console changes the next kf auto-reply without a
restart, on two workers: two real `python -m bot` processes on one PostgreSQL database and one
Redis, the fake WeCom in this process, customers asking through 微信客服.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestServer

from bot.core import db
from bot.domain.models import Staff
from bot.sandbox.fake import FakeWeCom
from bot.web import session as sess
from console import auth
from knowledge import store
from tests import conftest, processes
from tests.flows.conftest import TEST_KB

KF = "wkKBLIVE01"
QUESTION = "怎么开发票"
OLD = "下单时填写抬头即可开电子发票。"
NEW = "发票改为在「我的-发票」里自助申请，1 个工作日内开出。"
ENV = {
    # Long enough that only the console's publish (the Redis broadcast) can explain the change.
    "SIDEKICK_KB_POLL": "3600", "SIDEKICK_OUTBOX_POLL": "0.5", "SIDEKICK_INBOX_SWEEP": "0.5",
    "SIDEKICK_SCHEDULER_INTERVAL": "3600",
}  # fmt: skip


@pytest.fixture
async def redis_db(redis_url: str) -> AsyncIterator[str]:
    """This test's Redis database, emptied before and after."""
    client = aioredis.from_url(redis_url)
    await client.flushdb()
    yield redis_url
    await client.flushdb()
    await client.aclose()


async def _seed(pg_url: str) -> None:
    engine = db.create_engine(pg_url)
    async with db.create_sessionmaker(engine).begin() as session:
        session.add(Staff(userid="boss", name="老板", departments=[1], role="admin"))
        await store.replace_kb(session, TEST_KB)
    await engine.dispose()


async def _ask(fake: FakeWeCom, port: int, customer: str) -> str:
    """A kf customer asks QUESTION through one worker; the answer WeCom was asked to send."""
    before = len(fake.calls_to("kf/send_msg"))
    fake.queue_kf_text(KF, customer, QUESTION)
    query, envelope = fake.build_callback(fake.xml_kf_event(KF))
    async with aiohttp.ClientSession() as http, http.post(
        f"http://127.0.0.1:{port}/wecom/callback", params=query, data=envelope
    ) as resp:
        assert resp.status == 200
    for _ in range(300):
        sent = [c for c in fake.calls_to("kf/send_msg")[before:]
                if c["json"]["touser"] == customer and c["errcode"] == 0]  # fmt: skip
        if sent:
            return str(sent[0]["json"]["text"]["content"])
        await asyncio.sleep(0.05)
    raise AssertionError(f"no kf answer to {customer} via port {port}")


async def _matched_answer(http: aiohttp.ClientSession, port: int) -> str:
    """What a worker's live matcher answers now (the console's "test a question", as JSON)."""
    async with http.get(f"http://127.0.0.1:{port}/console/kb/test", params={"q": QUESTION},
                        headers={"Accept": "application/json"}) as resp:  # fmt: skip
        assert resp.status == 200
        result = (await resp.json())["result"]
    assert result["would_auto_reply"]
    return str(result["matched"]["answer"])


@contextlib.asynccontextmanager
async def _two_workers(
    pg_url: str, redis_db: str, fake_server: TestServer
) -> AsyncIterator[tuple[list[int], str, str]]:
    """Two production workers on one PostgreSQL and Redis: (ports, boss's cookie, CSRF)."""
    await _seed(pg_url)
    api = str(fake_server.make_url("")).rstrip("/")
    env = processes.production_env(api, pg_url, REDIS_URL=redis_db, **ENV)
    ports = [processes.free_port(), processes.free_port()]
    workers = [await processes.start(env, port) for port in ports]
    session, cookie = sess.new_session(conftest.SESSION_SECRET, "boss", time.time())
    try:
        yield ports, cookie, sess.csrf_token(conftest.SESSION_SECRET, session)
        assert all(w.returncode is None for w in workers)  # never restarted
    finally:
        for proc in workers:
            await processes.stop(proc)


async def test_console_edit_changes_the_next_kf_answer_on_both_workers(
    pg_url: str, redis_db: str, fake: FakeWeCom, fake_server: TestServer
) -> None:
    async with _two_workers(pg_url, redis_db, fake_server) as (ports, cookie, token):
        assert await _ask(fake, ports[0], "wmkfA1") == OLD
        assert await _ask(fake, ports[1], "wmkfB1") == OLD
        async with aiohttp.ClientSession(cookies={auth.COOKIE: cookie}) as http:
            # The admin edits the answer in worker A's console.
            async with http.post(
                f"http://127.0.0.1:{ports[0]}/console/kb/entries/invoice",
                data={"csrf": token, "question": QUESTION, "answer": NEW, "enabled": "1"},
                headers={"Origin": f"http://127.0.0.1:{ports[0]}"}, allow_redirects=False,
            ) as resp:  # fmt: skip
                assert resp.status == 303, await resp.text()
            # Worker A published before answering: its very next auto-reply is the new one.
            assert await _ask(fake, ports[0], "wmkfA2") == NEW
            # Worker B follows the broadcast (no restart, and its revision poll is an hour).
            for _ in range(200):
                if await _matched_answer(http, ports[1]) == NEW:
                    break
                await asyncio.sleep(0.05)
            assert await _ask(fake, ports[1], "wmkfB2") == NEW


async def test_an_import_previewed_on_one_worker_is_confirmed_on_the_other(
    pg_url: str, redis_db: str, fake: FakeWeCom, fake_server: TestServer
) -> None:
    """The pending upload lives in Redis: the confirmation may land on any worker."""
    row = f"invoice,{QUESTION},{NEW}\nshop-hours,店铺几点关门,晚上十点关门。\n"
    async with (
        _two_workers(pg_url, redis_db, fake_server) as (ports, cookie, token),
        aiohttp.ClientSession(cookies={auth.COOKIE: cookie}) as http,
    ):
        async with http.post(
            f"http://127.0.0.1:{ports[0]}/console/kb/import", params={"name": "few.csv"},
            data=("id,question,answer\n" + row).encode(),
            headers={"Content-Type": "application/octet-stream", "X-CSRF-Token": token,
                     "Accept": "application/json",
                     "Origin": f"http://127.0.0.1:{ports[0]}"},
        ) as resp:  # fmt: skip
            assert resp.status == 200, await resp.text()
            preview = await resp.json()
        [entries] = preview["sections"]
        assert (entries["added"], entries["changed"]) == (1, 1)
        assert await _matched_answer(http, ports[0]) == OLD  # nothing written yet
        async with http.post(
            f"http://127.0.0.1:{ports[1]}/console/kb/import/confirm",
            data={"csrf": token, "token": preview["token"], "mode": "merge"},
            headers={"Origin": f"http://127.0.0.1:{ports[1]}",
                     "Accept": "application/json"},
        ) as resp:  # fmt: skip
            assert resp.status == 200, await resp.text()
            summary = (await resp.json())["imported"]
        assert summary["sections"][0]["removed"] == 0
        assert await _matched_answer(http, ports[1]) == NEW
        # Worker A, where the file was uploaded, follows the broadcast.
        for _ in range(200):
            if await _matched_answer(http, ports[0]) == NEW:
                break
            await asyncio.sleep(0.05)
        assert await _matched_answer(http, ports[0]) == NEW
