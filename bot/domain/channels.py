"""Channels (活码 state -> name, tags, template, remark) and welcome templates as data.

Imported from YAML (both sections) or CSV (one section, told apart by its header), validated
row by row; `python -m bot.domain.channels import FILE` loads a file into the database.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import db
from bot.domain import welcome
from bot.domain.models import Channel, WelcomeTemplate

logger = logging.getLogger(__name__)

SCOPES = ("state", "user", "department", "default")
STATE_MAX = 30  # WeCom's limit on a 联系我 state
TAG_MAX = 30
TEXT_MAX_BYTES = 4000
Row = dict[str, Any]


class ChannelImportError(Exception):
    """A channels/templates file has invalid rows; nothing was stored."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass
class ChannelData:
    """Validated templates and channels, ready to store."""

    templates: list[Row] = field(default_factory=list)
    channels: list[Row] = field(default_factory=list)


def _items(value: Any) -> list[str]:
    if isinstance(value, str):
        return [v.strip() for v in value.split("|") if v.strip()]
    return [str(v).strip() for v in value or [] if str(v).strip()]


def _template(row: Row, where: str, errors: list[str]) -> Row:
    scope = str(row.get("scope") or "default").strip()
    target = str(row.get("target") or "").strip()
    text = str(row.get("text") or "")
    attachments = row.get("attachments") or []
    if isinstance(attachments, str):
        try:
            attachments = json.loads(attachments) if attachments.strip() else []
        except ValueError:
            errors.append(f"{where}: attachments must be a JSON list")
            attachments = []
    if not str(row.get("id") or "").strip():
        errors.append(f"{where}: id is required")
    if scope not in SCOPES:
        errors.append(f"{where}: scope must be one of {', '.join(SCOPES)}")
    if scope != "default" and not target:
        errors.append(f"{where}: target is required for scope {scope}")
    if len(text.encode()) > TEXT_MAX_BYTES:
        errors.append(f"{where}: text is longer than {TEXT_MAX_BYTES} bytes")
    if not isinstance(attachments, list) or len(attachments) > welcome.ATTACHMENTS_MAX:
        errors.append(f"{where}: attachments must be a list of at most 9")
        attachments = []
    for n, item in enumerate(attachments, start=1):
        if not isinstance(item, dict) or welcome.wecom_attachment(item) is None:
            errors.append(f"{where}: attachment {n} lacks what its kind needs")
    if not text.strip() and not attachments:
        errors.append(f"{where}: text or attachments required")
    enabled = row.get("enabled", True) not in (False, "false", "0", "否")
    return {"id": str(row.get("id") or "").strip(), "scope": scope,
            "target": "" if scope == "default" else target, "text": text,
            "attachments": attachments, "enabled": enabled}  # fmt: skip


def _channel(row: Row, where: str, errors: list[str]) -> Row:
    state = str(row.get("state") or "").strip()
    tags = _items(row.get("tags"))
    if not state or len(state) > STATE_MAX:
        errors.append(f"{where}: state is required, at most {STATE_MAX} characters")
    if any(len(t) > TAG_MAX for t in tags):
        errors.append(f"{where}: tag names are at most {TAG_MAX} characters")
    return {"state": state, "name": str(row.get("name") or state), "tags": tags,
            "tag_group": str(row.get("tag_group") or "来源"),
            "template_id": str(row.get("template") or "").strip() or None,
            "remark": str(row.get("remark") or "")}  # fmt: skip


def parse(sections: dict[str, list[tuple[str, Row]]]) -> ChannelData:
    """Validate located rows of both sections; ChannelImportError lists every problem."""
    errors: list[str] = []
    data = ChannelData(
        templates=[_template(r, w, errors) for w, r in sections.get("templates", [])],
        channels=[_channel(r, w, errors) for w, r in sections.get("channels", [])],
    )
    pairs = (("template", "id", data.templates), ("channel", "state", data.channels))
    for kind, key, rows in pairs:
        seen = [r[key] for r in rows]
        twice = sorted({k for k in seen if seen.count(k) > 1})
        errors.extend(f"duplicate {kind} {k!r}" for k in twice)
    if errors:
        raise ChannelImportError(errors)
    return data


def read_file(path: Path) -> ChannelData:
    """Parse a YAML (templates + channels) or CSV (either one) file."""
    if path.suffix.lower() == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            section = "channels" if "state" in (reader.fieldnames or []) else "templates"
            rows = [(f"{path.name}:{n}", dict(r)) for n, r in enumerate(reader, start=2)]
        return parse({section: rows})
    loaded = yaml.safe_load(path.read_text("utf-8")) or {}
    if not isinstance(loaded, dict):
        raise ChannelImportError([f"{path.name}: expected a mapping with templates/channels"])
    return parse({
        name: [(f"{path.name}:{name}[{n}]", r) for n, r in enumerate(loaded.get(name) or [], 1)
               if isinstance(r, dict)]
        for name in ("templates", "channels")
    })  # fmt: skip


async def store(session: AsyncSession, data: ChannelData) -> tuple[int, int]:
    """Upsert templates then channels (by id / state); returns how many of each."""
    for row in data.templates:
        await session.merge(WelcomeTemplate(**row))
    await session.flush()
    known = set(await session.scalars(select(WelcomeTemplate.id)))
    missing = [c["template_id"] for c in data.channels if c["template_id"] not in known | {None}]
    if missing:
        raise ChannelImportError([f"unknown template {t!r}" for t in missing])
    for row in data.channels:
        await session.merge(Channel(**row))
    await session.flush()
    return len(data.templates), len(data.channels)


async def _import(path: Path, url: str) -> int:
    try:
        data = read_file(path)
    except (ChannelImportError, OSError, yaml.YAMLError) as exc:
        sys.stderr.write(f"导入失败 import failed:\n{exc}\n")
        return 1
    engine = db.create_engine(url)
    try:
        async with db.create_sessionmaker(engine).begin() as session:
            templates, channels = await store(session, data)
    except ChannelImportError as exc:
        sys.stderr.write(f"导入失败 import failed:\n{exc}\n")
        return 1
    finally:
        await engine.dispose()
    sys.stdout.write(f"已导入 imported: {templates} templates, {channels} channels\n")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m bot.domain.channels import FILE [--db URL]`."""
    parser = argparse.ArgumentParser(prog="python -m bot channels")
    sub = parser.add_subparsers(dest="command", required=True)
    imp = sub.add_parser("import", help="import channels / welcome templates (YAML or CSV)")
    imp.add_argument("file", type=Path)
    default = os.environ.get("DATABASE_URL", "sqlite+aiosqlite:///data/sidekick.db")
    imp.add_argument("--db", default=default, help="database URL (default: $DATABASE_URL)")
    args = parser.parse_args(argv)
    return asyncio.run(_import(args.file, args.db))


if __name__ == "__main__":
    raise SystemExit(main())
