"""notes, follow-ups, escalations, notify and audit services."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.errors import NotFoundError, PermissionDeniedError, UsageError
from bot.core.settings import Settings
from bot.domain import audit, escalations, followups, notes, notify
from bot.domain.models import AuditLog, Staff
from bot.outbox.model import Effect
from tests.services.conftest import seed_team

NOW = datetime(2024, 11, 20, 2, 0, tzinfo=UTC)


async def _staff(session: AsyncSession, userid: str) -> Staff:
    row = await session.get(Staff, userid)
    assert row is not None
    return row


async def test_add_note(session: AsyncSession) -> None:
    await seed_team(session)
    await notes.add_note(session, external_userid="c1", userid="alice", text=" 喜欢蓝色 ")
    assert [n.text for n in await notes.notes_of(session, "c1")] == ["喜欢蓝色"]
    with pytest.raises(UsageError):
        await notes.add_note(session, external_userid="c1", userid="alice", text="  ")


async def test_followups_lifecycle(session: AsyncSession) -> None:
    await seed_team(session)
    late = await followups.add_followup(
        session, external_userid="c1", userid="alice", note="回电", due_at=NOW - timedelta(hours=1)
    )
    soon = await followups.add_followup(
        session, external_userid="c2", userid="alice", note="报价", due_at=NOW + timedelta(hours=1)
    )
    undated = await followups.add_followup(
        session, external_userid="c2", userid="alice", note="寄样品"
    )
    mine = await followups.open_followups(session, "alice")
    assert [f.id for f in mine] == [late.id, soon.id, undated.id]
    assert [f.id for f in await followups.overdue(session, now=NOW)] == [late.id]
    assert await followups.overdue(session, now=NOW, userids=["bob"]) == []

    bob = await _staff(session, "bob")
    with pytest.raises(PermissionDeniedError):
        await followups.done_followup(session, followup_id=late.id, by=bob, now=NOW)
    alice = await _staff(session, "alice")
    await followups.done_followup(session, followup_id=late.id, by=alice, now=NOW)
    with pytest.raises(UsageError):
        await followups.done_followup(session, followup_id=late.id, by=alice, now=NOW)
    with pytest.raises(NotFoundError):
        await followups.done_followup(session, followup_id=999, by=alice, now=NOW)
    assert await followups.overdue(session, now=NOW) == []


async def test_supervisor_may_close_team_followup(session: AsyncSession) -> None:
    await seed_team(session)
    f = await followups.add_followup(session, external_userid="c3", userid="bob", note="x")
    lead = await _staff(session, "lead1")
    await followups.done_followup(session, followup_id=f.id, by=lead, now=NOW)


async def test_escalation_resolve(session: AsyncSession) -> None:
    await seed_team(session)
    esc = await escalations.open_escalation(
        session, external_userid="c1", userid="alice", reason="要退款"
    )
    assert [e.id for e in await escalations.open_escalations(session, userids=["alice"])] == [
        esc.id
    ]
    done = await escalations.resolve_escalation(
        session, escalation_id=esc.id, by="lead1", resolution="已退款"
    )
    assert (done.status, done.assignee, done.resolution) == ("resolved", "lead1", "已退款")
    assert done.resolved_at is not None
    with pytest.raises(UsageError):
        await escalations.resolve_escalation(
            session, escalation_id=esc.id, by="lead1", resolution="again"
        )


async def test_supervisors_of(session: AsyncSession, svc_settings: Settings) -> None:
    await seed_team(session)
    assert await notify.supervisors_of(session, "alice") == ["lead1"]
    # carol's department has no supervisor: fall back to the configured ones.
    assert await notify.supervisors_of(session, "carol", settings=svc_settings) == ["lead1"]


async def test_notify_escalation_records_the_alert_once(
    session: AsyncSession, svc_settings: Settings
) -> None:
    await seed_team(session)
    settings = svc_settings.model_copy(update={"robot_webhook_key": "robot-key"})
    esc = await escalations.open_escalation(
        session, external_userid="c1", userid="alice", reason="投诉"
    )
    now = datetime.now(UTC)
    assert await notify.notify_escalation(session, settings, esc, now=now) == ["lead1"]
    assert await notify.notify_escalation(session, settings, esc, now=now) == []
    recorded = list(await session.scalars(select(Effect).order_by(Effect.id)))
    assert [e.kind for e in recorded] == ["message", "robot"]
    message = recorded[0].payload
    assert (message["touser"], message["dedup"]) == ("lead1", True)
    assert "投诉" in message["body"]["content"]
    assert esc.notified_at == now


async def test_audit_record(session: AsyncSession) -> None:
    await audit.record(session, actor="alice", action="cmd:tag", target="x" * 300, detail={"a": 1})
    row = (await session.scalars(select(AuditLog))).one()
    assert (row.actor, row.action, len(row.target), row.detail) == (
        "alice",
        "cmd:tag",
        128,
        {"a": 1},
    )
