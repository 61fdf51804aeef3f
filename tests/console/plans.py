"""Query plans of the dashboard's SQL: record what a page runs, EXPLAIN each statement, and
name every full scan of a big table (SQLite EXPLAIN QUERY PLAN; PostgreSQL EXPLAIN with
sequential scans disabled, so only a query no index can serve still scans)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

# The tables that grow with customers and messages (100k customers, 1M messages in the bench).
BIG_TABLES = frozenset({
    "message", "follow_relation", "customer", "customer_tag", "followup", "escalation",
    "audit_log", "kb_miss", "outbox_effect", "inbox", "note", "customer_turn",
})  # fmt: skip
_SQLITE_SCAN = re.compile(r"^SCAN (\w+)")

Statement = tuple[str, Any]


@contextmanager
def recording(engine: AsyncEngine) -> Iterator[list[Statement]]:
    """Collect the SELECT statements run on the engine inside the block."""
    seen: list[Statement] = []

    def listener(conn: Any, cursor: Any, statement: str, params: Any, *rest: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            seen.append((statement, params))

    event.listen(engine.sync_engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", listener)


def _pg_seq_scans(node: dict[str, Any]) -> Iterator[str]:
    if node.get("Node Type") == "Seq Scan" and node.get("Relation Name") in BIG_TABLES:
        yield str(node["Relation Name"])
    for child in node.get("Plans", []):
        yield from _pg_seq_scans(child)


async def full_scans(engine: AsyncEngine, statements: list[Statement]) -> list[str]:
    """`table: statement` for each statement whose plan reads a whole big table."""
    found = []
    unique = {s: p for s, p in statements}  # one plan per distinct statement text
    async with engine.connect() as conn:
        postgres = engine.dialect.name == "postgresql"
        if postgres:
            await conn.exec_driver_sql("SET enable_seqscan = off")
        for statement, params in unique.items():
            if postgres:
                result = await conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, params)
                raw = result.scalar_one()
                plan = json.loads(raw) if isinstance(raw, str) else raw
                tables = list(_pg_seq_scans(plan[0]["Plan"]))
            else:
                result = await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params)
                details = [str(row[-1]) for row in result]
                tables = [m.group(1) for d in details if (m := _SQLITE_SCAN.match(d))]
            for table in tables:
                if table in BIG_TABLES:
                    found.append(f"{table}: {' '.join(statement.split())[:300]}")
        if postgres:
            await conn.exec_driver_sql("RESET enable_seqscan")
    return found
