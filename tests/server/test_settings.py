"""A missing or malformed setting stops start-up with one line naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bot.core.settings import Settings
from tests import conftest

GOOD = {
    "WECOM_CORP_ID": conftest.CORP_ID,
    "WECOM_AGENT_ID": "1000002",
    "WECOM_SECRET": "s",
    "WECOM_TOKEN": "t",
    "WECOM_AES_KEY": conftest.AES_KEY,
    "SIDEKICK_SESSION_SECRET": "x" * 32,
    "SIDEKICK_PUBLIC_URL": "https://sidekick.example.com",
}


def _run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("WECOM_", "SIDEKICK_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot", "check"],
        env={**base, **env, "DATABASE_URL": "sqlite+aiosqlite:///:memory:"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"WECOM_AES_KEY": "tooshort"}, "WECOM_AES_KEY"),
        ({"WECOM_AES_KEY": "!" * 43}, "WECOM_AES_KEY"),
        ({"WECOM_CORP_ID": ""}, "WECOM_CORP_ID"),
        ({"WECOM_SECRET": ""}, "WECOM_SECRET"),
        ({"WECOM_AGENT_ID": "abc"}, "WECOM_AGENT_ID"),
        ({"PORT": "99999"}, "PORT"),
    ],
)
def test_bad_setting_names_the_variable(change: dict[str, str], named: str) -> None:
    result = _run({**GOOD, **change})
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert named in lines[0]
    assert "Traceback" not in result.stderr


def test_complete_settings_start() -> None:
    result = _run(GOOD)
    assert result.returncode == 0, result.stderr


def test_sandbox_needs_no_credentials() -> None:
    settings = Settings(sandbox=True)
    settings.require_complete()
    assert settings.api_base.endswith("/sandbox/wecom")


def test_secrets_do_not_leak_in_repr() -> None:
    settings = Settings(**{k.lower(): v for k, v in {"token": "tok-123"}.items()})
    assert "tok-123" not in repr(settings)
