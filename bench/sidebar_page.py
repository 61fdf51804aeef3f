"""Sidebar page weight and speed in headless Chromium on loopback (a benchmark, not a test).

Starts the product in sandbox mode as its own process, signs a rep in through the OAuth
stand-in, adds one customer, then loads the sidebar page N times, each in a fresh browser
context ("cold": every byte fetched), and N times in one context ("warm": static files cached).
Prints, per mode, the median and p90 of first contentful paint and DOMContentLoaded (both from
navigation start), the time until the customer card shows the customer's name (JS-SDK handshake
plus API calls), and the JS+CSS bytes transferred. Targets: first render < 300 ms, JS+CSS < 100 KB.

    python bench/sidebar_page.py [--runs 20] [--chromium /usr/bin/chromium]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.sidebar.browser import CHROMIUM_ARGS  # noqa: E402

VIEWPORT: Any = {"width": 380, "height": 800}  # the chat toolbar's width
RENDER_TARGET_MS = 300
BYTES_TARGET = 100 * 1024

METRICS_JS = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const fcp = performance.getEntriesByName("first-contentful-paint")[0];
  const assets = performance.getEntriesByType("resource")
    .filter((r) => /\\.(js|css)(\\?|$)/.test(r.name));
  return {
    fcp: fcp ? fcp.startTime : null,
    dcl: nav.domContentLoadedEventEnd,
    transferred: assets.reduce((n, r) => n + r.transferSize, 0),
    decoded: assets.reduce((n, r) => n + r.decodedBodySize, 0),
    files: assets.map((r) => r.name.split("/").pop().split("?")[0]),
    html: nav.transferSize,
  };
}"""


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(workdir: Path, port: int) -> subprocess.Popen[bytes]:
    """`python -m bot` in sandbox mode on a fresh SQLite file."""
    env = os.environ | {
        "SIDEKICK_SANDBOX": "1",
        "PORT": str(port),
        "DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'bench.db'}",
        "SIDEKICK_LOG_LEVEL": "WARNING",
    }
    python = sys.executable
    subprocess.run([python, "-m", "bot", "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    return subprocess.Popen([python, "-m", "bot"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL)


async def wait_ready(base: str) -> None:
    """Poll /healthz until the server answers."""
    deadline = time.monotonic() + 60
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            try:
                async with http.get(base + "/healthz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise SystemExit("server did not start")


async def add_customer(base: str) -> str:
    """One customer for zhangsan, added the way the simulator does it."""
    async with aiohttp.ClientSession() as http:
        body = {"userid": "zhangsan", "name": "测速客户", "state": ""}
        async with http.post(base + "/sidebar/sandbox/api/customers", json=body) as resp:
            data: dict[str, Any] = await resp.json()
    return str(data["external_userid"])


async def load(page: Any, url: str) -> dict[str, Any]:
    """One navigation: its paint/DOM metrics, bytes, and when the customer card was filled."""
    started = time.perf_counter()
    await page.goto(url, wait_until="domcontentloaded")
    await page.locator("#c-name").filter(has_text="测速客户").wait_for()
    card_ms = (time.perf_counter() - started) * 1000
    await page.wait_for_load_state("load")
    metrics: dict[str, Any] = await page.evaluate(METRICS_JS)
    return metrics | {"card": card_ms}


async def cold_runs(browser: Any, signed_in: Any, url: str, runs: int) -> list[dict[str, Any]]:
    """Each load in a fresh browser context (empty caches), signed in with the same cookie."""
    out = []
    for _ in range(runs):
        context = await browser.new_context(storage_state=signed_in, viewport=VIEWPORT)
        out.append(await load(await context.new_page(), url))
        await context.close()
    return out


async def warm_runs(browser: Any, signed_in: Any, url: str, runs: int) -> list[dict[str, Any]]:
    """Repeated loads in one context (static files cached, as a rep reopening the sidebar)."""
    context = await browser.new_context(storage_state=signed_in, viewport=VIEWPORT)
    page = await context.new_page()
    await load(page, url)
    out = [await load(page, url) for _ in range(runs)]
    await context.close()
    return out


def summary(label: str, rows: list[dict[str, Any]]) -> tuple[float, int]:
    """Print one mode; returns (median FCP ms, max JS+CSS bytes transferred)."""

    def stat(key: str) -> str:
        values = sorted(float(r[key]) for r in rows if r[key] is not None)
        if not values:
            return "n/a"
        p90 = values[min(len(values) - 1, int(len(values) * 0.9))]
        return f"median {statistics.median(values):6.1f} ms   p90 {p90:6.1f} ms"

    fcp = statistics.median(float(r["fcp"] or r["dcl"]) for r in rows)
    transferred = max(int(r["transferred"]) for r in rows)
    print(f"{label} ({len(rows)} loads)")
    print(f"  first contentful paint   {stat('fcp')}")
    print(f"  DOMContentLoaded         {stat('dcl')}")
    print(f"  customer card rendered   {stat('card')}")
    files = ", ".join(rows[0]["files"])
    print(f"  JS+CSS transferred       {transferred / 1024:6.1f} KB"
          f"  (decoded {rows[0]['decoded'] / 1024:.1f} KB: {files})")  # fmt: skip
    print(f"  HTML transferred         {rows[0]['html'] / 1024:6.1f} KB")
    return fcp, transferred


async def run(args: argparse.Namespace) -> int:
    """Start everything, measure, print; exit status 1 when a target is missed."""
    from playwright.async_api import async_playwright

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp), port)
        try:
            await wait_ready(base)
            euid = await add_customer(base)
            page_url = f"{base}/sidebar/?" + urlencode(
                {"sbx_entry": "single_chat_tools", "sbx_contact": euid}
            )
            async with async_playwright() as driver:
                browser = await driver.chromium.launch(
                    executable_path=args.chromium, args=CHROMIUM_ARGS
                )
                context = await browser.new_context(viewport=VIEWPORT)
                page = await context.new_page()
                login = f"{base}/sidebar/auth/login?" + urlencode(
                    {"as": "zhangsan", "next": page_url.removeprefix(base)}
                )
                await page.goto(login)
                await page.locator("#c-name").filter(has_text="测速客户").wait_for()
                signed_in = await context.storage_state()
                await context.close()
                await warm_runs(browser, signed_in, page_url, 3)  # warm up the server
                cold = await cold_runs(browser, signed_in, page_url, args.runs)
                warm = await warm_runs(browser, signed_in, page_url, args.runs)
                await browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
    fcp, transferred = summary("cold (fresh browser context each load)", cold)
    summary("warm (same context, cached static files)", warm)
    ok = fcp < RENDER_TARGET_MS and transferred < BYTES_TARGET
    print(f"targets: first render < {RENDER_TARGET_MS} ms: {fcp:.0f} ms; "
          f"JS+CSS < {BYTES_TARGET // 1024} KB: {transferred / 1024:.1f} KB -> "
          f"{'OK' if ok else 'MISSED'}")  # fmt: skip
    return 0 if ok else 1


def main() -> None:
    """Parse arguments and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument(
        "--chromium", default=os.environ.get("SIDEKICK_CHROMIUM", "/usr/bin/chromium")
    )
    sys.exit(asyncio.run(run(parser.parse_args())))


if __name__ == "__main__":
    main()
