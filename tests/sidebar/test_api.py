"""The sidebar JSON API: access per rep and supervisor, validation, and every action."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.models import AuditLog, Escalation, Followup
from bot.sandbox.fake import FakeWeCom
from tests.helpers import settle, texts_to
from tests.sidebar.conftest import Client, Login

ALICE_C = "wmalice000001"
BOB_C = "wmbob00000001"
CAROL_C = "wmcarol000001"
pytestmark = pytest.mark.usefixtures("team")


async def test_profile_of_own_customer(client: Client, login: Login) -> None:
    await login("alice")
    resp = await client.get(f"/sidebar/api/customers/{ALICE_C}")
    assert resp.status == 200
    data = await resp.json()
    assert data["customer"]["name"] == "张三"
    assert data["customer"]["channel"] == "douyin"
    assert data["customer"]["followed_by"] == ["alice"]
    assert data["viewer"] == {"userid": "alice", "role": "rep"}
    assert data["tags"] == []
    assert data["notes"] == []
    assert data["followups"] == []


async def test_403_on_another_reps_customer(client: Client, login: Login) -> None:
    csrf = await login("alice")
    for path in (f"/customers/{BOB_C}", f"/customers/{BOB_C}/latest"):
        resp = await client.get("/sidebar/api" + path)
        assert resp.status == 403
        assert await resp.json() == {"error": "forbidden", "message": "这不是你的客户"}
    write = await client.post(
        f"/sidebar/api/customers/{BOB_C}/tags", json={"add": ["VIP"]},
        headers={"X-CSRF-Token": csrf},
    )  # fmt: skip
    assert write.status == 403
    assert (await client.get(f"/sidebar/api/customers/{BOB_C}/events")).status == 403


async def test_unknown_customer_is_404(client: Client, login: Login) -> None:
    await login("alice")
    resp = await client.get("/sidebar/api/customers/wmnobody")
    assert resp.status == 404
    assert (await resp.json())["error"] == "not_found"


async def test_supervisor_sees_own_departments_only(client: Client, login: Login) -> None:
    await login("lead1")
    assert (await client.get(f"/sidebar/api/customers/{BOB_C}")).status == 200
    assert (await client.get(f"/sidebar/api/customers/{ALICE_C}")).status == 200
    assert (await client.get(f"/sidebar/api/customers/{CAROL_C}")).status == 403


async def test_add_and_remove_tags_calls_mark_tag(
    client: Client, login: Login, fake: FakeWeCom
) -> None:
    csrf = await login("alice")
    headers = {"X-CSRF-Token": csrf}
    library = await (await client.get("/sidebar/api/tags")).json()
    names = {t["name"] for g in library["groups"] for t in g["tags"]}
    assert {"VIP", "老客户"} <= names
    resp = await client.post(
        f"/sidebar/api/customers/{ALICE_C}/tags", json={"add": ["VIP"]}, headers=headers
    )
    assert resp.status == 200
    body = await resp.json()
    assert body["added"] == ["VIP"]
    assert [t["name"] for t in body["tags"]] == ["VIP"]
    await settle(client.app)
    marks = fake.calls_to("externalcontact/mark_tag")
    assert marks[-1]["json"]["userid"] == "alice"
    assert marks[-1]["json"]["external_userid"] == ALICE_C
    assert len(marks[-1]["json"]["add_tag"]) == 1
    resp = await client.post(
        f"/sidebar/api/customers/{ALICE_C}/tags", json={"remove": ["VIP"]}, headers=headers
    )
    assert (await resp.json())["removed"] == ["VIP"]
    await settle(client.app)
    assert fake.calls_to("externalcontact/mark_tag")[-1]["json"]["remove_tag"]


async def test_unknown_tag_suggests_close_names(client: Client, login: Login) -> None:
    csrf = await login("alice")
    resp = await client.post(
        f"/sidebar/api/customers/{ALICE_C}/tags", json={"add": ["VIPP"]},
        headers={"X-CSRF-Token": csrf},
    )  # fmt: skip
    assert resp.status == 404
    assert "VIP" in (await resp.json())["message"]


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("notes", {"text": "   "}, "请填写备注内容"),
        ("notes", {"text": 5}, "备注内容必须是文字"),
        ("notes", {"text": "长" * 2001}, "最多 2000 个字"),
        ("followups", {"note": ""}, "请填写跟进内容"),
        ("followups", {"note": "回电", "due_at": "随便哪天"}, "看不懂时间「随便哪天」"),
        ("followups", {"note": "回电", "due_at": 5}, "到期时间必须是文字"),
        ("followups", {"note": "回电", "due_at": "2001-01-01T10:00"}, "已经过去了"),
        ("escalations", {}, "请填写升级原因"),
        ("tags", {}, "请选择要添加或移除的标签"),
        ("tags", {"add": "VIP"}, "标签必须是文字列表"),
        ("ask", {"text": ""}, "请填写客户说的话"),
    ],
)
async def test_validation_errors_are_400_with_a_message(
    client: Client, login: Login, path: str, body: dict[str, object], message: str
) -> None:
    csrf = await login("alice")
    resp = await client.post(
        f"/sidebar/api/customers/{ALICE_C}/{path}", json=body, headers={"X-CSRF-Token": csrf}
    )
    assert resp.status == 400
    data = await resp.json()
    assert data["error"] == "usage"
    assert message in data["message"]


async def test_non_json_body_is_400(client: Client, login: Login) -> None:
    csrf = await login("alice")
    resp = await client.post(
        f"/sidebar/api/customers/{ALICE_C}/notes", data=b"text=hi",
        headers={"X-CSRF-Token": csrf},
    )  # fmt: skip
    assert resp.status == 400
    assert "JSON" in (await resp.json())["message"]


async def test_notes_followups_and_done(
    client: Client, login: Login, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    headers = {"X-CSRF-Token": await login("alice")}
    base = f"/sidebar/api/customers/{ALICE_C}"
    assert (
        await client.post(base + "/notes", json={"text": "喜欢蓝色"}, headers=headers)
    ).status == 201
    due = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    resp = await client.post(
        base + "/followups", json={"note": "回电", "due_at": due}, headers=headers
    )
    assert resp.status == 201
    followup = (await resp.json())["followup"]
    assert followup["due_at"]
    assert not followup["overdue"]
    year = datetime.now(UTC).year + 1
    local = await client.post(
        base + "/followups", json={"note": "寄样品", "due_at": f"{year}-01-01T09:30"},
        headers=headers,
    )  # fmt: skip
    assert (await local.json())["followup"]["due_at"] == f"{year}-01-01T01:30:00+00:00"
    done = await client.post(f"/sidebar/api/followups/{followup['id']}/done", headers=headers)
    assert done.status == 200
    assert (await done.json())["followup"]["done_at"]
    again = await client.post(f"/sidebar/api/followups/{followup['id']}/done", headers=headers)
    assert again.status == 400
    data = await (await client.get(base)).json()
    assert [n["text"] for n in data["notes"]] == ["喜欢蓝色"]
    assert [f["note"] for f in data["followups"]] == ["寄样品", "回电"]  # open first
    async with sessionmaker() as session:
        actions = set(await session.scalars(select(AuditLog.action)))
        assert {"note", "followup", "followup_done"} <= actions
        assert len(list(await session.scalars(select(Followup)))) == 2


async def test_bob_cannot_finish_alices_followup(client: Client, login: Login) -> None:
    headers = {"X-CSRF-Token": await login("alice")}
    resp = await client.post(
        f"/sidebar/api/customers/{ALICE_C}/followups", json={"note": "回电"}, headers=headers
    )
    followup_id = (await resp.json())["followup"]["id"]
    bob = {"X-CSRF-Token": await login("bob")}
    resp = await client.post(f"/sidebar/api/followups/{followup_id}/done", headers=bob)
    assert resp.status == 403
    assert (await client.post("/sidebar/api/followups/abc/done", headers=bob)).status == 400
    assert (await client.post("/sidebar/api/followups/999/done", headers=bob)).status == 404


async def test_escalate_notifies_the_supervisor(
    client: Client, login: Login, fake: FakeWeCom, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    headers = {"X-CSRF-Token": await login("alice")}
    resp = await client.post(
        f"/sidebar/api/customers/{ALICE_C}/escalations", json={"reason": "客户要求赔偿"},
        headers=headers,
    )  # fmt: skip
    assert resp.status == 201
    await settle(client.app)
    sent = [c["json"] for c in fake.calls_to("message/send")]
    assert any(m["touser"] == "lead1" and "客户要求赔偿" in m["text"]["content"] for m in sent)
    async with sessionmaker() as session:
        row = await session.scalar(select(Escalation))
        assert row is not None
        assert row.userid == "alice"
        assert row.notified_at is not None


async def test_wecom_refusing_a_tag_reaches_the_rep(
    client: Client, login: Login, fake: FakeWeCom
) -> None:
    headers = {"X-CSRF-Token": await login("alice")}
    fake.fail_next("externalcontact/mark_tag", 60011)
    resp = await client.post(
        f"/sidebar/api/customers/{ALICE_C}/tags", json={"add": ["VIP"]}, headers=headers
    )
    assert resp.status == 200  # recorded; WeCom is told after the commit
    await settle(client.app)
    (notice,) = texts_to(fake, "alice")
    assert notice.startswith("【未能完成】给客户")
    assert "应用没有这项权限（errcode 60011）" in notice


async def test_group_chat_lists_customer_members(
    client: Client, login: Login, fake: FakeWeCom
) -> None:
    chat = fake.add_group_chat(
        name="VIP 群", owner="alice", members=["bob"], customers=[ALICE_C, BOB_C, "wmstranger01"]
    )
    await login("alice")
    resp = await client.get(f"/sidebar/api/groups/{chat}")
    assert resp.status == 200
    data = await resp.json()
    assert data["group"]["name"] == "VIP 群"
    assert data["group"]["member_count"] == 5
    members = {m["external_userid"]: m for m in data["customers"]}
    assert set(members) == {ALICE_C, BOB_C, "wmstranger01"}
    assert members[ALICE_C]["accessible"] is True
    assert members[BOB_C]["accessible"] is False  # in the group, but bob's customer
    assert members["wmstranger01"]["known"] is False
    await login("carol")
    assert (await client.get(f"/sidebar/api/groups/{chat}")).status == 403
    await login("alice")
    missing = await client.get("/sidebar/api/groups/wrnope")
    assert missing.status == 404
    assert "找不到这个客户群" in (await missing.json())["message"]


async def test_followup_due_in_natural_chinese(client: Client, login: Login) -> None:
    """The page sends what the rep typed ("明天10点"); the server reads it in the corp's zone."""
    headers = {"X-CSRF-Token": await login("alice")}
    base = f"/sidebar/api/customers/{ALICE_C}/followups"
    resp = await client.post(base, json={"note": "回电", "due_at": "明天10点"}, headers=headers)
    assert resp.status == 201
    followup = (await resp.json())["followup"]
    assert followup["due_text"] == "明天 10:00"
    due = datetime.fromisoformat(followup["due_at"]).astimezone(ZoneInfo("Asia/Shanghai"))
    assert (due.hour, due.minute) == (10, 0)
    assert due.date() == (datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(days=1)).date()
    blank = await client.post(base, json={"note": "随时", "due_at": "  "}, headers=headers)
    assert blank.status == 201
    assert (await blank.json())["followup"]["due_at"] is None


async def test_timeline_paging_parameters(client: Client, login: Login) -> None:
    await login("alice")
    url = f"/sidebar/api/customers/{ALICE_C}/timeline"
    resp = await client.get(url, params={"limit": "99999999999"})  # past the cap: the cap
    assert resp.status == 200
    assert "items" in await resp.json()
    resp = await client.get(url, params={"limit": "-1"})
    assert resp.status == 400
    assert "参数 limit 必须是数字" in (await resp.json())["message"]
