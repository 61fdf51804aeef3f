"""A sidebar that tells the truth: "auto-replied" only once the kf answer was delivered."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain import answers
from bot.domain.models import Message
from bot.outbox import effects, kinds
from bot.sandbox.fake import FakeWeCom
from tests.helpers import settle
from tests.sidebar.conftest import Client, Login

ALICE_C = "wmalice000001"
KF = "wkKF001"
CONFIDENT = "下单后多久发货"  # the demo KB auto-replies to this one
pytestmark = pytest.mark.usefixtures("team")


async def _customer_says(client: Client, fake: FakeWeCom, text: str) -> None:
    fake.queue_kf_text(KF, ALICE_C, text)
    assert fake.callback_url
    status, _ = await fake.post_callback(fake.callback_url, fake.xml_kf_event(KF))
    assert status == 200
    await settle(client.app)


async def _latest(client: Client) -> dict[str, Any]:
    resp = await client.get(f"/sidebar/api/customers/{ALICE_C}/latest")
    assert resp.status == 200
    data: dict[str, Any] = (await resp.json())["message"]
    return data


def _answers(fake: FakeWeCom) -> list[str]:
    return [c["json"]["text"]["content"] for c in fake.calls_to("kf/send_msg")
            if c["json"]["msgtype"] == "text" and c.get("errcode") == 0]  # fmt: skip


async def test_a_handed_over_message_never_claims_an_auto_reply(
    client: Client, login: Login, fake: FakeWeCom
) -> None:
    await login("alice")
    # A person already has the conversation: the matcher is sure, but the bot stays out.
    fake.state.kf_state[(KF, ALICE_C)] = {"service_state": 3, "servicer_userid": "alice"}
    events = await client.get(f"/sidebar/api/customers/{ALICE_C}/events")
    await events.content.readuntil(b"\n\n")  # connected
    await _customer_says(client, fake, CONFIDENT)
    frame = await asyncio.wait_for(events.content.readuntil(b"\n\n"), 5)
    live = json.loads(frame.decode().split("data: ", 1)[1])
    events.close()
    assert _answers(fake) == []
    latest = await _latest(client)
    assert latest["reply_status"] == live["reply_status"] == "handed_over"
    assert latest["auto_replied"] is False


async def test_auto_replied_only_once_the_answer_is_delivered(
    client: Client, login: Login, fake: FakeWeCom
) -> None:
    await login("alice")
    fake.delay("kf/send_msg", 3.0)  # WeCom is slow: the answer is recorded, not delivered yet
    fake.queue_kf_text(KF, ALICE_C, CONFIDENT)
    assert fake.callback_url
    status, _ = await fake.post_callback(fake.callback_url, fake.xml_kf_event(KF))
    assert status == 200
    for _ in range(250):  # waiting for the handler to store the message, not for time
        resp = await client.get(f"/sidebar/api/customers/{ALICE_C}/latest")
        if (await resp.json())["message"] is not None:
            break
        await asyncio.sleep(0.02)
    latest = await _latest(client)
    assert (latest["reply_status"], latest["auto_replied"]) == ("sending", False)
    await settle(client.app)
    assert len(_answers(fake)) == 1
    latest = await _latest(client)
    assert (latest["reply_status"], latest["auto_replied"]) == ("sent", True)


async def test_a_refused_answer_is_not_delivered(
    client: Client, login: Login, fake: FakeWeCom
) -> None:
    await login("alice")
    fake.fail_next("kf/send_msg", kinds.KF_BAD_STATE)  # a servicer took over meanwhile
    await _customer_says(client, fake, CONFIDENT)
    assert _answers(fake) == []
    latest = await _latest(client)
    assert (latest["reply_status"], latest["auto_replied"]) == ("failed", False)


async def test_status_follows_the_answer_effect(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session:  # never committed: the sender never sees the effect
        kf = Message(source="kf", direction="in", external_userid=ALICE_C, text="x")
        archive = Message(source="archive", direction="in", external_userid=ALICE_C, text="x")
        session.add_all([kf, archive])
        await session.flush()
        assert await answers.status(session, kf) == "handed_over"
        assert await answers.status(session, archive) is None
        await effects.add(session, "kf.send", {}, key=answers.answer_key(kf.id))
        assert await answers.status(session, kf) == "sending"
        effect = await effects.by_key(session, answers.answer_key(kf.id))
        assert effect is not None
        effect.status, effect.outcome = "done", "limited"
        assert await answers.status(session, kf) == "failed"
        effect.outcome = "sent"
        assert await answers.status(session, kf) == "sent"
