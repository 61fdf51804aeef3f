"""`python -m bot db upgrade` says what it did, and needs no WeCom settings.

It always printed "数据库已是最新", even right after creating the schema.
"""

from __future__ import annotations

from pathlib import Path

from alembic.script import ScriptDirectory

from bot.core import migrate
from tests.cli import run_bot


def _previous(revision: str) -> str:
    script = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
    down = script.get_revision(revision).down_revision
    assert isinstance(down, str)
    return down


def test_upgrade_reports_created_upgraded_and_up_to_date(tmp_path: Path) -> None:
    head = migrate.head()
    # No WECOM_* and no sandbox: a release step has the database URL and nothing else.
    created = run_bot("db", "upgrade", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip() == f"已创建数据库结构 schema created (revision {head})"
    again = run_bot("db", "upgrade", cwd=tmp_path)
    assert again.stdout.strip() == f"数据库已是最新 already up to date (revision {head})"

    older = tmp_path / "older.db"
    url = f"sqlite+aiosqlite:///{older}"
    previous = _previous(head)
    migrate.upgrade(url, previous)
    upgraded = run_bot("db", "upgrade", cwd=tmp_path, DATABASE_URL=url)
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stdout.strip() == f"已升级数据库 upgraded from {previous} to {head}"
    assert upgraded.stderr == ""
