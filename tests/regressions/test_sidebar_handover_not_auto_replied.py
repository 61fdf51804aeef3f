"""The sidebar said 「机器人已在微信客服自动回复这条消息」 when a kf customer asked for a person
(「人工客服几点上班」): the match was confident, so the live event's decision was "auto", but the
bot handed the customer over instead of answering. The event now says what the bot did."""

from __future__ import annotations

import asyncio
import json

from bot.core.keys import CACHE
from bot.domain import pipeline
from bot.sandbox.fake import FakeWeCom
from tests.flows.conftest import Client, deliver, kf_client
from tests.flows.test_kf import KF

__all__ = ["kf_client"]


async def _event(client: Client, fake: FakeWeCom, euid: str, text: str) -> dict[str, object]:
    subscription = client.app[CACHE].subscribe(pipeline.sidebar_channel(euid))
    first = asyncio.ensure_future(subscription.__anext__())
    await asyncio.sleep(0.05)
    fake.queue_kf_text(KF, euid, text)
    await deliver(fake, fake.xml_kf_event(KF))
    event: dict[str, object] = json.loads(await asyncio.wait_for(first, 5))
    await subscription.aclose()
    return event


async def test_a_handover_is_not_reported_as_an_auto_reply(
    kf_client: Client, fake: FakeWeCom
) -> None:
    event = await _event(kf_client, fake, "wmH1", "人工客服几点上班")
    assert fake.calls_to("kf/service_state/trans")  # handed over
    assert event["decision"] == "auto"  # a confident match...
    assert event["auto_replied"] is False  # ...yet the bot did not answer
    assert event["reply_status"] == "handed_over"


async def test_a_real_auto_reply_is_reported(kf_client: Client, fake: FakeWeCom) -> None:
    event = await _event(kf_client, fake, "wmA1", "几天能发货")
    assert fake.calls_to("kf/send_msg")
    # Published right after the commit: the answer is on its way (the page re-reads /latest
    # until it is delivered, and only then says 已自动回复).
    assert event["reply_status"] in ("sending", "sent")
    assert event["auto_replied"] is (event["reply_status"] == "sent")
