"""微信客服 through the real callback endpoint: auto-reply, handover, welcome, cursor, dedupe."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import delete, select

from bot.app import create_app
from bot.core.db import utcnow
from bot.core.keys import CACHE, DB, SETTINGS
from bot.domain.models import InboxItem, KfCursor, Message
from bot.domain.turn_models import CustomerTurn
from bot.inbound.router import RetryLaterError
from bot.outbox import kinds
from bot.sandbox.fake import FakeWeCom
from handlers.kf import reply as kf_reply
from handlers.kf import sync as kf_sync
from knowledge import misses
from tests.conftest import make_settings
from tests.flows.conftest import Client, deliver
from tests.helpers import sent_to, settle

KF = "wkKF001"


def _sends(fake: FakeWeCom) -> list[str]:
    return [c["json"]["text"]["content"] for c in fake.calls_to("kf/send_msg")
            if c["json"]["msgtype"] == "text"]  # fmt: skip


async def _customer_says(fake: FakeWeCom, euid: str, text: str) -> None:
    fake.queue_kf_text(KF, euid, text)
    await deliver(fake, fake.xml_kf_event(KF))


async def test_confident_question_is_answered(kf_client: Client, fake: FakeWeCom) -> None:
    await _customer_says(fake, "wmK1", "几天能发货")
    assert _sends(fake) == ["付款后 48 小时内发货。"]
    assert not fake.calls_to("kf/service_state/trans")
    async with kf_client.app[DB]() as session:
        rows = list(await session.scalars(select(Message).order_by(Message.id)))
    assert [(m.direction, m.auto_replied) for m in rows] == [("in", True), ("out", True)]
    # The bot's answer ended the customer's turn (the first-response time).
    async with kf_client.app[DB]() as session:
        turn = (await session.scalars(select(CustomerTurn))).one()
    assert (turn.asked_at, turn.replied_at) == (rows[0].created_at, rows[1].created_at)
    assert turn.wait is not None
    assert 0 <= turn.wait < 5


async def test_unsure_hands_over_and_notifies_servicer(kf_client: Client, fake: FakeWeCom) -> None:
    await _customer_says(fake, "wmK2", "面膜可以带上飞机吗")
    assert _sends(fake) == [kf_reply.HOLDING]
    trans = fake.calls_to("kf/service_state/trans")[0]["json"]
    assert (trans["service_state"], trans["servicer_userid"]) == (3, "svc1")
    notice = sent_to(fake, "svc1")[0]["json"]["text"]["content"]
    assert "面膜可以带上飞机吗" in notice
    assert "参考答案" in notice
    async with kf_client.app[DB]() as session:
        gaps = await misses.top_gaps(session)
    assert gaps[0].question == "面膜可以带上飞机吗"


async def test_a_persons_reply_from_the_client_ends_the_customers_wait(
    kf_client: Client, fake: FakeWeCom
) -> None:
    """After a handover the servicer answers in the WeCom client; kf sync reads it back (origin
    5) and stores it once, so the first-response time counts the person's reply.

    Both are timed by WeCom's send_time: here sync read the customer's message five minutes
    late (a backlog), and the person had answered 90 s after it. The message used to be timed
    when stored, so the reply looked older than the question and the turn stayed open."""
    asked_at = int(time.time()) - 300
    fake.queue_kf_message(KF, "wmK9", "text", {"content": "面膜可以带上飞机吗"},
                          send_time=asked_at)  # fmt: skip  (unsure: handed to svc1)
    await deliver(fake, fake.xml_kf_event(KF))
    async with kf_client.app[DB]() as session:
        asked = (await session.scalars(select(CustomerTurn))).one()
    assert int(asked.asked_at.timestamp()) == asked_at
    assert asked.replied_at is None  # the holding reply is not an answer
    sent = asked_at + 90
    fake.queue_kf_servicer_text(KF, "wmK9", "svc1", "可以带，100 毫升以内", send_time=sent)
    await deliver(fake, fake.xml_kf_event(KF))
    fake.state.kf_msgs[KF].append(dict(fake.state.kf_msgs[KF][-1]))  # WeCom hands it out again
    await deliver(fake, fake.xml_kf_event(KF))
    async with kf_client.app[DB]() as session:
        turn = (await session.scalars(select(CustomerTurn))).one()
        out = list(
            await session.scalars(
                select(Message).where(Message.direction == "out", Message.userid == "svc1")
            )
        )
    assert [(m.text, m.source) for m in out] == [("可以带，100 毫升以内", "kf")]
    assert turn.replied_at is not None
    assert int(turn.replied_at.timestamp()) == sent
    assert turn.wait is not None
    assert 89 <= turn.wait <= 91
    assert len(_sends(fake)) == 1  # the bot said nothing more


async def test_asking_for_a_person_hands_over_at_once(kf_client: Client, fake: FakeWeCom) -> None:
    await _customer_says(fake, "wmK3", "几天能发货？算了转人工")
    assert _sends(fake) == [kf_reply.HANDOVER_NOW]
    assert fake.calls_to("kf/service_state/trans")[0]["json"]["service_state"] == 3
    # Now a human has it: the bot stays quiet on the next message.
    await _customer_says(fake, "wmK3", "几天能发货")
    assert len(_sends(fake)) == 1


async def test_rule_hit_in_kf_reaches_the_servicer(kf_client: Client, fake: FakeWeCom) -> None:
    await _customer_says(fake, "wmK4", "用了以后脸上红肿，怎么办")
    notice = sent_to(fake, "svc1")[0]["json"]["text"]["content"]
    assert "过敏" in notice


async def test_enter_session_welcome_menu(kf_client: Client, fake: FakeWeCom) -> None:
    fake.state.kf_msgs.setdefault(KF, []).append(
        {
            "msgid": "ev1",
            "send_time": 0,
            "origin": 4,
            "msgtype": "event",
            "event": {
                "event_type": "enter_session",
                "open_kfid": KF,
                "external_userid": "wmK5",
                "scene": "",
                "welcome_code": "WCODE",
            },
        }  # fmt: skip
    )
    await deliver(fake, fake.xml_kf_event(KF))
    body = fake.calls_to("kf/send_msg_on_event")[0]["json"]
    assert body["code"] == "WCODE"
    assert body["msgtype"] == "msgmenu"
    assert [i["click"]["content"] for i in body["msgmenu"]["list"]][0] == "订单物流"
    # A click on the category lists its questions; a click on a question answers it.
    fake.state.kf_msgs[KF].append(
        {"msgid": "click1", "send_time": 0, "origin": 3, "msgtype": "text", "open_kfid": KF,
         "external_userid": "wmK5", "text": {"content": "订单物流", "menu_id": "cat:订单物流"}}
    )  # fmt: skip
    await deliver(fake, fake.xml_kf_event(KF))
    menu = fake.calls_to("kf/send_msg")[-1]["json"]
    assert menu["msgtype"] == "msgmenu"
    assert len(menu["msgmenu"]["list"]) == 2


async def test_message_read_twice_is_answered_once(kf_client: Client, fake: FakeWeCom) -> None:
    await _customer_says(fake, "wmK6", "怎么开发票")
    async with kf_client.app[DB].begin() as session:
        await session.execute(delete(KfCursor))  # as if the process died before saving it
    await deliver(fake, fake.xml_kf_event(KF))
    assert len(_sends(fake)) == 1


async def test_cursor_survives_restart(
    kf_client: Client, fake: FakeWeCom, aiohttp_client: Callable[..., Awaitable[Client]]
) -> None:
    await _customer_says(fake, "wmK7", "怎么开发票")
    restarted = await aiohttp_client(create_app(kf_client.app[SETTINGS]))
    fake.callback_url = str(restarted.make_url("/wecom/callback"))
    await _customer_says(fake, "wmK7", "客服几点上班")
    assert fake.calls_to("kf/sync_msg")[-1]["json"]["cursor"] == "1"
    assert len(_sends(fake)) == 2


async def test_send_error_is_not_retried(kf_client: Client, fake: FakeWeCom) -> None:
    fake.fail_next("kf/send_msg", kinds.KF_BAD_STATE, times=5)
    await _customer_says(fake, "wmK8", "怎么开发票")
    assert len(fake.calls_to("kf/send_msg")) == 1


async def test_misses_grouped_by_similarity(kf_client: Client, fake: FakeWeCom) -> None:
    for n, text in enumerate(["面膜能带上飞机吗", "面膜可以带上飞机吗？", "口红是什么色号"]):
        await _customer_says(fake, f"wmM{n}", text)
    await _customer_says(fake, "wmM9", "面膜能带上飞机吗")
    async with kf_client.app[DB]() as session:
        gaps = await misses.top_gaps(session)
    top = [(g.question, g.count) for g in gaps]
    assert top == [("面膜能带上飞机吗", 3), ("口红是什么色号", 1)]
    assert "×3" in misses.format_report(gaps)


async def test_misses_since_any_timezone(kf_client: Client, fake: FakeWeCom) -> None:
    await _customer_says(fake, "wmN1", "面膜能带上飞机吗")
    shanghai = timezone(timedelta(hours=8))
    async with kf_client.app[DB]() as session:
        recent = await misses.top_gaps(session, since=datetime.now(shanghai) - timedelta(hours=1))
        later = await misses.top_gaps(session, since=datetime.now(shanghai) + timedelta(hours=1))
    assert [g.count for g in recent] == [1]
    assert later == []


async def test_a_notice_whose_account_syncs_elsewhere_waits_a_little_and_is_never_parked(
    db_path: Path, fake_server: TestServer, fake: FakeWeCom,
    aiohttp_client: Callable[..., Awaitable[Client]], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """A kf notice found the account's sync lock held by another worker (or by a killed one,
    until the lock expires). It was counted as a failed attempt: back-off of 10 s x attempts²
    (the crash test waited out 90 s and more) and, after SIDEKICK_INBOX_MAX_ATTEMPTS, parked,
    although nothing was wrong with it. It is now simply tried again shortly."""
    monkeypatch.setattr(kf_sync, "SYNC_LOCK_WAIT", 0.05)
    app = create_app(make_settings(db_path, fake_server, inbox_max_attempts=1))
    client = await aiohttp_client(app)
    fake.callback_url = str(client.make_url("/wecom/callback"))
    async with app[CACHE].lock(kf_sync.sync_lock_key(KF), 60, 1):  # another worker's sync
        fake.queue_kf_text(KF, "wmK8", "几天能发货")
        status, _ = await fake.post_callback(fake.callback_url, fake.xml_kf_event(KF))
        assert status == 200
        await settle(app)
    async with app[DB]() as session:
        row = (await session.scalars(select(InboxItem))).one()
    assert row.status == "pending"  # not parked, though max attempts is 1
    assert row.next_attempt_at is not None
    assert row.next_attempt_at - utcnow() <= timedelta(seconds=RetryLaterError("").after)
    assert "busy elsewhere" in row.last_error
