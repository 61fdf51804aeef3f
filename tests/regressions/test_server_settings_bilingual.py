"""Every settings error is one bilingual line naming the variable.

They mixed pydantic's English ("Value error, must be…", "Input should be a valid integer")
into the Chinese line, named by the Python field in some cases.
"""

from __future__ import annotations

import os
import re

import pytest

from bot.core.settings import load_settings

HAN = re.compile(r"[\u4e00-\u9fff]")
PYDANTIC = ("Input should", "Value error", "validation error", "type=")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("WECOM_", "SIDEKICK_")) or name in ("DATABASE_URL", "PORT", "HOST"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("SIDEKICK_SANDBOX", "1")


def _lines(monkeypatch: pytest.MonkeyPatch, **env: str) -> list[str]:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as stopped:
        load_settings()
    return str(stopped.value.code).splitlines()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PORT", "abc"),
        ("PORT", "99999"),
        ("PORT", "80.5"),
        ("WECOM_AGENT_ID", "x1"),
        ("SIDEKICK_SANDBOX", "maybe"),
        ("SIDEKICK_REPLY_BUDGET", "9"),
        ("SIDEKICK_INBOX_LEASE", "0"),
        ("SIDEKICK_INBOX_SWEEP", "soon"),
        ("SIDEKICK_INBOX_MAX_ATTEMPTS", "0"),
        ("WECOM_AES_KEY", "short"),
        ("SIDEKICK_LOG_LEVEL", "verbose"),
        ("SIDEKICK_TIMEZONE", "Mars/Base"),
        ("DATABASE_URL", "nonsense"),
        ("DATABASE_URL", "postgres://u@127.0.0.1/db"),
        ("SIDEKICK_PUBLIC_URL", "sidekick.example.com"),
    ],
)
def test_each_error_is_one_bilingual_line(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    lines = _lines(monkeypatch, **{name: value})
    assert len(lines) == 1, lines
    line = lines[0]
    assert line.startswith(f"配置错误 config error: {name}: "), line
    message = line.split(f"{name}: ", 1)[1]
    assert HAN.search(message.split("(")[0]), line  # Chinese first
    assert re.search(r"\([A-Za-z][^()]*\)$", message), line  # then English, in parentheses
    assert not any(word in line for word in PYDANTIC), line


def test_several_bad_variables_give_one_line_each(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = _lines(monkeypatch, PORT="x", SIDEKICK_LOG_LEVEL="loud")
    assert [line.split(": ")[1] for line in lines] == ["PORT", "SIDEKICK_LOG_LEVEL"]


def test_missing_production_settings_are_bilingual(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SIDEKICK_SANDBOX")
    (line,) = _lines(monkeypatch)
    assert line.startswith("配置错误 config error: WECOM_CORP_ID: 未设置")
    assert "(required, or set SIDEKICK_SANDBOX=1 for the sandbox)" in line
