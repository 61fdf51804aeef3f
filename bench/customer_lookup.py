"""What naming a customer in a command costs, by the size of the rep's book, beside baselines.

Every command that names a customer (/note, /follow, /tag, /escalate, ...) resolves it with
`lookup.resolve`, which loads every active relation of the rep with its customer as ORM
objects (`lookup.visible`) and matches in Python; /find does the same through
`lookup.search`. This times them in-process on the callback bench's seeded SQLite corp
(aiosqlite, the app's engine settings), at 200 and 1,000 customers per rep, beside two
baselines in the same process: the same rows as plain columns, and the exact-name match done
in SQL. CPU time per call (process time: the loop and the SQLite thread), a new session each.

    .venv/bin/python bench/customer_lookup.py [--sizes 200 1000] [--n 100]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import benchdb  # noqa: E402
from corpus import World  # noqa: E402

from bot.core import db  # noqa: E402
from bot.domain import lookup  # noqa: E402
from bot.domain.models import Customer, FollowRelation, Staff  # noqa: E402

Call = Callable[[AsyncSession], Awaitable[Any]]


async def cpu_ms(sessionmaker: Any, call: Call, n: int) -> float:
    """Mean CPU ms per call over n calls, after one warm-up call."""
    async with sessionmaker() as session:
        await call(session)
    started = time.process_time()
    for _ in range(n):
        async with sessionmaker() as session:
            await call(session)
    return (time.process_time() - started) / n * 1000


async def size(per_rep: int, n: int, work: Path) -> list[tuple[str, float]]:
    """Timings for one book size."""
    url = f"sqlite+aiosqlite:///{work / f'lookup-{per_rep}.db'}"
    world = World.build(20, per_rep)
    await asyncio.to_thread(benchdb.prepare, url)
    await benchdb.seed(url, world)
    engine = db.create_engine(url)
    sessionmaker = db.create_sessionmaker(engine)
    async with sessionmaker() as session:
        viewer = await session.get(Staff, "rep03")
    assert viewer is not None
    name = next(c.name for c in world.customers if c.rep == "rep03")
    columns = (
        select(FollowRelation.external_userid, Customer.name, FollowRelation.remark,
               FollowRelation.userid, FollowRelation.description)
        .join(Customer, Customer.external_userid == FollowRelation.external_userid)
        .where(FollowRelation.status == "active", FollowRelation.userid == "rep03")
        .order_by(FollowRelation.added_at.desc(), FollowRelation.id.desc())
    )  # fmt: skip
    exact = columns.where(Customer.name == name)

    async def rows(session: AsyncSession, query: Any) -> None:
        (await session.execute(query)).all()

    calls: list[tuple[str, Call]] = [
        ("lookup.visible (ORM objects)", lambda s: lookup.visible(s, viewer)),
        ("lookup.resolve by exact name", lambda s: lookup.resolve(s, viewer, name)),
        ("lookup.search 'VIP' (/find)", lambda s: lookup.search(s, viewer, "VIP")),
        ("baseline: same rows, columns", lambda s: rows(s, columns)),
        ("baseline: exact name in SQL", lambda s: rows(s, exact)),
        ("baseline: session.get(Staff)", lambda s: s.get(Staff, "rep03")),
    ]
    out = [(label, await cpu_ms(sessionmaker, call, n)) for label, call in calls]
    await engine.dispose()
    return out


async def main(sizes: list[int], n: int) -> None:
    """Every size, printed with ratios to the column baseline."""
    work = Path(tempfile.mkdtemp(prefix="bench-lookup-"))
    print(f"CPU ms per call, mean of {n}, SQLite (aiosqlite), 20 reps; files in {work}")
    for per_rep in sizes:
        timings = await size(per_rep, n, work)
        base = dict(timings)["baseline: same rows, columns"]
        print(f"\n{per_rep} customers per rep")
        for label, ms in timings:
            print(f"  {label:<32} {ms:8.2f} ms  {ms / base:6.1f}x the column baseline")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 1000])
    parser.add_argument("--n", type=int, default=100)
    args = parser.parse_args()
    asyncio.run(main(args.sizes, args.n))
