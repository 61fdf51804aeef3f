"""Real server processes for the crash and multi-worker tests: start, wait for health, kill."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import aiohttp

from tests import conftest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def production_env(api_base: str, database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a production-mode server talking to a fake WeCom at api_base."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("WECOM_", "SIDEKICK_"))}
    return {
        **base,
        "WECOM_CORP_ID": conftest.CORP_ID,
        "WECOM_AGENT_ID": str(conftest.AGENT_ID),
        "WECOM_SECRET": conftest.SECRET,
        "WECOM_TOKEN": conftest.TOKEN,
        "WECOM_AES_KEY": conftest.AES_KEY,
        "WECOM_API_BASE": api_base,
        "DATABASE_URL": database_url,
        "SIDEKICK_SESSION_SECRET": conftest.SESSION_SECRET,
        "SIDEKICK_LOG_LEVEL": "WARNING",
        "HOST": "127.0.0.1",
        **extra,
    }


async def wait_healthy(port: int, proc: asyncio.subprocess.Process, within: float = 30) -> None:
    """Poll /healthz until it answers 200; fail if the process exits first."""
    deadline = asyncio.get_running_loop().time() + within
    async with aiohttp.ClientSession() as http:
        while asyncio.get_running_loop().time() < deadline:
            if proc.returncode is not None:
                raise AssertionError(f"server on port {port} exited with {proc.returncode}")
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.05)
    proc.kill()
    raise AssertionError(f"server on port {port} did not start")


async def start(
    env: Mapping[str, str], port: int, args: Sequence[str] = ("-m", "bot")
) -> asyncio.subprocess.Process:
    """`python -m bot` (or args) with env on port; returns once it is healthy."""
    # Production needs its public origin (the OAuth redirect); here that is the port itself.
    own = {"SIDEKICK_PUBLIC_URL": f"http://127.0.0.1:{port}", **env, "PORT": str(port)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, *args, env=own, cwd=str(ROOT),
        stdout=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    await wait_healthy(port, proc)
    return proc


async def kill(proc: asyncio.subprocess.Process) -> None:
    """SIGKILL: no shutdown hook runs, as in a power cut or an OOM kill."""
    if proc.returncode is None:
        proc.send_signal(signal.SIGKILL)
    await proc.wait()


async def stop(proc: asyncio.subprocess.Process) -> None:
    """SIGTERM and wait (the graceful path)."""
    if proc.returncode is None:
        proc.terminate()
    await proc.wait()
