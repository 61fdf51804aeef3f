"""Flow tests: the real app on the fake WeCom, with a small knowledge base of our own."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from bot.core.keys import DB
from bot.domain import kb
from bot.domain.models import Staff
from bot.sandbox import fake_xml
from bot.sandbox.fake import FakeWeCom
from knowledge import store
from knowledge.model import FaqEntry, KeywordRule, KnowledgeBase
from tests import helpers
from tests.conftest import make_settings

ALLERGY_CAUTION = "客户可能过敏：建议停用并清水冲洗，推荐前先做皮试。"

TEST_KB = KnowledgeBase(
    entries=(
        FaqEntry(
            id="ship", question="下单后多久发货", similar=("什么时候发货", "几天能发货"),
            answer="付款后 48 小时内发货。", category="订单物流",
        ),
        FaqEntry(
            id="track", question="怎么查物流", similar=("快递到哪了",),
            answer="在订单详情里点「查看物流」。", category="订单物流",
        ),
        FaqEntry(
            id="refund", question="怎么申请退款", similar=("我要退款怎么操作",),
            answer="在订单页点「申请售后」即可。", category="售后",
        ),
        FaqEntry(
            id="invoice", question="怎么开发票", answer="下单时填写抬头即可开电子发票。",
            category="发票",
        ),
        FaqEntry(id="hours", question="客服几点上班", answer="每天 9:00-21:00。", category="客服"),
    ),
    rules=(
        KeywordRule(
            id="allergy", name="过敏", phrases=("过敏", "红肿"), tags=("过敏体质",),
            special_care=True, caution=ALLERGY_CAUTION, notify=True, priority=90,
        ),
        KeywordRule(
            id="complaint", name="投诉", phrases=("投诉", "12315"), tags=("投诉",),
            escalate=True, notify=True, caution="先道歉安抚。", priority=100,
        ),
    ),
)  # fmt: skip

App = web.Application
Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def kb_client(client: Client) -> Client:
    """The running app with TEST_KB stored and live."""
    app = client.app
    async with app[DB].begin() as session:
        await store.replace_kb(session, TEST_KB)
    await kb.reload(app)
    return client


async def add_staff(app: App, *rows: tuple[str, str, Sequence[int]]) -> None:
    """Staff (userid, name, departments) known locally."""
    async with app[DB].begin() as session:
        for userid, name, departments in rows:
            session.add(Staff(userid=userid, name=name, departments=list(departments)))


async def deliver(fake: FakeWeCom, xml: bytes) -> None:
    """POST one encrypted callback to the app and require the 200."""
    assert fake.callback_url
    status, _ = await fake.post_callback(fake.callback_url, xml)
    assert status == 200
    if id(fake) in helpers.APPS:
        await helpers.settle(helpers.APPS[id(fake)])


def contact_event(change_type: str, userid: str, euid: str, **extra: str) -> bytes:
    """change_external_contact XML of any ChangeType, created now."""
    fields: list[tuple[str, str | int]] = [
        ("ToUserName", "corp"), ("FromUserName", "sys"), ("CreateTime", int(time.time())),
        ("MsgType", "event"), ("Event", "change_external_contact"),
        ("ChangeType", change_type), ("UserID", userid), ("ExternalUserID", euid),
    ]  # fmt: skip
    fields.extend(extra.items())
    return fake_xml.render(fields)


def paths(fake: FakeWeCom, since: int = 0) -> list[str]:
    """Paths of recorded API calls (without cgi-bin/), gettoken left out."""
    calls = fake.calls[since:]
    return [c["path"].removeprefix("cgi-bin/") for c in calls if c["path"] != "cgi-bin/gettoken"]


@pytest.fixture
async def kf_client(
    db_path: Path,
    fake_server: TestServer,
    fake: FakeWeCom,
    aiohttp_client: Callable[..., Awaitable[Client]],
) -> AsyncIterator[Client]:
    """An app with two kf servicers configured and TEST_KB live."""
    app = create_app(make_settings(db_path, fake_server, kf_servicers="svc1,svc2"))
    test_client = await aiohttp_client(app)
    fake.callback_url = str(test_client.make_url("/wecom/callback"))
    helpers.APPS[id(fake)] = app
    async with app[DB].begin() as session:
        await store.replace_kb(session, TEST_KB)
    await kb.reload(app)
    yield test_client
    helpers.APPS.pop(id(fake), None)
