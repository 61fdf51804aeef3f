"""SQL statements, commits and WeCom calls per callback kind, counted one callback at a time.

Where bench/callback.py says how much CPU each kind of callback costs under load, this says
what it does: the app runs in this process (create_app, production settings, the seeded
SQLite corp of the callback bench) against the standalone fake (bench/fake_wecom.py, its own
process). Each callback is posted alone, then the handler's tail and the outbox are drained
(`Sender.settle`), and what the process did meanwhile is counted: statements by verb,
commits, the process's CPU time (the app, its SQLite thread and the posting client) and
wall time; calls to the fake by path per kind. The drain's own last claim (one UPDATE, one
commit) is included. No load: this is per-callback work only.

    .venv/bin/python bench/statements.py [--n 30]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import secrets
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from pydantic import SecretStr
from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import benchdb  # noqa: E402
import harness  # noqa: E402
from corpus import AES_KEY, AGENT_ID, CORP_ID, MIX, SECRET, TOKEN, Forge, Mixer, World  # noqa: E402

from bot.app import create_app  # noqa: E402
from bot.core.keys import ENGINE, OUTBOX, TASKS  # noqa: E402
from bot.core.settings import Settings  # noqa: E402


class Tally:
    """Statements by verb and commits on one engine."""

    def __init__(self) -> None:
        self.verbs: Counter[str] = Counter()
        self.commits = 0

    def statement(self, conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        """before_cursor_execute listener."""
        self.verbs[statement.lstrip().split(None, 1)[0].upper()] += 1

    def commit(self, conn: Any) -> None:
        """commit listener."""
        self.commits += 1


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    """Serve app on a free loopback port; (runner, base URL)."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


async def main(n: int) -> None:
    """Seed, start, post each kind n times, print the averages."""
    logging.basicConfig(level=logging.WARNING)
    work = Path(tempfile.mkdtemp(prefix="bench-statements-"))
    url = f"sqlite+aiosqlite:///{work / 'bench.db'}"
    world = World.build(20, 200)
    mixer = Mixer(world, Forge())
    created = int(time.time()) + 3600
    warm = mixer.build(mixer.kinds(100), created)
    batches = {kind: mixer.build([kind] * n, created) for kind, _ in MIX}
    await asyncio.to_thread(benchdb.prepare, url)
    await benchdb.seed(url, world)
    world.write_fake_seed(work / "fake-seed.json")
    fake, api = harness.start_fake(work / "fake-seed.json", work / "fake.log")
    settings = Settings(
        corp_id=CORP_ID, agent_id=AGENT_ID, secret=SecretStr(SECRET), token=SecretStr(TOKEN),
        aes_key=SecretStr(AES_KEY), database_url=url, wecom_api_base=api,
        session_secret=SecretStr(secrets.token_urlsafe(36)),
    )  # fmt: skip
    app = create_app(settings)
    tally = Tally()

    async def hook(app: web.Application) -> None:
        event.listen(app[ENGINE].sync_engine, "before_cursor_execute", tally.statement)
        event.listen(app[ENGINE].sync_engine, "commit", tally.commit)

    app.on_startup.append(hook)
    runner, base = await serve(app)
    rows = []
    try:
        async with aiohttp.ClientSession() as http:

            async def one(target: str, body: str) -> None:
                async with http.post(base + target, data=body) as resp:
                    await resp.read()
                    assert resp.status == 200, resp.status
                tasks = app[TASKS]
                while tasks:
                    await asyncio.wait(list(tasks))
                await app[OUTBOX].settle()

            for cb in warm:
                await one(cb.target, cb.body)
            for kind, callbacks in batches.items():
                verbs: Counter[str] = Counter()
                commits, walls, cpus = 0, [], []
                before = await _fake_calls(http, api)
                for cb in callbacks:
                    tally.verbs.clear()
                    tally.commits = 0
                    started, cpu = time.perf_counter(), time.process_time()
                    await one(cb.target, cb.body)
                    cpus.append((time.process_time() - cpu) * 1000)
                    walls.append((time.perf_counter() - started) * 1000)
                    verbs += tally.verbs
                    commits += tally.commits
                calls = await _fake_calls(http, api)
                calls.subtract(before)
                rows.append((kind, verbs, commits, +calls, cpus, walls))
    finally:
        await runner.cleanup()
        harness.stop(fake)
    _print(rows, n, work)


async def _fake_calls(http: aiohttp.ClientSession, api: str) -> Counter[str]:
    """Calls the fake answered so far, by path (any errcode)."""
    async with http.get(f"{api}/_bench/summary") as resp:
        summary = await resp.json()
    out: Counter[str] = Counter()
    for key, count in summary.items():
        out[key.removeprefix("cgi-bin/").split(" ")[0]] += count
    return out


Row = tuple[str, Counter[str], int, Counter[str], list[float], list[float]]


def _print(rows: list[Row], n: int, work: Path) -> None:
    print(
        f"\nper callback, averaged over {n} of each kind, posted one at a time with its "
        f"effects drained (SQLite, seeded corp of 20 reps x 200 customers; files in {work})"
    )
    print(f"  {'kind':<12} {'statements':>10} {'SELECT':>7} {'INSERT':>7} {'UPDATE':>7} "
          f"{'commits':>8} {'CPU ms':>7} {'wall ms':>8} {'WeCom':>6}  calls")  # fmt: skip
    for kind, verbs, commits, calls, cpus, walls in rows:
        total = sum(verbs.values())
        detail = ", ".join(f"{p} {c / n:.1f}" for p, c in calls.most_common())
        print(f"  {kind:<12} {total / n:10.1f} {verbs['SELECT'] / n:7.1f} "
              f"{verbs['INSERT'] / n:7.1f} {verbs['UPDATE'] / n:7.1f} {commits / n:8.1f} "
              f"{statistics.median(cpus):7.2f} {statistics.median(walls):8.2f} "
              f"{sum(calls.values()) / n:6.1f}  {detail}")  # fmt: skip
    print("  (medians for CPU and wall ms; BEGIN is implicit in SQLite, so a transaction shows "
          "as its commit; wall ms includes the fake's time for each call)")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=30, help="callbacks of each kind")
    asyncio.run(main(parser.parse_args().n))
