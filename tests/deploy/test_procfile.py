"""The deployed shape: the Procfile's release: and web: lines, as written, with two workers on
PostgreSQL + Redis and one standalone fake WeCom; the end-to-end flows over real HTTP; then
SIGTERM, and nothing may be left half-done.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
import redis.asyncio as aioredis
from sqlalchemy import func, select

from bot.core import db
from bot.domain.models import Note, WelcomeTemplate
from bot.inbound import inbox as inbox_store
from bot.outbox import effects
from knowledge import store
from tests import processes
from tests.deploy import procfile
from tests.flows.conftest import TEST_KB

KF = "wkDemo"
QUESTION = "下单后多久发货"  # in the demo KB and in TEST_KB
LATE = "wmDeployLate"  # the customer whose answer is in flight at shutdown


@pytest.fixture
async def redis_db(redis_url: str) -> AsyncIterator[str]:
    """The test Redis database, emptied before and after."""
    client = aioredis.from_url(redis_url)
    await client.flushdb()
    yield redis_url
    await client.flushdb()
    await client.aclose()


async def _seed_production(url: str) -> None:
    """What an operator imports before going live: the knowledge base and a welcome."""
    engine = db.create_engine(url)
    async with db.create_sessionmaker(engine).begin() as session:
        await store.replace_kb(session, TEST_KB)
        session.add(WelcomeTemplate(id="default", scope="default", text="您好，欢迎！"))
    await engine.dispose()


class Wecom:
    """The standalone fake's HTTP controls, as the sandbox pages use them."""

    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self.http, self.base = http, base

    async def event(self, event: dict[str, Any]) -> dict[str, Any]:
        async with self.http.post(f"{self.base}/_events", json=event) as resp:
            data: dict[str, Any] = await resp.json()
            assert resp.status == 200, data
            assert data["status"] == 200, data
            return data

    async def calls(self) -> list[dict[str, Any]]:
        async with self.http.get(f"{self.base}/_calls") as resp:
            found: list[dict[str, Any]] = await resp.json()
            return found

    async def wait_call(
        self, path: str, match: Callable[[dict[str, Any]], bool], *, answered: bool = True
    ) -> dict[str, Any]:
        """The first successful call to path that matches (the outbox sends after commit);
        answered=False: any call, answered or still waiting for the fake."""
        for _ in range(200):
            for call in await self.calls():
                ok = call["errcode"] == 0 or not answered
                if call["path"] == f"cgi-bin/{path}" and ok and match(call):
                    return call
            await asyncio.sleep(0.1)
        raise AssertionError(f"no matching {path} call")

    async def fault(self, fault: dict[str, Any]) -> None:
        async with self.http.post(f"{self.base}/_faults", json=fault) as resp:
            assert resp.status == 200, await resp.text()

    async def oauth_code(self, userid: str) -> str:
        async with self.http.post(f"{self.base}/_oauth", json={"userid": userid}) as resp:
            return str((await resp.json())["code"])


async def _flows(wecom: Wecom, web_base: str) -> None:
    """Welcome, kf answer and handover, a command, a sidebar sign-in and action."""
    added = await wecom.event({"type": "add_external_contact", "userid": "zhangsan",
                               "name": "小美"})  # fmt: skip
    euid, code = added["external_userid"], added["welcome_code"]
    await wecom.wait_call("externalcontact/send_welcome_msg",
                          lambda c: c["json"]["welcome_code"] == code)  # fmt: skip

    await wecom.event({"type": "kf_text", "open_kfid": KF, "external_userid": euid,
                       "text": QUESTION})  # fmt: skip
    await wecom.wait_call("kf/send_msg", lambda c: c["json"]["touser"] == euid)
    await wecom.event({"type": "kf_text", "open_kfid": KF, "external_userid": euid,
                       "text": "转人工"})  # fmt: skip
    await wecom.wait_call("kf/service_state/trans",
                          lambda c: c["json"]["external_userid"] == euid)  # fmt: skip

    replied = await wecom.event({"type": "app_text", "userid": "boss", "text": "/help"})
    if not replied["reply_text"]:  # past the passive-reply budget: it comes as a message
        await wecom.wait_call("message/send", lambda c: c["json"].get("touser") == "boss")

    jar = aiohttp.CookieJar(unsafe=True)  # loopback IP: keep the session cookie
    async with aiohttp.ClientSession(cookie_jar=jar) as browser:
        async with browser.get(f"{web_base}/sidebar/auth/login", params={"next": "/sidebar/"},
                               allow_redirects=False) as start:  # fmt: skip
            assert start.status == 302, await start.text()
            state = parse_qs(urlsplit(start.headers["Location"]).query)["state"][0]
        code = await wecom.oauth_code("zhangsan")
        async with browser.get(f"{web_base}/sidebar/auth/callback",
                               params={"code": code, "state": state},
                               allow_redirects=False) as back:  # fmt: skip
            assert back.status == 302, await back.text()
        async with browser.get(f"{web_base}/sidebar/") as page:
            html = await page.text()
            assert page.status == 200
        csrf = re.search(r'"csrf":\s*"([^"]+)"', html)
        assert csrf, "no CSRF token on the sidebar page"
        async with browser.post(f"{web_base}/sidebar/api/customers/{euid}/notes",
                                json={"text": "部署测试备注"},
                                headers={"X-CSRF-Token": csrf.group(1)}) as resp:  # fmt: skip
            assert resp.status in (200, 201), await resp.text()


async def _left(url: str) -> tuple[dict[str, int], dict[str, int], int]:
    """Inbox and outbox counts by status, and notes written, after shutdown."""
    engine = db.create_engine(url)
    try:
        async with db.create_sessionmaker(engine)() as session:
            inbox = await inbox_store.counts(session)
            outbox = await effects.counts(session)
            notes = await session.scalar(select(func.count()).select_from(Note))
    finally:
        await engine.dispose()
    return inbox, outbox, int(notes or 0)


@pytest.mark.parametrize("mode", ["production", "sandbox"])
async def test_procfile_two_workers_serve_the_flows_and_stop_cleanly(
    mode: str, redis_db: str, tmp_path: Path
) -> None:
    web_port, fake_port = processes.free_port(), processes.free_port()
    api_base = f"http://127.0.0.1:{fake_port}/sandbox/wecom"
    web_base = f"http://127.0.0.1:{web_port}"
    log = tmp_path / "procfile.log"
    async with procfile.fresh_database() as url:
        make_env = procfile.production_env if mode == "production" else procfile.sandbox_env
        env = make_env(url, redis_db, api_base)
        await procfile.release(env, log)
        if mode == "production":
            await _seed_production(url)
        fake = await procfile.fake_wecom(env, fake_port, f"{web_base}/wecom/callback")
        web_env = {**env, "PORT": str(web_port), "WEB_CONCURRENCY": "2",
                   "SIDEKICK_PUBLIC_URL": f"http://127.0.0.1:{web_port}"}  # fmt: skip
        try:
            async with aiohttp.ClientSession() as http:
                wecom = Wecom(http, api_base)
                web = await _start_web(web_env, web_port, log)
                try:
                    await _flows(wecom, web_base)
                    # An answer in flight at shutdown: WeCom holds kf/send_msg past the grace.
                    await wecom.fault({"path": "kf/send_msg", "delay": 30})
                    await wecom.event({"type": "kf_text", "open_kfid": KF,
                                       "external_userid": LATE, "text": QUESTION})  # fmt: skip
                    await wecom.wait_call("kf/send_msg", lambda c: c["json"]["touser"] == LATE,
                                          answered=False)  # fmt: skip
                finally:
                    await processes.stop(web)  # SIGTERM: gunicorn's graceful shutdown
                assert web.returncode == 0, log.read_text()
                inbox, outbox, _ = await _left(url)
                # Nothing half-done: no row or effect still claimed by a stopped worker, and
                # the answer that was in flight is pending again, for the next worker.
                assert set(inbox) <= {"done", "pending"}, inbox
                assert set(outbox) == {"done", "pending"}, outbox

                await wecom.fault({"clear": True})
                web = await _start_web(web_env, web_port, log)  # the upgrade's new release
                try:
                    await wecom.wait_call("kf/send_msg", lambda c: c["json"]["touser"] == LATE)
                    await _settled(url)
                finally:
                    await processes.stop(web)
                assert web.returncode == 0, log.read_text()
        finally:
            await processes.kill(fake)  # it may still hold the delayed call
        inbox, outbox, notes = await _left(url)
    assert set(inbox) == {"done"}, inbox
    assert inbox["done"] >= 5, inbox  # the welcome, three kf messages, the command
    assert set(outbox) == {"done"}, outbox
    assert notes == 1
    assert "Traceback" not in log.read_text(), log.read_text()


async def _start_web(env: dict[str, str], port: int, log: Path) -> asyncio.subprocess.Process:
    """The Procfile's web: line; healthy, with its two workers."""
    web = await procfile.run_line("web", env, log)
    try:
        await processes.wait_healthy(port, web, within=60)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{_text(log)}") from None
    assert len(procfile.workers(web)) == 2
    return web


def _text(log: Path) -> str:
    return log.read_text()


async def _settled(url: str) -> None:
    """Wait until every inbox row and effect is done."""
    for _ in range(150):
        inbox, outbox, _ = await _left(url)
        if set(inbox) == {"done"} and set(outbox) == {"done"}:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"not settled: inbox {inbox}, outbox {outbox}")


@pytest.mark.parametrize("concurrency", ["2", None])
async def test_sandbox_refuses_several_workers_without_a_standalone_fake(
    concurrency: str | None, redis_db: str, tmp_path: Path
) -> None:
    """Each worker would mount a fake of its own: one clear line says how to run it instead.

    WEB_CONCURRENCY=2 says so directly; unset, gunicorn runs the Procfile's default count and
    the second worker on the port finds the first one's lock.
    """
    port = processes.free_port()
    log = tmp_path / "procfile.log"
    async with procfile.fresh_database() as url:
        env = procfile.sandbox_env(url, redis_db, "")
        del env["WECOM_API_BASE"]
        env["PORT"] = str(port)
        if concurrency:
            env["WEB_CONCURRENCY"] = concurrency
        await procfile.release(env, log)
        web = await procfile.run_line("web", env, log)
        try:
            code = await asyncio.wait_for(web.wait(), 60)
        finally:
            await processes.stop(web)
    text = log.read_text()
    assert code != 0, text
    assert "fake-wecom" in text, text
    assert "WECOM_API_BASE" in text, text
