"""A sandbox server listening beyond loopback let anyone reach the sign-in stand-in and sign in
as any member, boss included (found by review). Sandbox mode now refuses a non-loopback HOST."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def _check(host: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("WECOM_", "SIDEKICK_"))}
    env = {**base, "SIDEKICK_SANDBOX": "1", "HOST": host,
           "DATABASE_URL": "sqlite+aiosqlite:///:memory:"}  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "bot", "check"], env=env, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20"])
def test_sandbox_refuses_to_listen_beyond_loopback(host: str) -> None:
    done = _check(host)
    assert done.returncode != 0
    (line,) = done.stderr.strip().splitlines()
    assert "HOST" in line
    assert "沙盒模式只能监听本机地址" in line


def test_sandbox_on_loopback_starts() -> None:
    done = _check("127.0.0.1")
    assert done.returncode == 0, done.stderr
