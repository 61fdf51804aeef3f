"""One puller across workers and hosts: the second waits, and takes over when the first dies."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy.exc import OperationalError

from bot.app import create_app
from bot.archive import cursor, process
from bot.core.clock import ManualClock
from bot.core.keys import DB
from bot.core.settings import Settings
from bot.sandbox.fake import FakeWeCom
from tests.archive.conftest import Client, cursor_row, drain, keyring_for, message_count, puller


def _texts(fake: FakeWeCom, start: int, count: int) -> None:
    for n in range(start, start + count):
        fake.archive.add_text(f"wmlease{n % 7:04d}", "alice", f"第{n}个问题：什么时候发货",
                              msgid=f"lease-{n}")  # fmt: skip


async def test_two_pullers_one_pulls_the_other_waits_then_takes_over(
    kb_client: Client, fake: FakeWeCom, clock: ManualClock, tmp_path: Path
) -> None:
    keys = keyring_for(tmp_path, [1])
    first, second = (puller(kb_client.app, fake, keys, holder=h) for h in ("host-a", "host-b"))
    _texts(fake, 0, 300)

    assert (await first.step()).state == "pulled"  # 200 of 300
    assert (await second.step()).state == "waiting"
    assert (await first.step()).state == "pulled"  # the rest; the lease is renewed each step
    assert (await second.step()).state == "waiting"
    assert (await cursor_row(kb_client)).holder == "host-a"

    # host-a dies (no release). Within its lease host-b still waits; after it, takes over.
    _texts(fake, 300, 50)
    clock.advance(29)
    assert (await second.step()).state == "waiting"
    clock.advance(2)
    outcomes = await drain(second)
    assert outcomes[0].state == "pulled"
    assert outcomes[0].stored == 50  # from host-a's cursor on: nothing re-read, nothing lost
    row = await cursor_row(kb_client)
    assert (row.holder, row.seq) == ("host-b", 350)
    assert await message_count(kb_client, "in") == 350
    # host-a comes back: it is the one that waits now.
    assert (await first.step()).state == "waiting"


async def test_a_puller_that_lost_its_lease_cannot_move_the_cursor(
    kb_client: Client, fake: FakeWeCom, clock: ManualClock, tmp_path: Path
) -> None:
    keys = keyring_for(tmp_path, [1])
    first = puller(kb_client.app, fake, keys, holder="host-a")
    second = puller(kb_client.app, fake, keys, holder="host-b")
    _texts(fake, 0, 10)
    assert (await first.step()).stored == 10
    clock.advance(31)
    _texts(fake, 10, 5)
    assert (await second.step()).stored == 5
    # host-a, stalled past its lease, tries to store a batch it read before: refused.
    async with kb_client.app[DB].begin() as session:
        with pytest.raises(cursor.LeaseLostError):
            await cursor.advance(session, first.name, holder="host-a", from_seq=10, to_seq=15,
                                 skipped=0, now=clock.now())  # fmt: skip
    assert (await cursor_row(kb_client)).seq == 15


async def test_a_clean_stop_hands_the_lease_over_at_once(
    kb_client: Client, fake: FakeWeCom, tmp_path: Path
) -> None:
    keys = keyring_for(tmp_path, [1])
    first = puller(kb_client.app, fake, keys, holder="host-a")
    second = puller(kb_client.app, fake, keys, holder="host-b")
    _texts(fake, 0, 3)
    assert (await first.step()).state == "pulled"
    await cursor.release(kb_client.app[DB], first.name, holder="host-a")
    _texts(fake, 3, 3)
    assert (await second.step()).stored == 3


async def test_an_sdk_error_shows_in_healthz_and_clears_on_the_next_good_pull(
    kb_client: Client, fake: FakeWeCom, tmp_path: Path
) -> None:
    p = puller(kb_client.app, fake, keyring_for(tmp_path, [1]))
    fake.archive.fail_next(10009)
    assert (await p.step()).state == "error"
    health = await (await kb_client.get("/healthz")).json()
    assert health["archive"]["error"]["code"] == 10009
    assert "可信 IP" in health["archive"]["error"]["message"]
    _texts(fake, 0, 1)
    assert (await p.step()).state == "pulled"
    health = await (await kb_client.get("/healthz")).json()
    assert health["archive"]["status"] == "ok"
    assert health["archive"]["seq"] == 1
    assert "error" not in health["archive"]


async def test_a_failed_lease_release_at_shutdown_does_not_fail_the_shutdown(
    db_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Releasing the lease is a courtesy (the lease runs out anyway). On a busy SQLite file it
    raised 'database is locked' out of the app's cleanup (a teardown error in CI)."""

    async def locked(*args: object, **kwargs: object) -> None:
        raise OperationalError("UPDATE archive_cursor", {}, Exception("database is locked"))

    settings = Settings(  # type: ignore[call-arg]
        sandbox=True, database_url=f"sqlite+aiosqlite:///{db_path}", inbox_sweep_interval=3600.0,
    )  # fmt: skip
    app = create_app(settings)
    runner = web.AppRunner(app)
    await runner.setup()
    assert app[process.PULLER] is not None  # the sandbox runs a puller
    monkeypatch.setattr(cursor, "release", locked)
    await runner.cleanup()  # no exception
    assert any("releasing the lease on shutdown failed" in r.getMessage()
               for r in caplog.records)  # fmt: skip
