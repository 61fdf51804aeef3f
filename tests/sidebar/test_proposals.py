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
