"""SOP scheduler pass over a large corp: 100,000 customers, 20 rules, SQLite and PostgreSQL.

Seeds a corp (customers with last interactions spread over 90 days, relations to 50 reps,
tags, stage changes, follow-ups), stores 20 rules covering every trigger kind, then times
scheduler passes the way `handlers.sop.tick` runs them (run creation per rule, window
deferral, one batch of due steps), minus the WeCom tag check:

- the first pass: evaluation plus the catch-up (every customer whose silence or idleness
  started since the rules exist gets runs);
- steady passes: nothing new fires; this is the cost paid every `SIDEKICK_SOP_INTERVAL`.

Memory: Python's peak allocation during a pass (tracemalloc), and the process's peak RSS.
Baseline beside it: one `SELECT count(*)` over the customers (the floor of any full scan).

    .venv/bin/python bench/sop.py [--database postgresql+asyncpg://.../bench_sop] [--customers N]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import sys
import tempfile
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import benchdb  # noqa: E402

from bot.core import db  # noqa: E402
from bot.core.settings import Settings  # noqa: E402
from bot.domain.lifecycle_models import SopRun, StageChange  # noqa: E402
from bot.domain.models import (  # noqa: E402
    Customer,
    CustomerTag,
    FollowRelation,
    Followup,
    Staff,
    Tag,
)
from bot.domain.sop import rules as sop_rules  # noqa: E402
from bot.domain.sop import runs, triggers  # noqa: E402

REPS = 50
TAGS = ["高意向", "VIP", "老客户", "价格敏感", "沉默", "新客户-待跟进"]
CHUNK = 5000


def rule_set() -> list[dict[str, Any]]:
    """20 rules: every trigger kind, with and without conditions, 1-3 steps."""
    task = {"type": "task", "text": "{customer} 您好，这是{rep}"}
    notify = {"type": "notify", "to": "rep", "text": "客户 {customer}"}
    steps = [{"delay": 0, "actions": [task]},
             {"delay": "1d", "window": "09:00-21:00", "actions": [notify]},
             {"delay": "3d", "actions": [{"type": "mass", "text": "券"}]}]  # fmt: skip
    kinds: list[dict[str, Any]] = [
        {"kind": "added"}, {"kind": "tag_added", "tag": "高意向"},
        {"kind": "tag_added", "tag": "VIP"},
        {"kind": "tag_removed", "tag": "沉默"}, {"kind": "stage_entered", "stage": "报价阶段"},
        {"kind": "stage_entered", "stage": "已成交"}, {"kind": "silent", "days": 30},
        {"kind": "silent", "days": 60}, {"kind": "no_followup", "days": 3},
        {"kind": "no_followup", "days": 14}, {"kind": "followup_overdue"},
        {"kind": "replied", "rule": "r07"},
    ]  # fmt: skip
    conds = [{}, {"tags": ["VIP"]}, {"not_tags": ["老客户"]}, {"stages": ["意向明确"]},
             {"channels": ["douyin"]}]  # fmt: skip
    out = []
    for i in range(20):
        raw = {"id": f"r{i + 1:02d}", "name": f"规则{i + 1}", "trigger": kinds[i % len(kinds)],
               "conditions": conds[i % len(conds)], "steps": steps[: 1 + i % 3]}  # fmt: skip
        if raw["trigger"]["kind"] == "no_followup" and i % 2 == 0:
            raw["conditions"] = {"tags": ["高意向"]}
        out.append(sop_rules.validate(raw))
    return out


async def seed(url: str, customers: int) -> None:
    """The corp, inserted set-wise in chunks (fast), rules created 60 days ago."""
    engine = db.create_engine(url)
    now = db.utcnow()
    rnd = random.Random(13)
    sm = db.create_sessionmaker(engine)
    async with sm.begin() as session:
        await session.execute(insert(Staff), [
            {"userid": f"rep{r:02d}", "name": f"员工{r}", "departments": [2], "role": "rep",
             "active": True, "session_epoch": 0, "created_at": now} for r in range(REPS)
        ])  # fmt: skip
        await session.execute(insert(Tag), [
            {"id": f"t{i}", "group_id": "g", "group_name": "客户", "name": n, "order": i,
             "deleted": False} for i, n in enumerate(TAGS)
        ])  # fmt: skip
        await sop_rules.store(session, rule_set(), now=now - timedelta(days=60))
    for start in range(0, customers, CHUNK):
        ids = [f"wm{i:09d}" for i in range(start, min(customers, start + CHUNK))]
        async with sm.begin() as session:
            await session.execute(insert(Customer), [
                {"external_userid": e, "name": f"客户{e[-5:]}", "avatar": "", "corp_name": "",
                 "type": 1, "gender": 0, "unionid": "", "special_care": False, "caution": "",
                 "last_interaction_at": now - timedelta(minutes=rnd.randrange(90 * 1440)),
                 "created_at": now, "updated_at": now} for e in ids
            ])  # fmt: skip
            await session.execute(insert(FollowRelation), [
                {"userid": f"rep{rnd.randrange(REPS):02d}", "external_userid": e, "remark": "",
                 "description": "", "state": rnd.choice(["", "douyin", "store"]), "add_way": 1,
                 "status": "active", "welcome": "", "welcome_code": "",
                 "added_at": now - timedelta(days=rnd.randrange(1, 400))} for e in ids
            ])  # fmt: skip
            await session.execute(insert(CustomerTag), [
                {"external_userid": e, "tag_id": f"t{rnd.randrange(len(TAGS))}",
                 "added_by_kind": "rep", "added_by": "", "created_at":
                 now - timedelta(days=rnd.randrange(30))} for e in ids if rnd.random() < 0.4
            ])  # fmt: skip
            await session.execute(insert(StageChange), [
                {"external_userid": e, "from_stage": "初步了解", "to_stage": "报价阶段",
                 "by_kind": "rep", "by": "", "userid": "", "at": now - timedelta(days=2)}
                for e in ids if rnd.random() < 0.05
            ])  # fmt: skip
            await session.execute(insert(Followup), [
                {"external_userid": e, "userid": "rep00", "note": "回访",
                 "due_at": now - timedelta(hours=rnd.randrange(1, 200)),
                 "created_at": now - timedelta(days=rnd.randrange(20))}
                for e in ids if rnd.random() < 0.1
            ])  # fmt: skip
    await engine.dispose()


async def one_pass(sm: Any, settings: Settings) -> tuple[int, int, int]:
    """Run creation for every rule, window deferral, one batch of due steps."""
    now = db.utcnow()
    async with sm() as session:
        active = [r for r in await sop_rules.list_rules(session) if not r.paused]
    started = 0
    async with sm.begin() as session:
        for rule in active:
            started += await triggers.start_runs(session, settings, rule, now=now)
    async with sm.begin() as session:
        deferred = await runs.defer_closed(session, active, settings, now)
    async with sm.begin() as session:
        done = await runs.run_due(session, settings, active, now)
    return started, deferred, done


async def measure(url: str, passes: int) -> None:
    settings = Settings(database_url=url)
    engine = db.create_engine(url)
    sm = db.create_sessionmaker(engine)
    t0 = time.perf_counter()
    async with sm() as session:
        total = await session.scalar(select(func.count()).select_from(Customer))
    print(f"baseline: count(*) over {total} customers {1000 * (time.perf_counter() - t0):.0f} ms")
    for i in range(passes):
        t0 = time.perf_counter()
        started, deferred, done = await one_pass(sm, settings)
        took = time.perf_counter() - t0
        label = "first (catch-up)" if i == 0 else "steady"
        print(f"pass {i + 1} {label}: {took:.2f} s; runs started {started}, deferred "
              f"{deferred}, steps run {done}")  # fmt: skip
    # Memory apart: tracemalloc slows allocation-heavy code several times over.
    tracemalloc.start()
    await one_pass(sm, settings)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"steady pass, Python peak allocation {peak / 1e6:.1f} MB")
    async with sm() as session:
        pending = await session.scalar(select(func.count()).select_from(SopRun))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"sop_run rows: {pending}; process peak RSS {rss:.0f} MB")
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", default="")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--passes", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite+aiosqlite:///{tmp}/sop.db"
        benchdb.prepare(url)
        t0 = time.perf_counter()
        asyncio.run(seed(url, args.customers))
        print(f"{url.split('://')[0]}: seeded {args.customers} customers, 20 rules in "
              f"{time.perf_counter() - t0:.0f} s")  # fmt: skip
        asyncio.run(measure(url, args.passes))


if __name__ == "__main__":
    main()
