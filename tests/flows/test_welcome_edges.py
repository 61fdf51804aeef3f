"""Welcome edge cases: retries, crash replays, a second rep, attachments, the other events."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from bot.core.db import utcnow
from bot.core.keys import DB
from bot.domain import channels
from bot.domain.models import InboxItem
from bot.inbound import dispatch
from bot.sandbox.fake import FakeWeCom
from tests.flows.conftest import Client, contact_event, deliver
from tests.flows.test_welcome import _add, _follow, _seed, _welcome
from tests.helpers import sent_to

RICH = channels.ChannelData(
    templates=[
        {"id": "t-rich", "scope": "user", "target": "dave", "text": "你好", "attachments": [
            {"kind": "image", "pic_url": "https://e.example/a.png"},
            {"kind": "miniprogram", "title": "商城", "appid": "wx123", "page": "pages/i",
             "media_id": "PIC1"},
            {"kind": "link", "title": "新人礼", "url": "https://e.example/g", "desc": "立减",
             "pic_url": "https://e.example/g.png"},
        ]},
    ],
)  # fmt: skip


def _tags_of(fake: FakeWeCom, userid: str, euid: str) -> list[str]:
    return [t["tag_name"] for t in fake.state.follow(userid, euid)["tags"]]


async def test_wecom_retry_of_the_same_add_runs_once(client: Client, fake: FakeWeCom) -> None:
    await _seed(client.app)
    fake.add_contact("wmR1", name="小王", follow_user=["alice"], state="douyin")
    xml = fake.xml_add_external_contact("alice", "wmR1", "douyin", "CODE-R1")
    for _ in range(3):
        await deliver(fake, xml)
    assert len(fake.calls_to("externalcontact/send_welcome_msg")) == 1
    assert len(fake.calls_to("externalcontact/mark_tag")) == 1


async def test_replay_after_a_failure_does_not_spend_the_code_again(
    client: Client, fake: FakeWeCom
) -> None:
    await _seed(client.app)
    fake.fail_next("externalcontact/get", 40058)  # the flow fails after the welcome went out
    await _add(fake, "alice", "wmR2", "douyin", "CODE-R2")
    async with client.app[DB].begin() as session:
        await session.execute(
            update(InboxItem).values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )
    assert await dispatch.sweep(client.app) == 1  # replayed within the code's 20 s
    assert len(fake.calls_to("externalcontact/send_welcome_msg")) == 1
    assert await _welcome(client.app, "alice", "wmR2") == "sent"
    assert _tags_of(fake, "alice", "wmR2") == ["抖音"]  # the rest of the flow caught up


async def test_second_rep_through_the_same_channel_is_tagged_too(
    client: Client, fake: FakeWeCom
) -> None:
    await _seed(client.app)
    await _add(fake, "alice", "wmR3", "douyin", "CODE-R3a")
    await _add(fake, "bob", "wmR3", "douyin", "CODE-R3b")
    assert _tags_of(fake, "alice", "wmR3") == ["抖音"]
    assert _tags_of(fake, "bob", "wmR3") == ["抖音"]
    assert len(fake.calls_to("externalcontact/add_corp_tag")) == 1  # created once, then reused
    assert len(fake.calls_to("externalcontact/send_welcome_msg")) == 2


@pytest.mark.parametrize("errcode", [41051, 41096])
async def test_taken_codes_are_recorded(client: Client, fake: FakeWeCom, errcode: int) -> None:
    await _seed(client.app)
    fake.fail_next("externalcontact/send_welcome_msg", errcode)
    await _add(fake, "bob", "wmR4", "", "CODE-R4")
    assert len(fake.calls_to("externalcontact/send_welcome_msg")) == 1
    assert await _welcome(client.app, "bob", "wmR4") == "taken"


async def test_attachments_in_wecom_shapes(client: Client, fake: FakeWeCom) -> None:
    async with client.app[DB].begin() as session:
        await channels.store(session, RICH)
    await _add(fake, "dave", "wmR5", "", "CODE-R5")
    body = fake.calls_to("externalcontact/send_welcome_msg")[0]["json"]
    assert body["attachments"] == [
        {"msgtype": "image", "image": {"pic_url": "https://e.example/a.png"}},
        {"msgtype": "miniprogram", "miniprogram": {"title": "商城", "appid": "wx123",
                                                   "page": "pages/i", "pic_media_id": "PIC1"}},
        {"msgtype": "link", "link": {"title": "新人礼", "url": "https://e.example/g",
                                     "desc": "立减", "picurl": "https://e.example/g.png"}},
    ]  # fmt: skip


async def test_no_template_sends_nothing(client: Client, fake: FakeWeCom) -> None:
    await _add(fake, "erin", "wmR6", "", "CODE-R6")
    assert not fake.calls_to("externalcontact/send_welcome_msg")
    assert await _welcome(client.app, "erin", "wmR6") == "no_template"


async def test_transfer_fail_keeps_the_relation_and_tells_why(
    client: Client, fake: FakeWeCom
) -> None:
    await _seed(client.app)
    await _add(fake, "bob", "wmR7", "", "CODE-R7")
    failed = contact_event("transfer_fail", "carol", "wmR7", FailReason="customer_refused")
    await deliver(fake, failed)
    assert (await _follow(client.app, "bob", "wmR7")).status == "active"
    assert "客户拒绝了转接" in sent_to(fake, "lead1")[-1]["json"]["text"]["content"]


async def test_rep_deleting_the_customer_marks_deleted(client: Client, fake: FakeWeCom) -> None:
    await _seed(client.app)
    await _add(fake, "bob", "wmR8", "", "CODE-R8")
    await deliver(fake, contact_event("del_external_contact", "bob", "wmR8"))
    follow = await _follow(client.app, "bob", "wmR8")
    assert (follow.status, follow.ended_at is not None) == ("deleted", True)
    assert not sent_to(fake, "lead1")  # only a customer leaving is news for the supervisor
