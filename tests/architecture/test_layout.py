"""The layout holds: production never loads the fake WeCom; the import contracts are checked."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests import conftest

ROOT = Path(__file__).resolve().parents[2]

_PROBE = """
import sys
from bot.app import create_app
from bot.core.settings import Settings
create_app(Settings(**{kwargs}))
print(sorted(m for m in sys.modules if m == "bot.sandbox" or m.startswith("bot.sandbox.")))
"""


def _loaded_sandbox_modules(**kwargs: object) -> list[str]:
    code = _PROBE.format(kwargs=repr(kwargs))
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return list(eval(done.stdout.strip().splitlines()[-1]))  # noqa: S307 - our own output


def test_production_app_imports_no_sandbox_module(tmp_path: Path) -> None:
    production = {
        "corp_id": conftest.CORP_ID, "agent_id": conftest.AGENT_ID, "secret": conftest.SECRET,
        "token": conftest.TOKEN, "aes_key": conftest.AES_KEY,
        "session_secret": conftest.SESSION_SECRET,
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}",
    }  # fmt: skip
    assert _loaded_sandbox_modules(**production) == []


def test_sandbox_app_does_load_the_fake(tmp_path: Path) -> None:
    # The probe above would pass vacuously if it could not see sandbox modules at all.
    loaded = _loaded_sandbox_modules(
        sandbox=True, database_url=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    )
    assert "bot.sandbox.fake" in loaded


def test_import_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-2000:]
    assert "layers" in done.stdout
    assert "BROKEN" not in done.stdout
