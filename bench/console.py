"""The operator console's pages over a big corp: 100,000 customers, 1,000,000 messages, 200 reps.

Generates the data (on SQLite, and on PostgreSQL with --pg URL), starts the product in-process
(sandbox WeCom), signs an admin and a supervisor in, then fetches each page --runs times and
prints p50 / p95 beside two baselines measured in the same process: a trivial console page
(the signed-out page: routing, headers, a template, no queries) and /healthz. Target: every
page p95 < 500 ms. Scale down with --scale 0.1 for a quick look.

    .venv/bin/python bench/console.py [--runs 20] [--scale 1.0] [--pg postgresql+asyncpg://…/bench_console]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import socket
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
# This file's name would shadow the console package: the bench folder goes last on the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))
sys.path.append(str(ROOT / "bench"))

from benchdb import prepare  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from bot.app import create_app  # noqa: E402
from bot.core import db, migrate  # noqa: E402
from bot.core.db import utcnow  # noqa: E402
from bot.core.keys import DB, SETTINGS  # noqa: E402
from bot.core.settings import Settings  # noqa: E402
from bot.domain.models import (  # noqa: E402
    AuditLog,
    Customer,
    Escalation,
    FollowRelation,
    Followup,
    Message,
    Staff,
)
from bot.sandbox import demo  # noqa: E402
from bot.web import session as sess  # noqa: E402
from console import auth  # noqa: E402
from knowledge.misses import KBMiss  # noqa: E402

TARGET_MS = 500
REPS, DEPARTMENTS = 200, 10
CHANNELS = ["douyin", "xiaohongshu", "store", "live", "ads", ""]
BATCH = 5_000
PAGES = [  # (who, label, url)
    ("boss", "dashboard, week, admin", "/console/"),
    ("boss", "dashboard, day, admin", "/console/?grain=day"),
    ("boss", "dashboard, month, admin", "/console/?grain=month"),
    ("sup02", "dashboard, week, supervisor (20 reps)", "/console/"),
    ("boss", "dashboard, week, one rep", "/console/?rep=rep007"),
    ("boss", "list: new customers, week", "/console/list/customers?kind=new"),
    ("boss", "list: customer messages, week", "/console/list/messages?kind=in"),
    ("boss", "list: first responses, week", "/console/list/responses"),
    ("boss", "list: overdue follow-ups", "/console/list/followups"),
    ("boss", "CSV: per-rep table, month", "/console/?grain=month&format=csv&table=reps"),
    ("boss", "staff and roles", "/console/staff"),
    ("boss", "audit log", "/console/audit"),
]
BASELINES = [("boss", "baseline: trivial console page", "/console/auth/signed-out"),
             ("boss", "baseline: /healthz", "/healthz")]  # fmt: skip


async def _insert(session: Any, model: Any, rows: list[dict[str, Any]]) -> None:
    for i in range(0, len(rows), BATCH):
        await session.execute(insert(model), rows[i : i + BATCH])


async def generate(url: str, scale: float) -> dict[str, int]:
    """The corp: staff in 10 departments, customers with one rep each, a year of messages."""
    rnd = random.Random(12)
    now = utcnow()
    year = 365 * 24 * 3600
    engine = db.create_engine(url)
    customers = int(100_000 * scale)
    messages_per = 10
    counts = {"customers": customers, "messages": 0}
    async with db.create_sessionmaker(engine).begin() as session:
        staff = [{"userid": f"rep{i:03d}", "name": f"员工{i}",
                  "departments": [2 + i % DEPARTMENTS], "role": "rep", "active": True,
                  "synced_at": now, "session_epoch": 0, "created_at": now}
                 for i in range(REPS)]  # fmt: skip
        staff.append({"userid": "sup02", "name": "二部主管", "departments": [2],
                      "role": "supervisor", "active": True, "synced_at": now,
                      "session_epoch": 0, "created_at": now})  # fmt: skip
        staff.append({"userid": "boss", "name": "老板", "departments": [1], "role": "admin",
                      "active": True, "synced_at": now, "session_epoch": 0, "created_at": now})
        await _insert(session, Staff, staff)
        custs, rels, msgs = [], [], []
        for c in range(customers):
            euid = f"wm{c:08d}"
            added = now - timedelta(seconds=rnd.random() * year)
            custs.append({"external_userid": euid, "name": f"客户{c}", "avatar": "",
                          "corp_name": "", "type": 1, "caution": "", "created_at": added,
                          "updated_at": added})  # fmt: skip
            status = rnd.choices(["active", "lost", "deleted"], [92, 6, 2])[0]
            ended = None if status == "active" else added + (now - added) * rnd.random()
            rels.append({"userid": f"rep{c % REPS:03d}", "external_userid": euid, "remark": "",
                         "description": "", "state": rnd.choice(CHANNELS), "add_way": 1,
                         "status": status, "added_at": added, "ended_at": ended,
                         "welcome": "queued", "welcome_code": ""})  # fmt: skip
            at = added
            for m in range(messages_per):
                source = "kf" if c % 3 == 0 else "archive"
                inbound = m % 2 == 0
                at = at + timedelta(seconds=rnd.expovariate(1 / (6 * 3600 if inbound else 900)))
                if at > now:
                    break
                auto = source == "kf" and inbound and rnd.random() < 0.45
                msgs.append({"source": source, "source_msgid": None,
                             "direction": "in" if inbound else "out", "external_userid": euid,
                             "userid": "" if source == "kf" else f"rep{c % REPS:03d}",
                             "open_kfid": "", "text": "请问什么时候发货" if inbound else "您好",
                             "matched_faq": None, "score": None, "auto_replied": auto,
                             "suggestions": [], "rule_hits": [],
                             "answered_at": at if source == "kf" and inbound else None,
                             "created_at": at})  # fmt: skip
        await _insert(session, Customer, custs)
        await _insert(session, FollowRelation, rels)
        for i in range(0, len(msgs), 200_000):
            await _insert(session, Message, msgs[i : i + 200_000])
        counts["messages"] = len(msgs)
        del msgs
        escalations = [{"external_userid": f"wm{rnd.randrange(customers):08d}",
                        "userid": f"rep{rnd.randrange(REPS):03d}", "reason": "客户投诉",
                        "source": "rep", "status": "open" if i % 3 else "resolved",
                        "assignee": "", "resolution": "", "notified_at": now,
                        "created_at": now - timedelta(hours=rnd.random() * 400)}
                       for i in range(int(5_000 * scale))]  # fmt: skip
        await _insert(session, Escalation, escalations)
        followups = [{"external_userid": f"wm{rnd.randrange(customers):08d}",
                      "userid": f"rep{rnd.randrange(REPS):03d}", "note": "回访",
                      "due_at": now + timedelta(hours=rnd.uniform(-300, 300)),
                      "done_at": None if i % 2 else now, "created_at": now - timedelta(days=20),
                      "reminded_at": now}
                     for i in range(int(20_000 * scale))]  # fmt: skip
        await _insert(session, Followup, followups)
        misses = [{"key": f"q{i}", "question": f"问题{i % 400}号能不能{i}", "count": 1 + i % 7,
                   "source": "kf", "first_at": now - timedelta(days=i % 30),
                   "last_at": now - timedelta(hours=i % 700), "resolved": False}
                  for i in range(int(3_000 * scale))]  # fmt: skip
        await _insert(session, KBMiss, misses)
        audits = [{"actor": f"rep{i % REPS:03d}", "action": "cmd:note", "target": "", "detail": {},
                   "result": "ok", "created_at": now - timedelta(minutes=i)}
                  for i in range(int(50_000 * scale))]  # fmt: skip
        await _insert(session, AuditLog, audits)
    await engine.dispose()
    return counts


# The customer turns come from the migration that creates their table, run over the generated
# messages as on a deployment upgraded with a year of history (then recording keeps them).
TURNS_REVISION = "fa678bd88dab"


def before_turns() -> str:
    """The revision the customer_turn migration follows."""
    return migrate.previous(TURNS_REVISION)


async def analyze(url: str) -> None:
    """Fresh planner statistics on PostgreSQL (the bench inserts everything at once)."""
    engine = db.create_engine(url)
    if engine.dialect.name == "postgresql":
        async with engine.connect() as conn:
            await conn.exec_driver_sql("ANALYZE")
    await engine.dispose()


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def measure(url: str, runs: int) -> list[tuple[str, float, float]]:
    """(label, p50 ms, p95 ms) per page, baselines first."""
    port = free_port()
    app = create_app(Settings(sandbox=True, port=port, database_url=url, log_level="WARNING"))
    # The fake's address book knows the generated org, so the directory sync keeps it active.
    fake = app[demo.FAKE]
    for i in range(REPS):
        fake.add_member(f"rep{i:03d}", f"员工{i}", [2 + i % DEPARTMENTS])
    fake.add_member("sup02", "二部主管", [2])
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    secret = app[SETTINGS].session_secret.get_secret_value()
    out = []
    try:
        await asyncio.sleep(1.0)  # start-up tasks (directory sync, KB calibration) settle
        cookies = {}
        for who in ("boss", "sup02"):
            async with app[DB]() as session:
                epoch = (await session.get(Staff, who)).session_epoch  # type: ignore[union-attr]
            cookies[who] = {auth.COOKIE: sess.new_session(secret, who, time.time(), epoch)[1]}
        for who, label, path in BASELINES + PAGES:
            async with aiohttp.ClientSession(cookies=cookies[who]) as http:
                times = []
                for n in range(runs + 2):
                    started = time.perf_counter()
                    async with http.get(f"http://127.0.0.1:{port}{path}",
                                        allow_redirects=False) as resp:  # fmt: skip
                        await resp.read()
                        if resp.status != 200:
                            raise SystemExit(f"{label}: HTTP {resp.status}")
                    if n >= 2:  # two warm-up fetches
                        times.append((time.perf_counter() - started) * 1000)
            times.sort()
            p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
            out.append((label, statistics.median(times), p95))
    finally:
        await runner.cleanup()
    return out


def report(backend: str, counts: dict[str, int], rows: list[tuple[str, float, float]]) -> int:
    """Print the table; 1 when a page misses the target."""
    base = rows[0][2]
    print(f"\n{backend}: {counts['customers']:,} customers, {counts['messages']:,} messages, "
          f"{REPS} reps")  # fmt: skip
    print(f"{'page':44} {'p50 ms':>8} {'p95 ms':>8} {'p95 / trivial':>14}")
    failed = 0
    for label, p50, p95 in rows:
        mark = "" if label.startswith("baseline") or p95 < TARGET_MS else "  FAILURE"
        failed += bool(mark)
        print(f"{label:44} {p50:8.1f} {p95:8.1f} {p95 / base:14.1f}{mark}")
    return 1 if failed else 0


async def run_one(url: str, runs: int, scale: float, backend: str, reuse: bool) -> int:
    """Generate (unless reusing a generated database), measure and report on one database."""
    if reuse:
        engine = db.create_engine(url)
        async with engine.connect() as conn:
            counts = {
                "customers": int((await conn.exec_driver_sql("SELECT count(*) FROM customer"))
                                 .scalar_one()),
                "messages": int((await conn.exec_driver_sql("SELECT count(*) FROM message"))
                                .scalar_one()),
            }  # fmt: skip
        await engine.dispose()
    else:
        await asyncio.to_thread(prepare, url, before_turns())
        started = time.perf_counter()
        counts = await generate(url, scale)
        print(f"{backend}: data generated in {time.perf_counter() - started:.0f} s", flush=True)
        started = time.perf_counter()
        await asyncio.to_thread(migrate.upgrade, url)
        await analyze(url)
        print(f"{backend}: customer turns backfilled in {time.perf_counter() - started:.0f} s",
              flush=True)  # fmt: skip
    return report(backend, counts, await measure(url, runs))


def main() -> int:
    """Run on SQLite (and PostgreSQL with --pg)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--pg", default="", help="a PostgreSQL URL (its database is recreated)")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--sqlite-file", default="", help="keep the SQLite database here")
    parser.add_argument("--reuse", action="store_true",
                        help="measure databases generated by an earlier run (--sqlite-file, --pg)")
    args = parser.parse_args()
    status = 0
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_sqlite:
            path = Path(args.sqlite_file) if args.sqlite_file else Path(tmp) / "console.db"
            url = f"sqlite+aiosqlite:///{path}"
            status |= asyncio.run(run_one(url, args.runs, args.scale, "SQLite", args.reuse))
        if args.pg:
            status |= asyncio.run(
                run_one(args.pg, args.runs, args.scale, "PostgreSQL", args.reuse)
            )
    return status


if __name__ == "__main__":
    raise SystemExit(main())
