"""`python -m bot sop import FILE | export [-o FILE]`: SOP rules as YAML, in and out."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.core import db
from bot.core.errors import UsageError
from bot.domain.sop import rules


async def _import(path: Path, url: str) -> int:
    try:
        data = rules.read_file(path)
    except (UsageError, OSError) as exc:
        sys.stderr.write(f"导入失败 import failed: {getattr(exc, 'message', exc)}\n")
        return 1
    engine = db.create_engine(url)
    try:
        async with db.create_sessionmaker(engine).begin() as session:
            count = await rules.store(session, data, now=db.utcnow())
    finally:
        await engine.dispose()
    sys.stdout.write(f"已导入 imported: {count} SOP rules\n")
    return 0


async def _export(output: str, url: str) -> int:
    engine = db.create_engine(url)
    try:
        async with db.create_sessionmaker(engine)() as session:
            text = rules.to_yaml(await rules.list_rules(session))
    finally:
        await engine.dispose()
    if output:
        await asyncio.to_thread(Path(output).write_text, text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Import rules (created or updated by id) from YAML, or export them all."""
    parser = argparse.ArgumentParser(prog="python -m bot sop")
    sub = parser.add_subparsers(dest="command", required=True)
    default = os.environ.get("DATABASE_URL", "sqlite+aiosqlite:///data/sidekick.db")
    imp = sub.add_parser("import", help="import SOP rules from a YAML file")
    imp.add_argument("file", type=Path)
    exp = sub.add_parser("export", help="export every SOP rule as YAML")
    exp.add_argument("-o", "--output", default="", help="write to this file (default: stdout)")
    for cmd in (imp, exp):
        cmd.add_argument("--db", default=default, help="database URL (default: $DATABASE_URL)")
    args = parser.parse_args(argv)
    if args.command == "import":
        return asyncio.run(_import(args.file, args.db))
    return asyncio.run(_export(args.output, args.db))
