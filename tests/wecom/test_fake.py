"""Every client wrapper against the fake's endpoints, and the fake's WeCom-like behaviour."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.core.errors import WeComError
from bot.sandbox.fake import FakeWeCom
from bot.wecom.client import WeComClient
from tests.wecom.conftest import AGENT_ID, ClientFactory


@pytest.fixture
def client(make_client: ClientFactory) -> WeComClient:
    """A client with a fresh in-process cache."""
    return make_client()


def last(fake: FakeWeCom) -> dict[str, Any]:
    """The newest recorded call."""
    return fake.calls[-1]


async def errcode_of(call: Any) -> int:
    """The WeComError errcode an awaitable raises."""
    with pytest.raises(WeComError) as info:
        await call
    return info.value.errcode


async def test_app_messages(wecom_fake: FakeWeCom, client: WeComClient) -> None:
    result = await client.send_text("rep1", "你好")
    assert result["msgid"]
    assert result["invaliduser"] == ""
    assert last(wecom_fake)["path"] == "cgi-bin/message/send"
    assert last(wecom_fake)["json"] == {
        "touser": "rep1", "msgtype": "text", "agentid": AGENT_ID, "text": {"content": "你好"},
    }  # fmt: skip
    await client.send_markdown("@all", "**重要**")
    assert last(wecom_fake)["json"]["markdown"] == {"content": "**重要**"}
    await client.send_textcard(["a", "b"], "跟进提醒", "<div>明天</div>", "https://x.test/f/1")
    assert last(wecom_fake)["json"] == {
        "touser": "a|b", "msgtype": "textcard", "agentid": AGENT_ID,
        "textcard": {"title": "跟进提醒", "description": "<div>明天</div>",
                     "url": "https://x.test/f/1", "btntxt": "详情"},
    }  # fmt: skip
    assert (
        await errcode_of(
            client.post(
                "message/send", {"touser": "a", "msgtype": "text", "text": {"content": "x"}}
            )
        )
        == 40056
    )


async def test_user_get(wecom_fake: FakeWeCom, client: WeComClient) -> None:
    assert await errcode_of(client.get_user("nobody")) == 60111
    assert last(wecom_fake)["path"] == "cgi-bin/user/get"
    assert last(wecom_fake)["query"] == {"userid": "nobody"}
    wecom_fake.add_member("lisi", "李四", [5, 2], main_department=2, position="客服")
    member = await client.get_user("lisi")
    assert (member["errcode"], member["errmsg"]) == (0, "ok")
    assert member["userid"] == "lisi"
    assert member["name"] == "李四"
    assert member["department"] == [5, 2]
    assert member["main_department"] == 2
    assert member["position"] == "客服"
    assert member["status"] == 1
    assert len(member["order"]) == len(member["is_leader_in_dept"]) == 2
    wecom_fake.fail_next("user/get", 60011)
    assert await errcode_of(client.get_user("lisi")) == 60011
    assert len(wecom_fake.calls_to("user/get")) == 3


async def test_address_book(wecom_fake: FakeWeCom, client: WeComClient) -> None:
    wecom_fake.add_department(1, "总部")
    wecom_fake.add_department(2, "客服部")
    wecom_fake.add_department(3, "客服一组", parent_id=2)
    wecom_fake.add_member("lisi", "李四", [3, 7])  # department 7 appears with the member
    wecom_fake.add_member("gone", "离职的", [3], status=5)
    every = await client.list_departments()
    assert last(wecom_fake)["query"] == {}
    assert [(d["id"], d["name"], d["parentid"]) for d in every["department"]] == [
        (1, "总部", 0), (2, "客服部", 1), (3, "客服一组", 2), (7, "部门7", 1),
    ]  # fmt: skip
    below = await client.list_departments(2)
    assert [d["id"] for d in below["department"]] == [2, 3]
    assert await errcode_of(client.list_departments(99)) == 60123
    users = await client.list_users(3)
    assert last(wecom_fake)["query"] == {"department_id": "3", "fetch_child": "0"}
    assert [(u["userid"], u["name"], u["status"]) for u in users["userlist"]] == [
        ("lisi", "李四", 1)
    ]  # a member who left is no longer in the address book
    assert (await client.list_users(2))["userlist"] == []
    assert await errcode_of(client.list_users(99)) == 60123


async def test_external_contact(wecom_fake: FakeWeCom, client: WeComClient) -> None:
    assert await errcode_of(client.get_external_contact("wmNobody")) == 84061
    wecom_fake.add_contact("wmC1", name="王女士", follow_user=["rep1"], state="spring")
    detail = await client.get_external_contact("wmC1")
    assert last(wecom_fake)["path"] == "cgi-bin/externalcontact/get"
    assert last(wecom_fake)["query"] == {"external_userid": "wmC1"}
    assert detail["external_contact"]["name"] == "王女士"
    assert detail["follow_user"][0]["userid"] == "rep1"
    assert detail["follow_user"][0]["state"] == "spring"


async def test_batch_get_by_user_pages(wecom_fake: FakeWeCom, client: WeComClient) -> None:
    for i in range(5):
        wecom_fake.add_contact(f"wm{i}", follow_user=["rep1"])
    wecom_fake.add_contact("wmOther", follow_user=["rep2"])
    first = await client.batch_get_by_user(["rep1"], limit=3)
    assert last(wecom_fake)["path"] == "cgi-bin/externalcontact/batch/get_by_user"
    assert last(wecom_fake)["json"] == {"userid_list": ["rep1"], "cursor": "", "limit": 3}
    second = await client.batch_get_by_user(["rep1"], cursor=first["next_cursor"], limit=3)
    ids = [e["external_contact"]["external_userid"]
           for e in first["external_contact_list"] + second["external_contact_list"]]  # fmt: skip
    assert ids == [f"wm{i}" for i in range(5)]
    assert second["next_cursor"] == ""
    assert first["external_contact_list"][0]["follow_info"]["tag_id"] == []


async def test_welcome_code_single_use(wecom_fake: FakeWeCom, client: WeComClient) -> None:
    link = {"msgtype": "link", "link": {"title": "指南", "url": "https://x.test/g"}}
    await client.send_welcome_msg("WC1", "欢迎！", [link])
    assert last(wecom_fake)["path"] == "cgi-bin/externalcontact/send_welcome_msg"
    assert last(wecom_fake)["json"] == {
        "welcome_code": "WC1",
        "text": {"content": "欢迎！"},
        "attachments": [link],
    }
    assert await errcode_of(client.send_welcome_msg("WC1", "again")) == 41051
    assert await errcode_of(client.send_welcome_msg("WC2")) == 40058  # nothing to send


async def test_tag_library_and_marking(wecom_fake: FakeWeCom, client: WeComClient) -> None:
    created = await client.add_corp_tag("来源", ["抖音", "门店"])
    assert last(wecom_fake)["json"] == {
        "group_name": "来源", "tag": [{"name": "抖音"}, {"name": "门店"}], "agentid": AGENT_ID,
    }  # fmt: skip
    group = created["tag_group"]
    douyin, store = (t["id"] for t in group["tag"])
    # Same group name again: tags join the existing group; group_id works too.
    more = await client.add_corp_tag("来源", ["展会"])
    assert more["tag_group"]["group_id"] == group["group_id"]
    by_id = await client.add_corp_tag("", ["官网"], group_id=group["group_id"])
    assert by_id["tag_group"]["group_id"] == group["group_id"]
    assert await errcode_of(client.add_corp_tag("来源", ["抖音"])) == 40071
    await client.add_corp_tag("意向", ["高"])

    everything = await client.get_corp_tag_list()
    assert last(wecom_fake)["json"] == {"tag_id": [], "group_id": []}
    assert [g["group_name"] for g in everything["tag_group"]] == ["来源", "意向"]
    assert len(everything["tag_group"][0]["tag"]) == 4
    only = await client.get_corp_tag_list(tag_ids=[store])
    assert [[t["name"] for t in g["tag"]] for g in only["tag_group"]] == [["门店"]]
    groups = await client.get_corp_tag_list(tag_ids=[store], group_ids=[group["group_id"]])
    assert len(groups["tag_group"][0]["tag"]) == 4  # group_id wins

    wecom_fake.add_contact("wmC1", follow_user=["rep1"])
    await client.mark_tag("rep1", "wmC1", add_tag=[douyin, store])
    assert last(wecom_fake)["path"] == "cgi-bin/externalcontact/mark_tag"
    assert last(wecom_fake)["json"] == {
        "userid": "rep1", "external_userid": "wmC1", "add_tag": [douyin, store], "remove_tag": [],
    }  # fmt: skip
    await client.mark_tag("rep1", "wmC1", remove_tag=[store])
    tags = (await client.get_external_contact("wmC1"))["follow_user"][0]["tags"]
    assert [(t["group_name"], t["tag_name"]) for t in tags] == [("来源", "抖音")]
    assert await errcode_of(client.mark_tag("rep1", "wmC1", add_tag=["etBogus"])) == 40068
    assert await errcode_of(client.mark_tag("rep9", "wmC1", add_tag=[douyin])) == 84061


async def test_remark(wecom_fake: FakeWeCom, client: WeComClient) -> None:
    wecom_fake.add_contact("wmC1", follow_user=["rep1"])
    await client.remark("rep1", "wmC1", "王姐", description="老客户")
    assert last(wecom_fake)["path"] == "cgi-bin/externalcontact/remark"
    assert last(wecom_fake)["json"] == {
        "userid": "rep1", "external_userid": "wmC1", "remark": "王姐", "description": "老客户",
    }  # fmt: skip
    follow = (await client.get_external_contact("wmC1"))["follow_user"][0]
    assert (follow["remark"], follow["description"]) == ("王姐", "老客户")
    await client.remark("rep1", "wmC1", "王")
    assert "description" not in last(wecom_fake)["json"]


async def test_transfers(wecom_fake: FakeWeCom, client: WeComClient) -> None:
    wecom_fake.add_contact("wmC1", follow_user=["old"])
    result = await client.transfer_customer("old", "new", ["wmC1", "wmC2"], msg="由新同事跟进")
    assert last(wecom_fake)["path"] == "cgi-bin/externalcontact/transfer_customer"
    assert last(wecom_fake)["json"] == {
        "handover_userid": "old", "takeover_userid": "new",
        "external_userid": ["wmC1", "wmC2"], "transfer_success_msg": "由新同事跟进",
    }  # fmt: skip
    assert result["customer"] == [
        {"external_userid": "wmC1", "errcode": 0}, {"external_userid": "wmC2", "errcode": 84061},
    ]  # fmt: skip
    await client.resigned_transfer_customer("old", "new", ["wmC1"])
    assert last(wecom_fake)["path"] == "cgi-bin/externalcontact/resigned/transfer_customer"
    assert last(wecom_fake)["json"] == {
        "handover_userid": "old", "takeover_userid": "new", "external_userid": ["wmC1"],
    }  # fmt: skip


async def test_kf_sync_msg_pages(wecom_fake: FakeWeCom, client: WeComClient) -> None:
    ids = [wecom_fake.queue_kf_text("wkA", "wmC1", f"问题{i}") for i in range(5)]
    wecom_fake.queue_kf_text("wkB", "wmC9", "别的账号")
    first = await client.kf_sync_msg("TOKEN1", "wkA", limit=2)
    assert last(wecom_fake)["path"] == "cgi-bin/kf/sync_msg"
    assert last(wecom_fake)["json"] == {
        "cursor": "",
        "open_kfid": "wkA",
        "limit": 2,
        "token": "TOKEN1",
    }
    assert first["has_more"] == 1
    got = list(first["msg_list"])
    cursor = first["next_cursor"]
    while True:
        page = await client.kf_sync_msg(None, "wkA", cursor=cursor, limit=2)
        got += page["msg_list"]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    assert [m["msgid"] for m in got] == ids
    assert got[0]["text"] == {"content": "问题0"}
    assert (got[0]["origin"], got[0]["msgtype"], got[0]["external_userid"]) == (3, "text", "wmC1")
    empty = await client.kf_sync_msg(None, "wkA", cursor=cursor)
    assert (empty["msg_list"], empty["has_more"], empty["next_cursor"]) == ([], 0, cursor)


async def test_kf_sending_and_state(wecom_fake: FakeWeCom, client: WeComClient) -> None:
    wecom_fake.queue_kf_text("wkA", "wmC1", "在吗")
    sent = await client.kf_send_msg("wmC1", "wkA", "text", {"content": "在的"})
    assert sent["msgid"]
    assert last(wecom_fake)["path"] == "cgi-bin/kf/send_msg"
    assert last(wecom_fake)["json"] == {
        "touser": "wmC1", "open_kfid": "wkA", "msgtype": "text", "text": {"content": "在的"},
    }  # fmt: skip
    for _ in range(4):
        await client.kf_send_msg("wmC1", "wkA", "text", {"content": "…"})
    assert await errcode_of(client.kf_send_msg("wmC1", "wkA", "text", {"content": "6"})) == 95001

    state = await client.kf_service_state_get("wkA", "wmC1")
    assert last(wecom_fake)["path"] == "cgi-bin/kf/service_state/get"
    assert state["service_state"] == 0
    moved = await client.kf_service_state_trans("wkA", "wmC1", 3, servicer_userid="rep1")
    assert last(wecom_fake)["json"] == {
        "open_kfid": "wkA", "external_userid": "wmC1", "service_state": 3,
        "servicer_userid": "rep1",
    }  # fmt: skip
    code = moved["msg_code"]
    state = await client.kf_service_state_get("wkA", "wmC1")
    assert (state["service_state"], state["servicer_userid"]) == (3, "rep1")
    assert await errcode_of(client.kf_send_msg("wmC1", "wkA", "text", {"content": "x"})) == 95018
    assert await errcode_of(client.kf_service_state_trans("wkA", "wmC1", 3)) == 40058

    await client.kf_send_msg_on_event(code, "text", {"content": "已为您转人工"})
    assert last(wecom_fake)["path"] == "cgi-bin/kf/send_msg_on_event"
    assert last(wecom_fake)["json"] == {
        "code": code,
        "msgtype": "text",
        "text": {"content": "已为您转人工"},
    }
    assert await errcode_of(client.kf_send_msg_on_event(code, "text", {"content": "x"})) == 40058


async def test_oauth_codes(wecom_fake: FakeWeCom, client: WeComClient) -> None:
    code = wecom_fake.issue_oauth_code("rep1")
    assert (await client.auth_getuserinfo(code))["userid"] == "rep1"
    assert last(wecom_fake)["path"] == "cgi-bin/auth/getuserinfo"
    assert last(wecom_fake)["query"] == {"code": code}
    assert await errcode_of(client.auth_getuserinfo(code)) == 40029  # single use


async def test_fail_next_counts_and_paths(wecom_fake: FakeWeCom, client: WeComClient) -> None:
    wecom_fake.fail_next("/cgi-bin/externalcontact/get", 60020, times=2)
    wecom_fake.add_contact("wmC1")
    assert await errcode_of(client.get_external_contact("wmC1")) == 60020
    assert await errcode_of(client.get_external_contact("wmC1")) == 60020
    assert (await client.get_external_contact("wmC1"))["errcode"] == 0


async def test_raw_token_errors(http: aiohttp.ClientSession, wecom_server: TestServer) -> None:
    # Straight at the fake, without the client's retry: missing and unknown tokens, bad JSON.
    session = http
    base = str(wecom_server.make_url("/cgi-bin/"))
    async with session.get(base + "message/send") as resp:
        assert (await resp.json())["errcode"] == 41001
    async with session.get(base + "message/send", params={"access_token": "nope"}) as resp:
        assert (await resp.json())["errcode"] == 40014
    async with session.post(base + "gettoken", data=b"{not json") as resp:
        assert (await resp.json())["errcode"] == 47001
