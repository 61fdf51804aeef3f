"""Command line: import/export the KB, ask a question, evaluate the matcher."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from knowledge import crossval, evaluation, importplan, io, matcher, store
from knowledge.demo import DEMO_EVAL_PATH, load_demo
from knowledge.errors import ImportValidationError, KnowledgeError, RowError
from knowledge.live import Snapshot
from knowledge.model import KnowledgeBase
from knowledge.report import cross_validated as crossval_report
from knowledge.report import single as single_report
from knowledge.tables import TABLES

DEFAULT_DB = "sqlite+aiosqlite:///data/sidekick.db"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m knowledge", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    db_help = f"database URL (default: $DATABASE_URL or {DEFAULT_DB})"
    imp = sub.add_parser("import", help="import a CSV/YAML/XLSX file into the database")
    imp.add_argument("file", type=Path)
    imp.add_argument("--db", default=None, help=db_help)
    imp.add_argument("--create-tables", action="store_true", help="create missing kb_ tables")
    exp = sub.add_parser("export", help="export the database KB to CSV/YAML/XLSX")
    exp.add_argument("file", type=Path)
    exp.add_argument("--db", default=None, help=db_help)
    exp.add_argument("--section", choices=sorted(TABLES), default="entries", help="CSV only")
    ask = sub.add_parser("ask", help="match one question: top 3 and rule hits")
    ask.add_argument("question")
    ask.add_argument("--kb", type=Path, default=None, help="KB file (default: the demo KB)")
    ev = sub.add_parser("eval", help="P@1, R@3 and auto-reply figures on labelled queries")
    ev.add_argument(
        "--kb",
        type=Path,
        default=None,
        help="KB file, e.g. kb.csv (default: the demo KB and its own test set)",
    )
    ev.add_argument(
        "queries",
        type=Path,
        nargs="?",
        default=None,
        help="CSV with columns query,expected_id (expected_id empty: out of scope)",
    )
    ev.add_argument(
        "--cv",
        type=int,
        default=0,
        metavar="K",
        help="grouped K-fold cross-validation by FAQ intent",
    )
    ev.add_argument(
        "--feedback",
        action="store_true",
        help="also the online figures, the KB learning from reps' confirmations",
    )
    ev.add_argument(
        "--review-every",
        type=int,
        default=evaluation.REVIEW_EVERY,
        metavar="N",
        help="with --feedback: a supervisor accepts the pending picks every N questions "
        f"(default {evaluation.REVIEW_EVERY}; 1: at once; 0: only a quorum of identical picks)",
    )
    ev.add_argument(
        "--misses",
        type=Path,
        default=None,
        help="recorded unanswered questions, one a line, for the calibration",
    )
    ev.add_argument(
        "--no-demo", action="store_true", help="leave out the demo KB's figures printed beside"
    )
    ev.add_argument("--json", action="store_true", help="print one JSON object")
    sub.add_parser("misses", help="the biggest groups of unanswered questions", add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit status."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["misses"]:
        from knowledge import misses

        return misses.main(args_list[1:])
    args = _parser().parse_args(args_list)
    try:
        if args.command == "import":
            return asyncio.run(_import(args.file, _db_url(args.db), args.create_tables))
        if args.command == "export":
            return asyncio.run(_export(args.file, _db_url(args.db), args.section))
        if args.command == "ask":
            return _ask(args.question, args.kb)
        return _eval(args)
    except ImportValidationError as exc:
        print(format_errors(exc.errors), file=sys.stderr)
        return 1
    except (KnowledgeError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (OperationalError, ProgrammingError) as exc:
        print(
            f"error: database: {exc.orig}\n(no knowledge tables? `python -m bot db upgrade` "
            "creates them, or pass --create-tables to import); nothing changed",
            file=sys.stderr,
        )
        return 1


# An import with more problems than this lists the first ones and counts the rest.
ERRORS_SHOWN = 50


def format_errors(errors: Sequence[RowError]) -> str:
    """The report of a failed import (nothing was written)."""
    lines = [f"导入失败，没有任何改动：共 {len(errors)} 处问题要改"]
    lines.extend(f"  {e}" for e in errors[:ERRORS_SHOWN])
    if len(errors) > ERRORS_SHOWN:
        lines.append(f"  ……另有 {len(errors) - ERRORS_SHOWN} 处")
    return "\n".join(lines)


def _db_url(url: str | None) -> str:
    url = url or os.environ.get("DATABASE_URL") or DEFAULT_DB
    if url.startswith("sqlite") and ":///" in url:
        Path(url.split(":///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
    return url


async def _import(path: Path, url: str, create_tables: bool) -> int:
    sections = io.read_sections(path, progress=True)
    rows = sum(len(items) for items in sections.values())
    engine = create_async_engine(url)
    try:
        if create_tables:
            from knowledge import misses  # noqa: F401 - registers kb_miss on KBBase

            async with engine.begin() as conn:
                await conn.run_sync(store.KBBase.metadata.create_all)
        if rows >= io.PROGRESS_MIN_ROWS:
            print(f"writing {rows} rows to the database ...", file=sys.stderr, flush=True)
        async with async_sessionmaker(engine).begin() as session:
            current = await store.load_kb(session)
            # The CLI replaces each section the file holds; say what that did to the stored one.
            plans = importplan.plan(current, sections)
            await store.replace_kb(session, importplan.apply(current, sections, "replace"))
    finally:
        await engine.dispose()
    counts = ", ".join(f"{name}: {len(items)}" for name, items in sections.items())
    print(f"imported {path} ({counts}); sections in the file replaced the stored ones:")
    print(importplan.describe(plans, "replace"))
    return 0


async def _export(path: Path, url: str, section: str) -> int:
    engine = create_async_engine(url)
    try:
        async with async_sessionmaker(engine)() as session:
            kb = await store.load_kb(session)
    finally:
        await engine.dispose()
    io.write_kb(path, kb, section=section)
    print(
        f"exported {len(kb.entries)} entries, {len(kb.quick_replies)} quick replies, "
        f"{len(kb.rules)} rules to {path}"
    )
    return 0


def _load(path: Path | None) -> KnowledgeBase:
    return load_demo() if path is None else io.read_kb(path, progress=True)


def _ask(question: str, kb_path: Path | None) -> int:
    snapshot = Snapshot.build(_load(kb_path))
    index, cal, engine = snapshot.index, snapshot.calibration, snapshot.rules
    analysis = index.analyse(question)
    print(f"as the index sees it: {analysis.text!r} (words: {' '.join(analysis.words) or '-'})")
    matches = index.match(question, limit=3)
    decision = matcher.decide(matches, query=question, rules=engine, calibration=cal)
    print(
        f"decision: {decision.action} (auto-reply at confidence >= {cal.auto_threshold}, "
        f"suggest at >= {cal.suggest_threshold})"
    )
    print(f"calibration: {cal.status}")
    if not matches:
        print("no entry matches")
    for rank, m in enumerate(matches, start=1):
        similar = m.matched_question != m.entry.question
        via = f" (similar of: {m.entry.question})" if similar else ""
        print(
            f"{rank}. [{m.entry.id}] score={m.score:.3f} coverage={m.coverage:.2f} "
            f"confidence={m.confidence:.3f} "
            f"{m.matched_question}{via}"
        )
    result = engine.scan(question)
    for hit in result.hits:
        print(f"rule [{hit.rule.id}] {hit.rule.name}: {hit.phrase!r} at {hit.span}")
    if not result.hits:
        print("rules: none fired")
    if result:
        print(
            f"actions: tags={list(result.tags)} special_care={result.special_care} "
            f"notify={result.notify} escalate={result.escalate}"
        )
        for caution in result.cautions:
            print(f"caution: {caution}")
    return 0


def _eval(args: argparse.Namespace) -> int:
    if args.kb is not None and args.queries is None:
        print("error: eval --kb needs the labelled queries file too", file=sys.stderr)
        return 2
    misses = (
        []
        if args.misses is None
        else [line.strip() for line in args.misses.read_text("utf-8").splitlines() if line.strip()]
    )
    if args.kb is None:
        kb, queries, title = load_demo(), evaluation.read_queries(DEMO_EVAL_PATH), "demo KB"
    else:
        kb, queries = _load(args.kb), evaluation.read_queries(args.queries)
        title = f"{args.kb.name} / {args.queries.name}"
    report: dict[str, Any]
    if args.cv:
        report = crossval.cross_validate(
            kb, queries, args.cv, feedback=args.feedback, review_every=args.review_every
        )
        text = crossval_report(report, f"{title}: grouped {args.cv}-fold cross-validation")
    else:
        report = _evaluate(kb, queries, misses, feedback=args.feedback,
                           review_every=args.review_every)
        text = single_report(report, title)
    if args.kb is not None and not args.no_demo:
        demo = _evaluate(
            load_demo(), evaluation.read_queries(DEMO_EVAL_PATH), [], feedback=args.feedback,
            review_every=args.review_every,
        )
        report["demo"] = demo
        text += "\n\n" + single_report(demo, "demo KB (another domain; its own test set)")
    print(json.dumps(report, ensure_ascii=False) if args.json else text)
    return 0


def _evaluate(
    kb: KnowledgeBase,
    queries: list[evaluation.LabelledQuery],
    misses: list[str],
    *,
    feedback: bool,
    review_every: int = evaluation.REVIEW_EVERY,
) -> dict[str, Any]:
    """Figures of one KB on its labelled queries, calibrated from the KB (and misses) only."""
    snapshot = Snapshot.build(kb, misses=misses)
    report = evaluation.evaluate(snapshot.index, queries, calibration=snapshot.calibration)
    if feedback:
        report.update(
            evaluation.online(kb, queries, snapshot=snapshot, review_every=review_every)
        )
    return report
