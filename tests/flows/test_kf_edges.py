"""微信客服 edge cases: paging, bad messages, media, stale messages, limits, failed handovers."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import delete, select

from bot.core.keys import DB
from bot.domain import pipeline
from bot.domain.models import KfCursor, Message
from bot.outbox import kinds
from bot.sandbox.fake import FakeWeCom
from handlers.kf import menu as kf_menu
from handlers.kf import reply as kf_reply
from knowledge import misses
from knowledge.model import KnowledgeBase
from tests.flows.conftest import Client, deliver
from tests.flows.test_kf import KF, _customer_says, _sends
from tests.helpers import sent_to, settle


async def _cursor(client: Client) -> str:
    async with client.app[DB]() as session:
        row = await session.get(KfCursor, KF)
    return row.cursor if row else ""


async def test_cursor_saved_per_page_and_a_failed_page_resumes(
    kf_client: Client, fake: FakeWeCom
) -> None:
    fake.state.kf_page_max = 2
    for n, text in enumerate(["怎么开发票", "客服几点上班", "怎么查物流", "几天能发货"]):
        fake.queue_kf_text(KF, f"wmP{n}", text)
    fake.fail_next("kf/sync_msg", 40058, after=1)  # the second page fails
    await deliver(fake, fake.xml_kf_event(KF))
    assert len(_sends(fake)) == 2
    assert await _cursor(kf_client) == "2"  # page one is safe
    await deliver(fake, fake.xml_kf_event(KF))
    assert [c["json"]["cursor"] for c in fake.calls_to("kf/sync_msg")] == ["", "2", "2"]
    assert await _cursor(kf_client) == "4"
    assert len(_sends(fake)) == 4  # every question answered exactly once


async def test_a_bad_message_does_not_stall_the_account(
    kf_client: Client, fake: FakeWeCom
) -> None:
    fake.state.kf_msgs[KF] = [{"msgid": "bad", "origin": "?", "msgtype": "text"}]
    await _customer_says(fake, "wmB1", "怎么开发票")
    assert _sends(fake) == ["下单时填写抬头即可开电子发票。"]
    assert await _cursor(kf_client) == "2"


@pytest.mark.parametrize(("msgtype", "label"), [("image", "图片"), ("voice", "语音")])
async def test_media_gets_a_polite_handover_once(
    kf_client: Client, fake: FakeWeCom, msgtype: str, label: str
) -> None:
    fake.queue_kf_message(KF, "wmM1", msgtype, {"media_id": "MEDIA1"})
    await deliver(fake, fake.xml_kf_event(KF))
    assert _sends(fake) == [kf_reply.MEDIA_HOLDING.format(label=label)]
    trans = fake.calls_to("kf/service_state/trans")[0]["json"]
    assert (trans["service_state"], trans["servicer_userid"]) == (3, "svc1")
    assert f"[{label}]" in sent_to(fake, "svc1")[0]["json"]["text"]["content"]
    async with kf_client.app[DB].begin() as session:
        await session.execute(delete(KfCursor))  # re-read after a crash
        assert not await misses.top_gaps(session)  # a picture is not a question
    await deliver(fake, fake.xml_kf_event(KF))
    assert len(fake.calls_to("kf/send_msg")) == 1
    assert len(fake.calls_to("kf/service_state/trans")) == 1


async def test_media_while_a_person_has_the_session_is_left_alone(
    kf_client: Client, fake: FakeWeCom
) -> None:
    fake.state.kf_state[(KF, "wmM2")] = {"service_state": 3, "servicer_userid": "svc2"}
    fake.queue_kf_message(KF, "wmM2", "image", {"media_id": "MEDIA2"})
    await deliver(fake, fake.xml_kf_event(KF))
    assert not fake.calls_to("kf/send_msg")
    assert not fake.calls_to("kf/service_state/trans")


async def test_message_older_than_48h_is_stored_not_answered(
    kf_client: Client, fake: FakeWeCom
) -> None:
    three_days = int(time.time()) - 3 * 24 * 3600 + 600
    fake.queue_kf_message(KF, "wmS1", "text", {"content": "怎么开发票"}, send_time=three_days)
    await deliver(fake, fake.xml_kf_event(KF))
    assert not fake.calls_to("kf/send_msg")
    assert not fake.calls_to("kf/service_state/trans")
    async with kf_client.app[DB]() as session:
        stored = list(await session.scalars(select(Message.text)))
    assert stored == ["怎么开发票"]


async def test_state_change_during_an_answer_means_no_handover(
    kf_client: Client, fake: FakeWeCom
) -> None:
    fake.fail_next("kf/send_msg", kinds.KF_BAD_STATE, times=5)
    await _customer_says(fake, "wmX1", "怎么开发票")
    assert len(fake.calls_to("kf/send_msg")) == 1
    assert not fake.calls_to("kf/service_state/trans")  # a person already has it


async def test_at_most_five_sends_per_customer_message(kf_client: Client, fake: FakeWeCom) -> None:
    app = kf_client.app
    async with app[DB].begin() as session:
        conv = kf_reply.Conversation(app, session, KF, "wmL1")
        outcomes = [
            await conv.send("text", {"content": f"第{n}条"}, key=f"t{n}") for n in range(6)
        ]
    assert outcomes == [True] * 5 + [False]
    await settle(app)
    assert len(fake.calls_to("kf/send_msg")) == 5
    async with app[DB].begin() as session:  # the customer writes: the window re-opens
        await pipeline.record_inbound(session, source="kf", external_userid="wmL1",
                                      text="还在吗", open_kfid=KF)  # fmt: skip
    async with app[DB].begin() as session:
        conv = kf_reply.Conversation(app, session, KF, "wmL1")
        assert await conv.send("text", {"content": "在的"}, key="t6")


async def test_failed_handover_still_reaches_someone(kf_client: Client, fake: FakeWeCom) -> None:
    fake.fail_next("kf/service_state/trans", 95013, times=2)  # servicer off duty, queue refused
    await _customer_says(fake, "wmF1", "面膜可以带上飞机吗")
    assert _sends(fake) == [kf_reply.HOLDING]
    assert [c["json"]["service_state"] for c in fake.calls_to("kf/service_state/trans")] == [3, 2]
    notices = sent_to(fake, "svc1|svc2")  # no one holds it: every servicer hears
    assert "手动接待" in notices[0]["json"]["text"]["content"]


async def test_queue_without_servicers_tells_supervisors(
    kb_client: Client, fake: FakeWeCom
) -> None:
    await _customer_says(fake, "wmQ1", "面膜可以带上飞机吗")
    trans = fake.calls_to("kf/service_state/trans")[0]["json"]
    assert trans["service_state"] == 2
    assert "servicer_userid" not in trans
    notice = sent_to(fake, "lead1")[0]["json"]["text"]["content"]
    assert "排队中" in notice
    assert "面膜可以带上飞机吗" in notice


async def test_plain_human_request_through_the_callback(
    kf_client: Client, fake: FakeWeCom
) -> None:
    await _customer_says(fake, "wmH1", "人工")
    assert _sends(fake) == [kf_reply.HANDOVER_NOW]
    assert fake.calls_to("kf/service_state/trans")[0]["json"]["service_state"] == 3
    assert "客户要求人工" in sent_to(fake, "svc1")[0]["json"]["text"]["content"]


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        ("人工", True), ("转人工", True), ("找客服", True), ("人工客服", True),
        ("我要人工！", True), ("人工呢？", True), ("帮我接人工", True),
        ("人工智能推荐准吗", False), ("有没有人工香精", False), ("含人工色素吗", False),
        ("几天能发货", False),
    ],
)  # fmt: skip
def test_wants_human(text: str, wanted: bool) -> None:
    assert kf_reply.wants_human(text) is wanted


def test_welcome_without_categories_is_plain_text() -> None:
    assert kf_menu.welcome_message(KnowledgeBase(entries=(), rules=())) == (
        "text", {"content": kf_menu.WELCOME_PLAIN},
    )  # fmt: skip
