"""Archive ingest: over-long ids are a located line error, not a 500 that drops the batch;
SQL parameters (customer text, phone numbers) stay out of errors and logs; blank lines do not
count toward the line limit.

On PostgreSQL a `msgid` over 128 characters or a `from` over 64 overflowed their columns: the
whole request answered 500 and the lines after it were lost. The engine's errors carried
`[parameters: ...]`, so the text of the message landed in the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from bot.app import create_app
from bot.core import db, migrate
from bot.core.keys import DB
from bot.domain.models import Customer, Message
from handlers import ingest
from tests import pg
from tests.conftest import INGEST_TOKEN, make_settings

AUTH = {"Authorization": f"Bearer {INGEST_TOKEN}"}
PHONE = "13800138000"


def _line(msgid: str, sender: str = "wmLimit1", to: str = "alice", **extra: object) -> str:
    item = {"msgid": msgid, "action": "send", "from": sender, "tolist": [to],
            "msgtime": 1700000000000, "msgtype": "text",
            "text": {"content": f"我的电话 {PHONE}"}} | extra  # fmt: skip
    return json.dumps(item, ensure_ascii=False)


async def test_long_ids_are_line_errors_on_postgres(
    fake_server: TestServer, tmp_path: Path, aiohttp_client: Any
) -> None:
    async with pg.empty_database() as url:
        await asyncio.to_thread(migrate.upgrade, url)
        settings = make_settings(tmp_path / "unused.db", fake_server, database_url=url)
        client = await aiohttp_client(create_app(settings))
        body = "\n".join([
            _line("ok-1"),
            _line("m" * 129),
            _line("ok-2", sender="wm" + "x" * 63),
            _line("ok-3", to="r" * 65),
            _line("ok-4"),
        ])  # fmt: skip
        resp = await client.post("/ingest/messages", data=body.encode(), headers=AUTH)
        assert resp.status == 200, await resp.text()
        report = await resp.json()
        assert report["accepted"] == 2
        assert report["errors"] == [
            {"line": 2, "error": "msgid is longer than 128 characters"},
            {"line": 3, "error": "from is longer than 64 characters"},
            {"line": 4, "error": "tolist ids must be at most 64 characters"},
        ]
        async with client.app[DB]() as session:
            kept = await session.scalar(select(func.count()).select_from(Message))
        assert kept == 2
        await client.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_engine_errors_carry_no_parameters(backend: str, db_path: Path) -> None:
    sqlite = contextlib.nullcontext(f"sqlite+aiosqlite:///{db_path}")
    async with pg.empty_database() if backend == "postgresql" else sqlite as url:
        if backend == "postgresql":
            await asyncio.to_thread(migrate.upgrade, url)
        engine = db.create_engine(url)
        sessionmaker = db.create_sessionmaker(engine)
        async with sessionmaker.begin() as session:
            session.add(Customer(external_userid="wmDup", name=PHONE))
        with pytest.raises(IntegrityError) as raised:
            async with sessionmaker.begin() as session:
                session.add(Customer(external_userid="wmDup", name=PHONE))
        await engine.dispose()
    assert PHONE not in str(raised.value)
    assert "wmDup" not in str(raised.value)


async def test_blank_lines_do_not_count_toward_the_limit(client: Any) -> None:
    image = json.dumps({"msgid": "i", "action": "send", "from": "wo1", "tolist": ["x"],
                        "msgtype": "image"})  # fmt: skip
    body = "\n\n".join([image] * ingest.MAX_LINES)  # a blank line between each
    resp = await client.post("/ingest/messages", data=body.encode(), headers=AUTH)
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["skipped"] == ingest.MAX_LINES
    over = "\n".join([image] * (ingest.MAX_LINES + 1))
    assert (await client.post("/ingest/messages", data=over.encode(), headers=AUTH)).status == 413
