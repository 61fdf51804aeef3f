"""An admin exports one customer's personal data and erases it on request (PIPL).

There was no way to do either: a customer's messages, notes and tags were kept forever, and
their name and texts sat in callbacks, effects and audit rows too. Now `/export` and `/erase`
(confirmed by a code) and `python -m bot customer export|erase` do it, audited, with the
WeCom side (our tags, the remark) undone through the outbox.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core import db, migrate
from bot.core.errors import UsageError
from bot.core.settings import Settings
from bot.domain import privacy
from bot.domain.models import AuditLog, Customer, FollowRelation, InboxItem, Message, Note
from bot.outbox.model import Effect
from bot.sandbox.fake import FakeWeCom
from tests import pg
from tests.cli import run_bot
from tests.conftest import make_settings
from tests.helpers import say

pytestmark = pytest.mark.usefixtures("team")


@pytest.fixture
def settings(db_path: Path, fake_server: TestServer, tmp_path: Path) -> Settings:
    """Exports go under this test's directory."""
    return make_settings(db_path, fake_server, data_dir=str(tmp_path / "data"))


async def _history(fake: FakeWeCom) -> None:
    """alice tags 张三 (c1), writes a note and a follow-up: rows, callbacks and effects."""
    assert "已" in await say(fake, "alice", "/tag 张三 VIP")
    assert "备注" in await say(fake, "alice", "/note 张三 对酒精过敏，电话 13800001234")
    await say(fake, "alice", "/follow 张三 回电确认报价 明天10点")


def _read(path: Path) -> tuple[int, Any]:
    return path.stat().st_mode, json.loads(path.read_text(encoding="utf-8"))


async def _count(session: AsyncSession, model: Any, *where: Any) -> int:
    return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def test_export_writes_everything_and_is_audited(
    fake: FakeWeCom, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    await _history(fake)
    async with sessionmaker.begin() as session:
        session.add(Message(source="kf", external_userid="c1", text="我想退货"))
    reply = await say(fake, "boss", "/export 张三")
    found = re.search(r"(/\S+\.json)", reply)
    assert found, reply
    path = Path(found.group(1))
    assert path.is_relative_to(tmp_path / "data" / "exports")
    mode, body = await asyncio.to_thread(_read, path)
    assert mode & 0o077 == 0  # the server's user only
    assert body["customer"]["name"] == "张三"
    assert [t["name"] for t in body["tags"]] == ["VIP"]
    assert "对酒精过敏" in body["notes"][0]["text"]
    assert body["messages"][0]["text"] == "我想退货"
    assert body["relations"][0]["remark"] == "张总 13800001234"
    async with sessionmaker() as session:
        row = await session.scalar(select(AuditLog).where(AuditLog.action == "customer_export"))
        command = await session.scalar(select(AuditLog).where(AuditLog.action == "cmd:export"))
    assert row is not None
    assert (row.actor, row.target) == ("boss", "c1")
    assert command is not None
    assert command.target == ""


async def test_erase_needs_a_code_then_removes_everything(
    fake: FakeWeCom, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await _history(fake)
    asked = await say(fake, "boss", "/erase 张三")
    code = re.search(r"/erase c1 (\d{6})", asked)
    assert code, asked
    async with sessionmaker() as session:  # asking changes nothing
        assert await session.get(Customer, "c1") is not None
    wrong = "000000" if code.group(1) != "000000" else "111111"
    assert "确认码不对" in await say(fake, "boss", f"/erase c1 {wrong}")
    assert "需要管理员权限" in await say(fake, "alice", f"/erase c1 {code.group(1)}")
    done = await say(fake, "boss", f"/erase c1 {code.group(1)}")
    assert "已删除" in done, done
    assert "张三" not in done

    async with sessionmaker() as session:
        assert await session.get(Customer, "c1") is None
        for model in (FollowRelation, Note, Message):
            assert await _count(session, model, model.external_userid == "c1") == 0
        assert await session.get(Customer, "c2") is not None  # 张珊 is someone else
        for column in (InboxItem.payload, AuditLog.target):
            assert await _count(session, column.table, column.like("%张三%")) == 0
        details = [json.dumps(d, ensure_ascii=False) for d in await session.scalars(
            select(AuditLog.detail))]  # fmt: skip
        assert not [d for d in details if "张三" in d or "13800001234" in d]
        erased = await session.scalar(select(AuditLog).where(AuditLog.action == "customer_erased"))
        assert erased is not None
        assert erased.target == privacy.subject_ref("c1")
        assert erased.detail["notes"] == 1
        assert erased.detail["wecom_changes"] == 2
        effects = {e.kind: e for e in await session.scalars(select(Effect))}
    # In WeCom: our tag removed from alice's relation, and the remark cleared.
    calls = {c["path"]: c["json"] for c in fake.calls}
    assert calls["cgi-bin/externalcontact/mark_tag"]["remove_tag"]
    assert calls["cgi-bin/externalcontact/remark"] == {
        "userid": "alice", "external_userid": "c1", "remark": ""}  # fmt: skip
    assert {effects["mark_tag"].status, effects["remark"].status} == {"done"}


async def test_a_code_expires_and_belongs_to_its_admin(
    sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    asked_at = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    async with sessionmaker.begin() as session:
        code = await privacy.request_erasure(
            session, actor="boss", external_userid="c3", now=asked_at
        )
    late = asked_at + privacy.CODE_TTL + timedelta(seconds=1)
    for actor, when in (("boss", late), ("other-admin", asked_at)):
        with pytest.raises(UsageError, match="过期或不存在"):
            async with sessionmaker.begin() as session:
                await privacy.confirm_erasure(
                    session, actor=actor, external_userid="c3", code=code, now=when,
                    data_dir=str(tmp_path),
                )  # fmt: skip
    async with sessionmaker() as session:
        assert await session.get(Customer, "c3") is not None


async def test_cli_export_and_erase(db_path: Path, tmp_path: Path) -> None:
    await asyncio.to_thread(_cli_export_and_erase, f"sqlite+aiosqlite:///{db_path}", tmp_path)


def _cli_export_and_erase(url: str, tmp_path: Path) -> None:
    out = tmp_path / "c4.json"
    exported = run_bot("customer", "export", "c4", "-o", str(out), cwd=tmp_path, DATABASE_URL=url)
    assert exported.returncode == 0, exported.stderr
    assert json.loads(out.read_text(encoding="utf-8"))["customer"]["name"] == "王五"
    asked = run_bot("customer", "erase", "c4", cwd=tmp_path, DATABASE_URL=url)
    code = re.search(r"--code (\d{6})", asked.stdout)
    assert code, asked.stdout + asked.stderr
    wrong = run_bot("customer", "erase", "c4", "--code", "x", cwd=tmp_path, DATABASE_URL=url)
    assert wrong.returncode == 1
    assert "确认码不对" in wrong.stderr
    done = run_bot(
        "customer", "erase", "c4", "--code", code.group(1), cwd=tmp_path, DATABASE_URL=url
    )
    assert done.returncode == 0, done.stderr
    assert privacy.subject_ref("c4") in done.stdout
    gone = run_bot("customer", "export", "c4", cwd=tmp_path, DATABASE_URL=url)
    assert gone.returncode == 1
    assert "没有这位客户" in gone.stderr


async def test_erase_on_postgres(tmp_path: Path) -> None:
    """The same queries (LIKE over JSON cast to text, batched deletes) on PostgreSQL."""
    async with pg.empty_database() as url:
        await asyncio.to_thread(migrate.upgrade, url)
        engine = db.create_engine(url)
        sessionmaker = db.create_sessionmaker(engine)
        async with sessionmaker.begin() as session:
            session.add(Customer(external_userid="wmPG1", name="赵六"))
            await session.flush()
            session.add(FollowRelation(userid="alice", external_userid="wmPG1", remark="赵总"))
            session.add(Message(source="kf", external_userid="wmPG1", text="你好"))
            session.add(AuditLog(actor="alice", action="cmd:note", target="赵总 很急",
                                 detail={"args": "赵总 很急"}))  # fmt: skip
            session.add(Effect(kind="message", key="pg-e1", status="done",
                               payload={"content": "客户 赵六 升级"}))  # fmt: skip
        async with sessionmaker.begin() as session:
            code = await privacy.request_erasure(
                session, actor="boss", external_userid="wmPG1", now=datetime.now(UTC)
            )
            held = await privacy.confirm_erasure(
                session, actor="boss", external_userid="wmPG1", code=code,
                now=datetime.now(UTC), data_dir=str(tmp_path),
            )  # fmt: skip
        assert (held.relations, held.messages) == (1, 1)
        async with sessionmaker() as session:
            assert await session.get(Customer, "wmPG1") is None
            targets = set(await session.scalars(select(AuditLog.target)))
            assert targets == {privacy.subject_ref("wmPG1")}
            keys = set(await session.scalars(select(Effect.key)))
            assert "pg-e1" not in keys
        await engine.dispose()
