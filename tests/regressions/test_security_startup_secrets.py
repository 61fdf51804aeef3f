"""Production start-up refuses a guessable session secret or ingest token.

`require_complete` only checked that SIDEKICK_SESSION_SECRET was non-empty, so "x" or the
sandbox's public built-in secret (printed in bot/settings.py) signed real sessions: anyone could
forge a cookie for any userid. An unset SIDEKICK_INGEST_TOKEN keeps the endpoint disabled.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from bot.app import create_app
from bot.core import settings as settings_module
from bot.core.errors import ConfigError
from bot.core.settings import Settings
from tests import conftest

GOOD = {
    "corp_id": conftest.CORP_ID,
    "agent_id": conftest.AGENT_ID,
    "secret": "s",
    "token": "t",
    "aes_key": conftest.AES_KEY,
    "session_secret": "k" * 32,
    "public_url": "https://sidekick.example.com",
}
SANDBOX = Settings(sandbox=True)


def _settings(**change: object) -> Settings:
    return Settings(**{**GOOD, **change})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"session_secret": "x"}, "SIDEKICK_SESSION_SECRET"),
        ({"session_secret": "y" * 31}, "SIDEKICK_SESSION_SECRET"),
        ({"session_secret": SANDBOX.session_secret.get_secret_value()}, "SIDEKICK_SESSION_SECRET"),
        ({"ingest_token": "short"}, "SIDEKICK_INGEST_TOKEN"),
        ({"ingest_token": SANDBOX.ingest_token.get_secret_value()}, "SIDEKICK_INGEST_TOKEN"),
    ],
)
def test_weak_or_public_secrets_stop_production_start_up(
    change: dict[str, object], named: str
) -> None:
    with pytest.raises(ConfigError, match=named):
        _settings(**change).require_complete()


def test_strong_secrets_and_no_ingest_token_start() -> None:
    _settings().require_complete()
    _settings(ingest_token="t" * 24).require_complete()
    assert settings_module.MIN_SESSION_SECRET == 32


async def test_unset_ingest_token_disables_the_endpoint(
    db_path: Path, fake_server: TestServer, aiohttp_client: Any
) -> None:
    bare = await aiohttp_client(create_app(conftest.make_settings(db_path, fake_server,
                                                                  ingest_token="")))  # fmt: skip
    for header in ({}, {"Authorization": "Bearer "}, {"Authorization": "Bearer  "}):
        resp = await bare.post("/ingest/messages", data=b"{}", headers=header)
        assert resp.status == 401
