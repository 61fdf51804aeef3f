"""Lifecycle tests: the real app on the fake WeCom with an injected clock and the sandbox's
default SOP rules. Team: zhangsan, lisi (reps, department 2), lead1 (supervisor, department
2), boss (admin). The corp's time zone is chosen so that the test starts at 10:00 local time,
whatever the wall clock says (rows the app stamps with the wall clock stay consistent)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from bot.core.clock import ManualClock
from bot.core.keys import DB, WECOM
from bot.domain import channels, tags
from bot.domain.models import Staff
from bot.domain.sop import rules
from bot.sandbox import demo
from bot.sandbox.fake import FakeWeCom
from tests import helpers
from tests.conftest import make_settings

Client = TestClient[web.Request, web.Application]
LIBRARY = ["高意向", "VIP"]


def zone_at(now: datetime, hour: int) -> str:
    """An Etc/GMT zone in which `now` is `hour` o'clock (give or take the minutes)."""
    offset = (hour - now.hour) % 24
    if offset > 14:
        offset -= 24
    return "Etc/GMT" + (f"{-offset:+d}" if offset else "")


@pytest.fixture
def clock() -> ManualClock:
    """Starts at the wall clock's now (the app stamps some rows with the wall clock)."""
    return ManualClock(datetime.now(UTC))


@pytest.fixture
def overrides() -> dict[str, object]:
    """Extra settings of the app under test (a test module may override this fixture)."""
    return {}


@pytest.fixture
async def life(
    overrides: dict[str, object],
    db_path: Path,
    fake: FakeWeCom,
    fake_server: TestServer,
    clock: ManualClock,
    aiohttp_client: Callable[..., Awaitable[Client]],
) -> AsyncIterator[Client]:
    """The app with the default SOP rules (created 60 days ago), demo channels, a team."""
    settings = make_settings(
        db_path, fake_server, timezone=zone_at(clock.now(), 10), sop_interval=3600.0,
        scheduler_interval=3600.0, pool_daily_claims=2, **overrides,
    )  # fmt: skip
    app = create_app(settings, clock=clock)
    client = await aiohttp_client(app)
    fake.callback_url = str(client.make_url("/wecom/callback"))
    helpers.APPS[id(fake)] = app
    for dept, name in demo.DEMO_DEPARTMENTS:
        fake.add_department(dept, name)
    for userid, name, depts, position in demo.DEMO_MEMBERS:
        fake.add_member(userid, name, depts, position=position)
    async with app[DB].begin() as session:
        session.add_all([
            Staff(userid="zhangsan", name="张三", departments=[2], role="rep"),
            Staff(userid="lisi", name="李四", departments=[2], role="rep"),
            Staff(userid="lead1", name="刘主管", departments=[2], role="supervisor"),
            Staff(userid="boss", name="老板", departments=[1], role="admin"),
        ])  # fmt: skip
        await channels.store(session, channels.read_file(demo.DEMO_CHANNELS))
        data = rules.read_file(demo.DEMO_SOP_RULES)
        await rules.store(session, data, now=clock.now() - timedelta(days=60))
    await tags.ensure_tags(app[DB], app[WECOM], LIBRARY)
    await helpers.settle(app)
    fake.calls.clear()
    yield client
    helpers.APPS.pop(id(fake), None)


def api_paths(fake: FakeWeCom, since: int = 0) -> list[str]:
    """Recorded API paths without cgi-bin/ (token, address book and reads left out)."""
    skip = {"gettoken", "user/get", "externalcontact/get", "externalcontact/get_corp_tag_list"}
    out = [c["path"].removeprefix("cgi-bin/") for c in fake.calls[since:]]
    return [p for p in out if p not in skip]


def bodies(fake: FakeWeCom, path: str) -> list[dict[str, Any]]:
    """JSON bodies of the calls to one path."""
    return [c["json"] or {} for c in fake.calls_to(path)]
