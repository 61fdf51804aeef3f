"""Safe learning: a rep's pick is a proposal tied to a message; only an accept (or two reps)
changes what the bot auto-replies, and a supervisor can undo it."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.keys import KB
from bot.domain.models import AuditLog, KbProposal
from bot.sandbox.fake import FakeWeCom
from knowledge import matcher
from tests.helpers import say
from tests.sidebar.conftest import Client, Login

ALICE_C = "wmalice000001"
BOB_C = "wmbob00000001"
COMPLAINT = "我要投诉你们要求赔偿"
# The demo KB suggests order-ship-time for it (about 42 %), below its auto-reply threshold.
WORDING = "宝贝啥时候能寄出来呀"
pytestmark = pytest.mark.usefixtures("team")


def _decision(client: Client, text: str) -> matcher.Action:
    snapshot = client.app[KB].snapshot
    decided = matcher.decide(
        snapshot.index.match(text, limit=3), query=text, rules=snapshot.rules,
        calibration=snapshot.calibration,
    )  # fmt: skip
    return decided.action


def _similar(client: Client, entry_id: str) -> tuple[str, ...]:
    entry = client.app[KB].snapshot.kb.entry(entry_id)
    assert entry is not None
    return entry.similar


async def _ask(client: Client, token: str, euid: str, text: str) -> dict[str, Any]:
    resp = await client.post(f"/sidebar/api/customers/{euid}/ask", json={"text": text},
                             headers={"X-CSRF-Token": token})  # fmt: skip
    assert resp.status == 200
    data: dict[str, Any] = await resp.json()
    return data


async def _pick(client: Client, token: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    resp = await client.post("/sidebar/api/feedback", json=body, headers={"X-CSRF-Token": token})
    data: dict[str, Any] = await resp.json()
    return resp.status, data


async def _audit(sessionmaker: async_sessionmaker[AsyncSession]) -> list[str]:
    async with sessionmaker() as session:
        rows = await session.scalars(select(AuditLog.action).order_by(AuditLog.id))
        return [a for a in rows if a.startswith("kb_")]


async def test_complaint_cannot_be_turned_into_an_order_cancel_answer(
    client: Client, login: Login, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    token = await login("alice")
    before = _similar(client, "order-cancel")
    # The old attack: free text for any entry. Refused, with no message to tie it to.
    status, data = await _pick(client, token, {"entry_id": "order-cancel", "question": COMPLAINT})
    assert status == 400
    assert "哪条客户消息" in data["message"]
    # Tied to the real complaint: order-cancel was never suggested for it.
    asked = await _ask(client, token, ALICE_C, COMPLAINT)
    assert "order-cancel" not in [s["entry_id"] for s in asked["suggestions"]]
    status, data = await _pick(
        client, token, {"entry_id": "order-cancel", "message_id": asked["message_id"]}
    )
    assert status == 400
    assert "不在这条消息的推荐" in data["message"]
    assert _similar(client, "order-cancel") == before
    assert _decision(client, COMPLAINT) != "auto"
    async with sessionmaker() as session:
        assert list(await session.scalars(select(KbProposal))) == []


async def test_no_recording_below_the_suggestion_floor(client: Client, login: Login) -> None:
    token = await login("alice")
    asked = await _ask(client, token, ALICE_C, "今天天气怎么样")
    assert asked["decision"] == "none"
    top = asked["suggestions"][0]
    assert top["confidence"] < client.app[KB].snapshot.calibration.suggest_threshold
    status, data = await _pick(
        client, token, {"entry_id": top["entry_id"], "message_id": asked["message_id"]}
    )
    assert status == 400
    assert "匹配度太低" in data["message"]


async def test_other_reps_messages_are_out_of_reach(client: Client, login: Login) -> None:
    bob = await login("bob")
    asked = await _ask(client, bob, BOB_C, WORDING)
    carol = await login("carol")  # another department: not her customer
    status, _ = await _pick(
        client, carol, {"entry_id": "order-ship-time", "message_id": asked["message_id"]}
    )
    assert status == 403


async def test_two_distinct_reps_make_a_pick_live(
    client: Client, login: Login, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    alice = await login("alice")
    assert _decision(client, WORDING) != "auto"
    first = await _ask(client, alice, ALICE_C, WORDING)
    pick = {"entry_id": "order-ship-time", "message_id": first["message_id"]}
    status, data = await _pick(client, alice, pick)
    assert status == 200
    assert data["proposal"]["status"] == "pending"
    assert (data["proposal"]["reps"], data["proposal"]["quorum"]) == (1, 2)
    assert data["applied"] is False
    # Pending: not in the index, so the bot still does not auto-reply on it.
    assert WORDING not in _similar(client, "order-ship-time")
    assert _decision(client, WORDING) != "auto"
    # The same rep again does not count twice.
    _, again = await _pick(client, alice, pick)
    assert (again["proposal"]["status"], again["proposal"]["reps"]) == ("pending", 1)
    bob = await login("bob")
    second = await _ask(client, bob, BOB_C, WORDING + "？")  # same wording to the matcher
    # Bob sees Alice's pick beside the suggestion (a hint: nothing is rescored).
    hinted = {s["entry_id"]: s["proposal"] for s in second["suggestions"]}
    assert hinted["order-ship-time"] == {"id": data["proposal"]["id"], "status": "pending",
                                         "reps": 1}  # fmt: skip
    assert [s["confidence"] for s in second["suggestions"]] == [
        s["confidence"] for s in first["suggestions"]
    ]
    _, data = await _pick(
        client, bob, {"entry_id": "order-ship-time", "message_id": second["message_id"]}
    )
    assert data["proposal"]["status"] == "accepted"
    assert data["applied"] is True
    assert WORDING in _similar(client, "order-ship-time")
    assert _decision(client, WORDING) == "auto"
    assert await _audit(sessionmaker) == ["kb_propose", "kb_propose", "kb_propose", "kb_accept"]


async def test_supervisor_accepts_rejects_and_undoes(
    client: Client, login: Login, fake: FakeWeCom, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    alice = await login("alice")
    asked = await _ask(client, alice, ALICE_C, WORDING)
    _, data = await _pick(
        client, alice, {"entry_id": "order-ship-time", "message_id": asked["message_id"]}
    )
    number = data["proposal"]["id"]
    assert "需要主管权限" in await say(fake, "alice", f"/accept {number}")
    listing = await say(fake, "lead1", "/proposals")
    assert f"#{number} 「{WORDING}」" in listing
    assert "1/2 位客服" in listing
    assert _decision(client, WORDING) != "auto"

    assert "已驳回" in await say(fake, "lead1", f"/reject {number}")
    assert "不能再采纳" in await say(fake, "lead1", f"/accept {number}")
    assert "恢复待审核" in await say(fake, "lead1", f"/undo {number}")
    assert "已采纳" in await say(fake, "lead1", f"/accept {number}")
    assert WORDING in _similar(client, "order-ship-time")
    assert _decision(client, WORDING) == "auto"

    assert "已撤销" in await say(fake, "lead1", f"/undo {number}")
    assert WORDING not in _similar(client, "order-ship-time")
    assert _decision(client, WORDING) != "auto"
    assert "没有编号为 999 的提议" in await say(fake, "lead1", "/accept 999")
    assert await _audit(sessionmaker) == [
        "kb_propose", "kb_reject", "kb_undo", "kb_accept", "kb_undo",
    ]  # fmt: skip
    async with sessionmaker() as session:
        row = await session.get(KbProposal, number)
        assert row is not None
        assert (row.status, row.decided_by) == ("undone", "lead1")


async def _search(
    client: Client, token: str, message_id: int | str, q: str
) -> tuple[int, dict[str, Any]]:
    resp = await client.get("/sidebar/api/kb/search", params={"q": q, "message_id": message_id},
                            headers={"X-CSRF-Token": token})  # fmt: skip
    data: dict[str, Any] = await resp.json()
    return resp.status, data


async def test_a_pick_from_the_reps_own_search_becomes_a_proposal(
    client: Client, login: Login, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    alice = await login("alice")
    # Chit-chat gets no usable suggestion; the rep looks the answer up herself.
    asked = await _ask(client, alice, ALICE_C, "东西收到了但是盒子压坏了怎么办")
    message_id = asked["message_id"]
    suggested = [s["entry_id"] for s in asked["suggestions"]]
    status, found = await _search(client, alice, message_id, "退货")
    assert status == 200
    ids = [item["entry_id"] for item in found["items"]]
    picked = next(i for i in ids if i not in suggested)
    status, data = await _pick(client, alice, {"entry_id": picked, "message_id": message_id})
    assert status == 200, data
    assert data["proposal"]["status"] == "pending"
    assert data["applied"] is False
    assert asked["text"] not in _similar(client, picked)  # pending: nothing changed yet
    async with sessionmaker() as session:
        audit = await session.scalar(
            select(AuditLog).where(AuditLog.action == "kb_propose").order_by(AuditLog.id.desc())
        )
    assert audit is not None
    assert audit.detail["via"] == "searched"


async def test_a_pick_neither_suggested_nor_searched_is_refused(
    client: Client, login: Login, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    alice = await login("alice")
    asked = await _ask(client, alice, ALICE_C, COMPLAINT)
    message_id = asked["message_id"]
    # She searched, but order-cancel was not among what the server showed her ...
    status, found = await _search(client, alice, message_id, "运费")
    assert status == 200
    assert "order-cancel" not in [item["entry_id"] for item in found["items"]]
    before = _similar(client, "order-cancel")
    status, data = await _pick(
        client, alice, {"entry_id": "order-cancel", "message_id": message_id}
    )
    assert status == 400
    assert "不在这条消息的推荐里，也不在你为它搜索到的结果里" in data["message"]
    # ... and another rep's search for the same message vouches for nobody else.
    bob = await login("bob")
    status, _ = await _search(client, bob, message_id, "取消订单")
    assert status in (200, 403)
    alice = await login("alice")
    status, data = await _pick(
        client, alice, {"entry_id": "order-cancel", "message_id": message_id}
    )
    assert status == 400
    # A search for another message does not count for this one either.
    other = await _ask(client, alice, ALICE_C, "我想取消订单")
    status, _ = await _search(client, alice, other["message_id"], "取消订单")
    assert status == 200
    status, data = await _pick(
        client, alice, {"entry_id": "order-cancel", "message_id": message_id}
    )
    assert status == 400
    assert _similar(client, "order-cancel") == before
    assert await _audit(sessionmaker) == []
    async with sessionmaker() as session:
        assert list(await session.scalars(select(KbProposal))) == []


async def test_kb_search_checks_the_message_and_the_query(client: Client, login: Login) -> None:
    alice = await login("alice")
    status, data = await _search(client, alice, "abc", "退货")
    assert status == 400
    assert "message_id" in data["message"]
    status, data = await _search(client, alice, 999999, "退货")
    assert status == 404
    asked = await _ask(client, alice, ALICE_C, WORDING)
    status, data = await _search(client, alice, asked["message_id"], "  ")
    assert status == 400
    assert "关键词" in data["message"]
    carol = await login("carol")  # another department: not her customer's message
    status, _ = await _search(client, carol, asked["message_id"], "退货")
    assert status == 403


async def test_searched_picks_wait_for_a_supervisor_however_many_reps_make_them(
    client: Client, login: Login, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """Two reps each searching and recording an entry for the same wording do not make it live
    (a searched pick ties free text to any entry); a supervisor's accept does."""
    for rep, euid in (("alice", ALICE_C), ("bob", BOB_C)):
        token = await login(rep)
        asked = await _ask(client, token, euid, COMPLAINT)
        status, found = await _search(client, token, asked["message_id"], "取消订单")
        assert status == 200
        ids = [item["entry_id"] for item in found["items"]]
        assert "order-cancel" in ids
        status, data = await _pick(client, token, {"entry_id": "order-cancel",
                                                   "message_id": asked["message_id"]})  # fmt: skip
        assert status == 200, data
    assert (data["proposal"]["status"], data["proposal"]["reps"]) == ("pending", 2)
    assert data["applied"] is False
    assert COMPLAINT not in _similar(client, "order-cancel")
    assert _decision(client, COMPLAINT) != "auto"


async def test_message_ids_out_of_range_are_a_clear_400_not_a_500(
    client: Client, login: Login
) -> None:
    """A 40-digit id overflowed the database's integer (500); "²" is a digit int() refuses."""
    alice = await login("alice")
    for raw in ("9" * 40, "²"):
        status, data = await _search(client, alice, raw, "退货")
        assert status == 400, raw
        assert "message_id" in data["message"]
    status, data = await _pick(client, alice, {"entry_id": "refund", "message_id": 10**30})
    assert status == 400
    assert "message_id" in data["message"]
