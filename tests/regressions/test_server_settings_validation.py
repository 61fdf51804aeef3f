"""A malformed DATABASE_URL, log level or time zone stops start-up with one line naming it.

They used to pass validation and fail later with a traceback (SQLAlchemy's NoSuchModuleError
for a Heroku-style postgres:// URL, logging's ValueError, a ZoneInfo error at first use).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATABASE_URL", "postgres://u@127.0.0.1/db"),
        ("DATABASE_URL", "sqlite:///data/x.db"),
        ("DATABASE_URL", "nonsense"),
        ("SIDEKICK_LOG_LEVEL", "verbose"),
        ("SIDEKICK_TIMEZONE", "Mars/Base"),
    ],
)
def test_bad_setting_stops_start_up_with_one_line(name: str, value: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WECOM_", "SIDEKICK_"))}
    env.pop("DATABASE_URL", None)
    env.update({"SIDEKICK_SANDBOX": "1", name: value, "PYTHONPATH": str(ROOT)})
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "db", "upgrade"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert name in lines[0]
    assert not (tmp_path / "data").exists()
