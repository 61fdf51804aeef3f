"""The welcome flow through the real callback endpoint and the fake WeCom."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.core.keys import DB
from bot.domain import channels, contacts, welcome
from bot.domain.models import Customer, FollowRelation, Staff
from bot.sandbox.fake import FakeWeCom
from tests.flows.conftest import App, Client, add_staff, contact_event, deliver, paths
from tests.helpers import sent_to

TEMPLATES = channels.ChannelData(
    templates=[
        {"id": "t-douyin", "scope": "state", "target": "douyin",
         "text": "抖音来的{customer|朋友}你好，我是{rep}",
         "attachments": [{"kind": "link", "title": "新人礼", "url": "https://e.example/g"}]},
        {"id": "t-bob", "scope": "user", "target": "bob", "text": "我是 Bob 本人",
         "attachments": []},
        {"id": "t-dep7", "scope": "department", "target": "7", "text": "七部{rep}欢迎你",
         "attachments": []},
        {"id": "t-default", "scope": "default", "target": "", "text": "欢迎{customer}",
         "attachments": []},
    ],
    channels=[
        {"state": "douyin", "name": "抖音", "tags": ["抖音"], "tag_group": "来源",
         "template_id": "t-douyin", "remark": "{customer}-抖音"},
        {"state": "plain", "name": "无模板", "tags": [], "tag_group": "来源", "template_id": None,
         "remark": ""},
    ],
)  # fmt: skip


async def _seed(app: App) -> None:
    async with app[DB].begin() as session:
        await channels.store(session, TEMPLATES)
    await add_staff(app, ("alice", "爱丽丝", [7, 1]), ("bob", "Bob", [1]), ("carol", "Carol", []))


async def _add(fake: FakeWeCom, userid: str, euid: str, state: str, code: str | None) -> None:
    fake.add_contact(euid, name="小王", follow_user=[userid], state=state)
    await deliver(fake, fake.xml_add_external_contact(userid, euid, state, code))


async def _welcome(app: App, userid: str, euid: str) -> str:
    """What became of the welcome of this add (the outbox effect's outcome)."""
    async with app[DB]() as session:
        return await contacts.welcome_outcome(session, await _follow(app, userid, euid))


async def _follow(app: App, userid: str, euid: str) -> FollowRelation:
    async with app[DB]() as session:
        row = await session.scalar(
            select(FollowRelation).where(
                FollowRelation.userid == userid, FollowRelation.external_userid == euid
            )
        )
    assert row is not None
    return row


async def test_welcome_goes_first_then_channel_tags_and_remark(
    client: Client, fake: FakeWeCom
) -> None:
    await _seed(client.app)
    await _add(fake, "alice", "wmA1", "douyin", "CODE1")
    order = paths(fake)
    assert order[0] == "externalcontact/send_welcome_msg"
    assert order.index("externalcontact/get") < order.index("externalcontact/mark_tag")
    body = fake.calls_to("externalcontact/send_welcome_msg")[0]["json"]
    assert body["welcome_code"] == "CODE1"
    assert body["text"]["content"] == "抖音来的朋友你好，我是爱丽丝"
    assert body["attachments"][0]["msgtype"] == "link"
    group = next(iter(fake.state.groups.values()))
    assert group["group_name"] == "来源"
    assert [t["tag_name"] for t in fake.state.follow("alice", "wmA1")["tags"]] == ["抖音"]
    assert fake.state.follow("alice", "wmA1")["remark"] == "小王-抖音"
    follow = await _follow(client.app, "alice", "wmA1")
    assert (follow.state, follow.remark) == ("douyin", "小王-抖音")
    assert await _welcome(client.app, "alice", "wmA1") == "sent"
    async with client.app[DB]() as session:
        customer = await session.get(Customer, "wmA1")
        assert customer is not None
        assert customer.name == "小王"


@pytest.mark.parametrize(
    ("state", "userid", "expected"),
    [
        ("douyin", "bob", "抖音来的朋友你好，我是Bob"),  # the channel's template beats the rep's
        ("plain", "bob", "我是 Bob 本人"),  # a channel without a template: the rep's
        ("", "alice", "七部爱丽丝欢迎你"),  # alice has none: her department's
        ("", "carol", "欢迎"),  # nothing specific: the default
        ("unknown", "carol", "欢迎"),
    ],
)
async def test_template_precedence(
    client: Client, fake: FakeWeCom, state: str, userid: str, expected: str
) -> None:
    await _seed(client.app)
    await _add(fake, userid, "wmP1", state, "CODE-P")
    body = fake.calls_to("externalcontact/send_welcome_msg")[0]["json"]
    assert body["text"]["content"] == expected


async def test_already_welcomed_is_recorded_not_retried(client: Client, fake: FakeWeCom) -> None:
    await _seed(client.app)
    fake.fail_next("externalcontact/send_welcome_msg", 41051)
    await _add(fake, "alice", "wmA2", "douyin", "CODE2")
    assert len(fake.calls_to("externalcontact/send_welcome_msg")) == 1
    assert fake.calls_to("externalcontact/mark_tag")  # the rest of the flow still runs
    assert await _welcome(client.app, "alice", "wmA2") == "taken"


async def test_no_welcome_code_sends_nothing(client: Client, fake: FakeWeCom) -> None:
    await _seed(client.app)
    await _add(fake, "bob", "wmA3", "", None)
    assert not fake.calls_to("externalcontact/send_welcome_msg")
    assert await _welcome(client.app, "bob", "wmA3") == "none"


def test_replay_after_code_expiry_skips() -> None:
    fields = {"CreateTime": "1000"}
    assert welcome.too_late(fields, live=False, now=1021)
    assert not welcome.too_late(fields, live=False, now=1010)
    assert not welcome.too_late(fields, live=True, now=5000)


async def test_customer_deleting_rep_marks_lost_and_tells_supervisor(
    client: Client, fake: FakeWeCom
) -> None:
    await _seed(client.app)
    await _add(fake, "bob", "wmA4", "", "CODE4")
    await deliver(fake, contact_event("del_follow_user", "bob", "wmA4"))
    follow = await _follow(client.app, "bob", "wmA4")
    assert follow.status == "lost"
    assert follow.ended_at is not None
    notices = sent_to(fake, "lead1")
    assert notices
    assert "小王" in notices[-1]["json"]["text"]["content"]


async def test_edit_and_delete_keep_local_data_true(client: Client, fake: FakeWeCom) -> None:
    await _seed(client.app)
    await _add(fake, "bob", "wmA5", "", "CODE5")
    fake.state.follow("bob", "wmA5")["remark"] = "王总"
    await deliver(fake, contact_event("edit_external_contact", "bob", "wmA5"))
    assert (await _follow(client.app, "bob", "wmA5")).remark == "王总"
    moved = contact_event("del_external_contact", "bob", "wmA5", Source="DELETE_BY_TRANSFER")
    await deliver(fake, moved)
    assert (await _follow(client.app, "bob", "wmA5")).status == "transferred"


async def test_rep_is_synced_after_the_welcome(client: Client, fake: FakeWeCom) -> None:
    await _seed(client.app)
    fake.add_member("dora", "朵拉", [7], position="客服")
    await _add(fake, "dora", "wmS1", "", "CODE-S1")
    order = paths(fake)
    assert order[0] == "externalcontact/send_welcome_msg"  # the 20 s code still goes first
    assert order.index("user/get") < order.index("externalcontact/get")
    async with client.app[DB]() as session:
        dora = await session.get(Staff, "dora")
    assert dora is not None
    assert (dora.name, dora.departments, dora.role) == ("朵拉", [7], "rep")
    await _add(fake, "dora", "wmS2", "", "CODE-S2")  # synced today: not asked again
    assert len(fake.calls_to("user/get")) == 1
