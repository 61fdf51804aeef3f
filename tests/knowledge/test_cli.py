from __future__ import annotations

import json
from pathlib import Path

import pytest

from knowledge import cli, io
from knowledge.model import KnowledgeBase

EVAL_KEYS = {
    "p_at_1", "r_at_3", "auto_precision", "auto_coverage", "oos_auto_rate", "n_queries",
    "thresholds",
}


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    kb = tmp_path / "kb.csv"
    kb.write_text(
        "id,question,answer\nT1,下单后多久发货,A1\nT2,怎么申请退款,A2\nT3,茶叶怎样保存,A3\n",
        encoding="utf-8",
    )
    queries = tmp_path / "queries.csv"
    queries.write_text(
        "query,expected_id\n什么时候发货,T1\n如何退款,T2\n茶叶怎么存放,T3\n今天天气好吗,\n",
        encoding="utf-8",
    )
    return kb, queries


def test_eval_json_keys(files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    kb, queries = files
    assert cli.main(["eval", "--kb", str(kb), str(queries), "--json", "--feedback"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert EVAL_KEYS | {"online_p_at_1"} <= set(report)
    assert report["n_queries"] == 4
    assert report["p_at_1"] == 1.0
    assert set(report["thresholds"]) == {"auto_reply", "suggest"}


def test_eval_table(files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    kb, queries = files
    assert cli.main(["eval", "--kb", str(kb), str(queries)]) == 0
    out = capsys.readouterr().out
    assert "P@1" in out
    assert "online" not in out


def test_ask_prints_matches_and_rules(
    tmp_path: Path, kb: KnowledgeBase, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "kb.yaml"
    io.write_kb(path, kb)
    assert cli.main(["ask", "喝了过敏，想退钱", "--kb", str(path)]) == 0
    out = capsys.readouterr().out
    assert "1. [refund]" in out
    assert "rule [allergy]" in out
    assert "rule [refund]" in out


def test_ask_demo(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["ask", "怀孕可以用吗"]) == 0
    assert "rule [pregnant]" in capsys.readouterr().out


def test_import_export(tmp_path: Path, kb: KnowledgeBase) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    source = tmp_path / "in.yaml"
    io.write_kb(source, kb)
    assert cli.main(["import", str(source), "--db", db, "--create-tables"]) == 0
    out = tmp_path / "out.xlsx"
    assert cli.main(["export", str(out), "--db", db]) == 0
    assert io.read_kb(out) == kb


def test_import_with_errors_changes_nothing(
    tmp_path: Path, kb: KnowledgeBase, capsys: pytest.CaptureFixture[str]
) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    source = tmp_path / "in.yaml"
    io.write_kb(source, kb)
    assert cli.main(["import", str(source), "--db", db, "--create-tables"]) == 0
    bad = tmp_path / "bad.csv"
    bad.write_text("id,question,answer\nN1,新问题,新答案\nN2,,缺问题\n", encoding="utf-8")
    assert cli.main(["import", str(bad), "--db", db]) == 1
    assert "bad.csv:3:question" in capsys.readouterr().err
    out = tmp_path / "out.yaml"
    assert cli.main(["export", str(out), "--db", db]) == 0
    assert io.read_kb(out) == kb
