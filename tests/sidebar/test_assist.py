"""Reply help: "客户说" suggestions, latest inbound text, quick replies, feedback, live events."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.keys import CACHE
from bot.domain.pipeline import sidebar_channel
from tests import conftest
from tests.sidebar.conftest import Client, Login

ALICE_C = "wmalice000001"
pytestmark = pytest.mark.usefixtures("team")


async def test_ask_allergy_gives_suggestions_rule_hit_and_special_care(
    client: Client, login: Login
) -> None:
    headers = {"X-CSRF-Token": await login("alice")}
    resp = await client.post(
        f"/sidebar/api/customers/{ALICE_C}/ask", json={"text": "我过敏了"}, headers=headers
    )
    assert resp.status == 200
    data = await resp.json()
    assert 1 <= len(data["suggestions"]) <= 3
    top = data["suggestions"][0]
    assert {"entry_id", "question", "answer", "confidence"} <= top.keys()
    assert [h["name"] for h in data["rule_hits"]] == ["过敏"]
    assert "停用" in data["rule_hits"][0]["caution"]
    profile = await (await client.get(f"/sidebar/api/customers/{ALICE_C}")).json()
    assert profile["customer"]["special_care"] is True
    assert "过敏体质" in [t["name"] for t in profile["tags"]]


async def test_latest_inbound_text_from_archive_ingest(client: Client, login: Login) -> None:
    await login("alice")
    assert (await (await client.get(f"/sidebar/api/customers/{ALICE_C}/latest")).json()) == {
        "message": None
    }
    line = {"msgid": "m1", "action": "send", "from": ALICE_C, "tolist": ["alice"],
            "msgtype": "text", "text": {"content": "下单后多久发货"}}  # fmt: skip
    ingest = await client.post(
        "/ingest/messages", data=json.dumps(line, ensure_ascii=False).encode(),
        headers={"Authorization": f"Bearer {conftest.INGEST_TOKEN}"},
    )  # fmt: skip
    assert ingest.status == 200
    latest = (await (await client.get(f"/sidebar/api/customers/{ALICE_C}/latest")).json())[
        "message"
    ]
    assert latest["text"] == "下单后多久发货"
    assert latest["source"] == "archive"
    assert latest["suggestions"][0]["entry_id"] == "order-ship-time"
    assert latest["auto_replied"] is False  # archive texts are never answered by the bot


async def test_quick_replies_search_and_categories(client: Client, login: Login) -> None:
    await login("alice")
    everything = await (await client.get("/sidebar/api/quick-replies")).json()
    assert "物流" in everything["categories"]
    assert len(everything["items"]) > 3
    found = await (await client.get("/sidebar/api/quick-replies", params={"q": "物流"})).json()
    assert found["items"][0]["category"] == "物流"
    by_code = await (await client.get("/sidebar/api/quick-replies", params={"q": "/gm"})).json()
    assert by_code["items"][0]["title"] == "过敏处理建议"
    only = await (
        await client.get("/sidebar/api/quick-replies", params={"category": "开场"})
    ).json()
    assert {i["category"] for i in only["items"]} == {"开场"}
    context = await (
        await client.get("/sidebar/api/quick-replies", params={"context": "我的快递到哪了"})
    ).json()
    assert context["items"][0]["category"] == "物流"


async def test_live_events_stream_pipeline_messages(client: Client, login: Login) -> None:
    await login("alice")
    resp = await client.get(f"/sidebar/api/customers/{ALICE_C}/events")
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/event-stream")
    assert b"connected" in await resp.content.readuntil(b"\n\n")
    payload = {"type": "customer_message", "source": "kf", "text": "在吗"}
    await client.app[CACHE].publish(sidebar_channel(ALICE_C), json.dumps(payload))
    frame = await asyncio.wait_for(resp.content.readuntil(b"\n\n"), 5)
    assert frame.startswith(b"event: customer_message\n")
    data = json.loads(frame.decode().split("data: ", 1)[1])
    assert data["text"] == "在吗"
    resp.close()


async def test_unexpected_error_is_500_with_reference_and_no_trace(
    client: Client,
    login: Login,
    sessionmaker: async_sessionmaker[AsyncSession],
    caplog: pytest.LogCaptureFixture,
) -> None:
    await login("alice")
    async with sessionmaker.begin() as session:  # an outage-like failure inside the request
        await session.execute(text("ALTER TABLE note RENAME TO note_gone"))
    with caplog.at_level(logging.ERROR):
        resp = await client.get(f"/sidebar/api/customers/{ALICE_C}")
    assert resp.status == 500
    body = await resp.json()
    assert body["error"] == "internal"
    assert body["message"].startswith("出错了，请稍后再试（编号 ")
    assert "note" not in body["message"]
    assert "Traceback" not in json.dumps(body)
    assert "note" in caplog.text  # logged for us with the reference, never shown to the rep
