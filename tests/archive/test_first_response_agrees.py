"""/stats and the console's dashboard give the same first-response figures for the same period:
one definition (bot/domain/response_times.py), kept as the archive is pulled, late replies too."""

from __future__ import annotations

import time
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.core.keys import CLOCK, DB
from bot.domain import periods, response_times
from bot.domain.response_times import describe, percentile
from bot.sandbox.fake import FakeWeCom
from console import dashboard, fmt
from console import dashboard_data as data
from console.period import Period
from console.scope import Scope
from tests.archive.conftest import Client, keyring_for, puller
from tests.helpers import say

TZ = ZoneInfo("Asia/Shanghai")
ADMIN = Scope(reps=None, departments=None)


async def test_stats_and_the_dashboard_agree_on_first_response(
    kb_client: Client, fake: FakeWeCom, tmp_path: Path
) -> None:
    app = kb_client.app
    fake.add_member("boss", "老板", [1])
    now = int(time.time() * 1000)
    minute = 60_000
    archive = fake.archive
    a, b, c = "wmagree00001", "wmagree00002", "wmagree00003"
    archive.add_text(a, "alice", "在吗", msgid="a1", msgtime=now - 50 * minute)
    archive.add_text(a, "alice", "在吗？", msgid="a2", msgtime=now - 49 * minute)
    archive.add_text("alice", a, "在的", msgid="a3", msgtime=now - 40 * minute)  # 10 min
    archive.add_text(b, "alice", "发货了吗", msgid="b1", msgtime=now - 30 * minute)
    archive.add_text(b, "alice", "还没发吗", msgid="b2", msgtime=now - 20 * minute)
    archive.add_text("alice", b, "刚发", msgid="b3", msgtime=now - 10 * minute)
    archive.add_text(c, "alice", "有人吗", msgid="c1", msgtime=now - 5 * minute)  # unanswered
    pull = puller(app, fake, keyring_for(tmp_path, [1]))
    await pull.step()
    # Pulled later: a reply to b sent between their two questions (the wait was 5 minutes, and
    # b's second question is a turn of its own that the later reply answered in 10).
    archive.add_text("alice", b, "稍等", msgid="b4", msgtime=now - 25 * minute)
    await pull.step()

    start, end, _ = periods.parse_period("近2天", now=app[CLOCK].now(), tz=TZ)
    reply = await say(fake, "boss", "/stats 近2天")
    async with app[DB]() as db:
        waits = await response_times.waits(db, customers=None, start=start, end=end)
        figures = await dashboard.build(db, ADMIN, Period("day", start, end), app[CLOCK].now(), TZ)
        slowest = await data.slowest_turns(db, ADMIN, start, end, limit=data.LIST_MAX)
    answered = sorted(w for w in waits if w is not None)
    assert [round(w / 60) for w in answered] == [5, 10, 10]
    p50, p90 = percentile(answered, 0.5), percentile(answered, 0.9)
    line = f"首次响应：中位 {describe(p50)}\u3000P90 {describe(p90)}（3 次，1 次尚未回复）"
    assert line in reply
    kpis = {label: value for label, value, _ in figures["kpis"]}
    assert kpis["首次响应 p50"] == fmt.wait(p50)
    assert kpis["首次响应 p90"] == fmt.wait(p90)
    assert figures["unanswered"] == 1
    # The dashboard's first-response list: the same turns, unanswered first, then the slowest.
    listed = [(t.external_userid, None if t.wait is None else round(t.wait / 60)) for t in slowest]
    assert listed[0] == (c, None)
    assert sorted(listed[1:3]) == [(a, 10), (b, 10)]
    assert listed[3:] == [(b, 5)]
