"""The real Finance SDK (pywecomarchive, the `archive` extra) loads and initialises here,
offline: its error codes become our log lines and /healthz status. The live Tencent service
is not reachable from tests; the SDK's proxy is a closed loopback port, so nothing leaves.

The SDK runs in its own process, as in production: it must be loaded before any other C++
extension (bot/archive/native.py), and this test process has loaded the matcher's already.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import sys
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from bot.archive import source as archive_source
from bot.archive.sdk import SdkSource
from bot.core.keys import DB
from bot.domain.archive_models import ArchiveCursor
from bot.sandbox import fake_archive
from tests import processes
from tests.archive.conftest import Client
from tests.conftest import make_settings

SUPPORTED = platform.system() == "Linux" and platform.machine() in ("x86_64", "aarch64")
SECRET = "archive-secret-0123456789abcdefghijklmnopq"
PROBE = """
import asyncio, json, sys
from bot.archive import native
assert native.preload() == "", "the SDK did not load"
from bot.archive.sdk import SdkSource
from bot.archive.source import ArchiveSDKError
from bot.core.settings import Settings

def settings(**extra):
    values = dict(corp_id="wwtestcorp000001", archive_secret=sys.argv[1],
                  archive_proxy=sys.argv[2], archive_timeout=2)
    return Settings(**(values | extra))

async def main():
    out = {}
    sdk = SdkSource(settings())
    try:
        await sdk.get_chat_data(0, 10)
    except ArchiveSDKError as exc:
        out["pull"] = [exc.code, exc.kind, exc.message]
    try:
        sdk.decrypt_data("k" * 32, "bm90IGEgbWVzc2FnZQ==")
    except ArchiveSDKError as exc:
        out["decrypt"] = [exc.code, exc.per_record]
    await sdk.close()
    for name, extra, path in (("empty", {"archive_secret": ""}, None),
                              ("nolib", {}, "/nonexistent/libWeWorkFinanceSdk_C.so")):
        try:
            SdkSource(settings(**extra), library_path=path)
        except ArchiveSDKError as exc:
            out[name] = [exc.code, exc.message]
    print(json.dumps(out, ensure_ascii=False))

asyncio.run(main())
"""


@pytest.fixture(autouse=True)
def _require_sdk() -> None:
    try:
        import pywecomarchive  # noqa: F401
    except ImportError:
        if SUPPORTED or os.environ.get("CI"):
            pytest.fail("pywecomarchive is missing: pip install -e '.[dev,archive]'")
        pytest.skip("Tencent's Finance SDK has no build for this platform")


def _closed_port() -> str:
    return f"http://127.0.0.1:{processes.free_port()}"


async def test_the_sdk_loads_and_maps_offline_errors_to_the_documented_messages() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", PROBE, SECRET, _closed_port(), cwd=str(processes.ROOT),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 0, err.decode()
    found = json.loads(out)
    assert found["pull"] == [10001, "network", archive_source.SDK_ERRORS[10001][1]]
    assert found["pull"][2].startswith("网络请求错误")
    assert found["decrypt"] == [10008, True]  # one record's error, not the service's
    assert found["empty"][0] == 10000
    assert "SIDEKICK_ARCHIVE_SECRET" in found["empty"][1]
    assert found["nolib"][0] == archive_source.LOAD_ERROR
    assert "pip install" in found["nolib"][1]


async def test_loading_the_sdk_too_late_is_refused_not_a_crash(
    db_path: Path, fake_server: TestServer
) -> None:
    settings = make_settings(db_path, fake_server, archive_secret=SECRET)
    with pytest.raises(archive_source.ArchiveSDKError) as caught:
        SdkSource(settings)  # this process has the matcher's C++ extension loaded
    assert caught.value.code == archive_source.LOAD_ERROR


async def test_the_archive_process_reports_the_sdk_error_in_its_log_and_healthz(
    kb_client: Client, fake_server: TestServer, db_path: Path, tmp_path: Path
) -> None:
    key = tmp_path / "archive_v1.pem"
    key.write_text(fake_archive.pem(1))
    port = processes.free_port()
    env = processes.production_env(
        str(fake_server.make_url("")).rstrip("/"), f"sqlite+aiosqlite:///{db_path}",
        SIDEKICK_PUBLIC_URL=f"http://127.0.0.1:{port}", SIDEKICK_ARCHIVE_SECRET=SECRET,
        SIDEKICK_ARCHIVE_KEYS=f"1:{key}", SIDEKICK_ARCHIVE_PROXY=_closed_port(),
        SIDEKICK_ARCHIVE_TIMEOUT="2", SIDEKICK_LOG_LEVEL="INFO",
    )  # fmt: skip
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "archive", env=env, cwd=str(processes.ROOT),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        for _ in range(600):
            async with kb_client.app[DB]() as session:
                code = await session.scalar(select(ArchiveCursor.error_code))
            if code is not None or proc.returncode is not None:
                break
            await asyncio.sleep(0.05)
    finally:
        await processes.stop(proc)
    log = (await proc.stderr.read()).decode() if proc.stderr else ""
    assert code == 10001, log
    assert "GetChatData failed code=10001 kind=network: 网络请求错误" in log
    assert SECRET not in log
    assert "PRIVATE KEY" not in log
    health = await (await kb_client.get("/healthz")).json()
    assert health["ok"] is True  # the server is fine; the archive says what is wrong
    assert health["archive"]["status"] == "error"
    assert health["archive"]["error"]["code"] == 10001
    assert health["archive"]["error"]["message"].startswith("网络请求错误")
