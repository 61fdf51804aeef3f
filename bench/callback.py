"""Callback throughput and latency through the whole pipeline, beside a bare aiohttp handler.

Both servers run as separate processes on loopback; this process is the load generator. Each
request is a distinct, signed, encrypted app-text callback (so nothing is de-duplicated); the
server verifies, decrypts, parses, commits to the SQLite inbox, routes, answers passively with
an encrypted reply and marks the row done. Prints requests/s and p50/p99 for a closed loop at
full speed and for an open loop at a fixed 500 requests/s, and the ratios to the bare handler.

    python bench/callback.py [--requests 3000] [--concurrency 32] [--rate 500] [--seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.core import migrate  # noqa: E402
from bot.wecom.crypto import WeComCrypto  # noqa: E402

CORP_ID, TOKEN = "wwbench00000001", "benchtoken"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"

BARE = """
import sys
import uvloop
from aiohttp import web
async def ok(request):
    await request.read()
    return web.Response(body=b"")
app = web.Application()
app.router.add_post("/wecom/callback", ok)
app.router.add_get("/healthz", ok)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None,
            loop=uvloop.new_event_loop())
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_bodies(n: int, offset: int) -> list[tuple[str, bytes]]:
    """n distinct (query, body) callbacks, encrypted and signed like WeCom's."""
    crypto = WeComCrypto(TOKEN, AES_KEY, CORP_ID)
    out = []
    for i in range(n):
        msgid = str(7_000_000_000_000_000_000 + offset + i)
        plain = (
            f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName>"
            f"<FromUserName><![CDATA[rep{i % 50}]]></FromUserName>"
            f"<CreateTime>{1700000000 + i}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[你好 {i}]]></Content><MsgId>{msgid}</MsgId>"
            "<AgentID>1000002</AgentID></xml>"
        ).encode()
        encrypt = crypto.encrypt(plain)
        ts, nonce = str(1700000000 + i), str(100000 + i)
        query = (
            f"msg_signature={crypto.signature(ts, nonce, encrypt)}&timestamp={ts}&nonce={nonce}"
        )
        out.append((query, f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>".encode()))
    return out


async def start(cmd: list[str], env: dict[str, str], port: int) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        *cmd, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    async with aiohttp.ClientSession() as http:
        for _ in range(300):
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                    if resp.status == 200:
                        return proc
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError(f"{cmd} did not start")


async def post(http: aiohttp.ClientSession, url: str, item: tuple[str, bytes]) -> float:
    started = time.perf_counter()
    async with http.post(f"{url}?{item[0]}", data=item[1]) as resp:
        await resp.read()
        if resp.status != 200:
            raise RuntimeError(f"status {resp.status}")
    return time.perf_counter() - started


async def closed_loop(
    url: str, items: list[tuple[str, bytes]], concurrency: int
) -> dict[str, float]:
    latencies: list[float] = []
    queue = iter(items)
    conn = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=conn) as http:

        async def worker() -> None:
            for item in queue:
                latencies.append(await post(http, url, item))

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return summary(latencies, elapsed)


async def open_loop(url: str, items: list[tuple[str, bytes]], rate: float) -> dict[str, float]:
    latencies: list[float] = []
    conn = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=conn) as http:
        started = time.perf_counter()
        tasks = []
        for i, item in enumerate(items):
            delay = started + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(post(http, url, item)))
        latencies = list(await asyncio.gather(*tasks))
        elapsed = time.perf_counter() - started
    return summary(latencies, elapsed)


def summary(latencies: list[float], elapsed: float) -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        "rps": len(ordered) / elapsed,
        "p50_ms": statistics.median(ordered) * 1000,
        "p99_ms": ordered[int(len(ordered) * 0.99) - 1] * 1000,
    }


def show(name: str, s: dict[str, float]) -> None:
    print(
        f"  {name:<22} {s['rps']:8.0f} req/s   "
        f"p50 {s['p50_ms']:6.2f} ms   p99 {s['p99_ms']:6.2f} ms"
    )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--seconds", type=float, default=5)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-callback-"))
    db_url = f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
    migrate.upgrade(db_url)
    n_open = int(args.rate * args.seconds)
    warm = make_bodies(200, 0)
    closed = make_bodies(args.requests, 10_000)
    opened = make_bodies(n_open, 1_000_000)

    bare_port, app_port = free_port(), free_port()
    env = {
        **os.environ,
        "WECOM_CORP_ID": CORP_ID, "WECOM_AGENT_ID": "1000002", "WECOM_SECRET": "s",
        "WECOM_TOKEN": TOKEN, "WECOM_AES_KEY": AES_KEY, "DATABASE_URL": db_url,
        "SIDEKICK_SESSION_SECRET": "bench-session-secret-0123456789abcdef", "HOST": "127.0.0.1",
        "PORT": str(app_port), "SIDEKICK_LOG_LEVEL": "WARNING",
        "SIDEKICK_PUBLIC_URL": f"http://127.0.0.1:{app_port}",
        "WECOM_API_BASE": "http://127.0.0.1:9",  # the pipeline under test makes no API call
    }  # fmt: skip
    env.pop("SIDEKICK_SANDBOX", None)
    bare = await start([sys.executable, "-c", BARE, str(bare_port)], env, bare_port)
    app = await start([sys.executable, "-m", "bot"], env, app_port)
    try:
        results = {}
        for name, port in (("bare aiohttp handler", bare_port), ("sidekick pipeline", app_port)):
            url = f"http://127.0.0.1:{port}/wecom/callback"
            await closed_loop(url, warm, 8)
            results[name] = (
                await closed_loop(url, closed, args.concurrency),
                await open_loop(url, opened, args.rate),
            )
    finally:
        for proc in (bare, app):
            proc.terminate()
            await proc.wait()

    print(f"closed loop: {args.requests} requests, {args.concurrency} concurrent")
    for name, (c, _) in results.items():
        show(name, c)
    print(f"open loop: {args.rate:.0f} req/s for {args.seconds:.0f} s ({n_open} requests)")
    for name, (_, o) in results.items():
        show(name, o)
    bare_c, bare_o = results["bare aiohttp handler"]
    app_c, app_o = results["sidekick pipeline"]
    print(f"ratio pipeline/bare throughput: {app_c['rps'] / bare_c['rps']:.2f} (target >= 0.25)")
    print(f"pipeline p99 at {args.rate:.0f} req/s: {app_o['p99_ms']:.1f} ms (target < 50 ms)")


if __name__ == "__main__":
    asyncio.run(main())
