"""Benchmark: callback receipt -> send_welcome_msg, with N concurrent add_external_contact events.

Runs the real app (SQLite file, in-process cache) and the fake WeCom on loopback, seeds the
demo channels and templates, then fires N signed callbacks at once and reads, for each
WelcomeCode, when the fake received send_welcome_msg. Prints p50/p99/max in milliseconds and
the inbox rows by status (everything behind the welcome must have finished too).

    .venv/bin/python bench/welcome.py [--n 100] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

from aiohttp import web
from pydantic import SecretStr

from bot.app import create_app
from bot.core import migrate
from bot.core.settings import Settings
from bot.sandbox import demo
from bot.sandbox.fake import FakeWeCom

CORP, SECRET, TOKEN = "wwbench000000001", "bench-secret", "benchtoken"
AES = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
AGENT = 1000002


async def _serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


async def _round(fake: FakeWeCom, url: str, n: int, tag: str) -> list[float]:
    """Fire n adds at once; latency (ms) from just before each POST to its welcome call."""
    started: dict[str, float] = {}

    async def one(i: int) -> None:
        euid, code = f"wmB{tag}{i:04d}", f"WC{tag}{i:04d}"
        fake.add_contact(euid, name=f"客户{i}", follow_user=["zhangsan"], state="douyin")
        xml = fake.xml_add_external_contact("zhangsan", euid, "douyin", code)
        started[code] = time.time()
        status, _ = await fake.post_callback(url, xml)
        assert status == 200, status

    await asyncio.gather(*(one(i) for i in range(n)))
    welcomed = {
        c["json"]["welcome_code"]: datetime.fromisoformat(c["at"]).timestamp()
        for c in fake.calls_to("externalcontact/send_welcome_msg")
    }
    missing = [code for code in started if code not in welcomed]
    if missing:
        raise SystemExit(f"{len(missing)} welcomes never sent")
    return [(welcomed[code] - t0) * 1000 for code, t0 in started.items()]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def main(n: int, rounds: int) -> None:
    """Set everything up, run the rounds, print the figures."""
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        await asyncio.to_thread(migrate.upgrade, url)
        fake = FakeWeCom(corp_id=CORP, secret=SECRET, token=TOKEN, aes_key=AES, agent_id=AGENT)
        fake_runner, fake_url = await _serve(fake.app)
        settings = Settings(  # type: ignore[call-arg]
            corp_id=CORP, agent_id=AGENT, secret=SecretStr(SECRET), token=SecretStr(TOKEN),
            aes_key=SecretStr(AES),
            database_url=url, wecom_api_base=fake_url, inbox_sweep_interval=3600.0,
        )  # fmt: skip
        app = create_app(settings)
        app.on_startup.append(_seed)
        runner, base = await _serve(app)
        callback = f"{base}/wecom/callback"
        try:
            await _round(fake, callback, 5, "warm")
            for r in range(rounds):
                await _quiet(app)
                fake.calls.clear()
                lat = await _round(fake, callback, n, f"r{r}")
                print(
                    f"round {r + 1}: n={n} p50={statistics.median(lat):.1f} ms "
                    f"p99={_pct(lat, 0.99):.1f} ms max={max(lat):.1f} ms"
                )
            await _quiet(app)
            print(f"inbox rows by status: {await _inbox(app)}")
        finally:
            await runner.cleanup()
            await fake_runner.cleanup()


async def _quiet(app: web.Application) -> None:
    """Wait until the previous round's tails (fetch, tags, remark) are done."""
    from bot.core.keys import TASKS

    if app[TASKS]:
        await asyncio.wait(set(app[TASKS]))


async def _inbox(app: web.Application) -> dict[str, int]:
    from bot.core.keys import DB
    from bot.inbound import inbox

    async with app[DB]() as session:
        return await inbox.counts(session)


async def _seed(app: web.Application) -> None:
    from bot.core.keys import DB
    from bot.domain import channels

    async with app[DB].begin() as session:
        await channels.store(session, channels.read_file(demo.DEMO_CHANNELS))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.n, args.rounds))
