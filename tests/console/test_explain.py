"""Every query the dashboard and its lists run is served by an index, on SQLite and on
PostgreSQL: the pages are rendered for an admin and a supervisor while their SQL is recorded,
then each statement is EXPLAINed (tests/console/plans.py). So are the reads that keep the
customer turns as messages are recorded (bot/domain/turns.py)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from bot.app import create_app
from bot.core import db
from bot.core.keys import DB, SETTINGS
from bot.core.settings import Settings
from bot.domain.models import Staff
from bot.sandbox import demo
from bot.web import session as sess
from console import auth
from tests.console import plans, routes, seed
from tests.services.test_turns import store_rows

QUERIES = ("", "grain=day", "grain=month", "rep=rep2", "dept=2", "kind=lost", "kind=deleted",
           "kind=auto", "kind=handover", "channel=douyin&kind=new")  # fmt: skip


def dashboard_urls() -> list[str]:
    """The dashboard and every list behind it, with each narrowing and period."""
    paths = [r.full_path for r in routes.pages() if r.path == "/" or r.path.startswith("/list/")]
    return [f"{p}?{q}" for p in paths for q in QUERIES]


async def signed_in_cookie(server: TestServer, userid: str) -> dict[str, str]:
    """A session cookie for userid, as the sign-in callback would set it."""
    async with server.app[DB]() as db:
        staff = await db.get(Staff, userid)
        assert staff is not None
        epoch = staff.session_epoch
    secret = server.app[SETTINGS].session_secret.get_secret_value()
    _, value = sess.new_session(secret, userid, time.time(), epoch=epoch)
    return {auth.COOKIE: value}


async def _start(database_url: str, aiohttp_unused_port: Any, aiohttp_server: Any) -> TestServer:
    port = aiohttp_unused_port()
    app = create_app(Settings(sandbox=True, port=port, database_url=database_url))
    seed.address_book(app[demo.FAKE])
    server: TestServer = await aiohttp_server(app, port=port)
    await seed.wait_for_directory(app[DB])
    async with app[DB].begin() as db:
        await seed.org(db)
    return server


async def _check(server: TestServer) -> None:
    engine = server.app[DB].kw["bind"]
    with plans.recording(engine) as statements:
        for userid in ("boss", "sup2"):
            cookies = await signed_in_cookie(server, userid)
            async with aiohttp.ClientSession(cookies=cookies) as http:
                for url in dashboard_urls():
                    async with http.get(server.make_url(url), allow_redirects=False) as resp:
                        assert resp.status == 200, (userid, url, resp.status)
    assert len(statements) > 50
    assert any("FROM customer_turn" in s for s, _ in statements)  # the first-response figures
    assert await plans.full_scans(engine, statements) == []
    # Not vacuous: a query no index serves is caught on this database too.
    param = "?" if engine.dialect.name == "sqlite" else "$1"
    unindexed = [(f"SELECT count(*) FROM message WHERE text = {param}", ("x",))]
    assert await plans.full_scans(engine, unindexed) != []


async def test_dashboard_queries_use_indexes_on_sqlite(
    db_path: Path, aiohttp_unused_port: Any, aiohttp_server: Any
) -> None:
    url = f"sqlite+aiosqlite:///{db_path}"
    await _check(await _start(url, aiohttp_unused_port, aiohttp_server))


async def test_dashboard_queries_use_indexes_on_postgres(
    pg_url: str, aiohttp_unused_port: Any, aiohttp_server: Any
) -> None:
    await _check(await _start(pg_url, aiohttp_unused_port, aiohttp_server))


async def _check_turn_upkeep(url: str) -> None:
    engine = db.create_engine(url)
    sm = db.create_sessionmaker(engine)
    with plans.recording(engine) as statements:
        # Every branch: open, inside a wait, close, a late reply splitting a wait, a late
        # customer message moving a turn back and one answered by a recorded reply.
        for batch in (True, False):
            euid = f"wm{batch}"
            rows = [(euid, "in", 10.0, "kf"), (euid, "in", 11.0, "kf"), (euid, "out", 20.0, "kf"),
                    (euid, "in", 30.0, "kf"), (euid, "out", 40.0, "kf")]  # fmt: skip
            await store_rows(sm, rows, batch=batch)
            late = [(euid, "out", 35.0, "archive"), (euid, "in", 5.0, "archive"),
                    (euid, "in", 25.0, "archive")]  # fmt: skip
            await store_rows(sm, late, batch=batch)
    try:
        assert any("customer_turn" in s for s, _ in statements)
        assert await plans.full_scans(engine, statements) == []
    finally:
        await engine.dispose()


async def test_turn_upkeep_queries_use_indexes_on_sqlite(db_path: Path) -> None:
    await _check_turn_upkeep(f"sqlite+aiosqlite:///{db_path}")


async def test_turn_upkeep_queries_use_indexes_on_postgres(pg_url: str) -> None:
    await _check_turn_upkeep(pg_url)
