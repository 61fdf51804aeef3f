from __future__ import annotations

import json
from pathlib import Path

import pytest

from knowledge import cli, io
from knowledge.model import KnowledgeBase

EVAL_KEYS = {
    "p_at_1",
    "r_at_3",
    "auto_precision",
    "auto_coverage",
    "oos_auto_rate",
    "n_queries",
    "thresholds",
    "calibration",
    "calibration_error",
}
ONLINE_KEYS = {"online_p_at_1", "online_auto_precision", "online_auto_coverage"}


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
    assert set(report) >= EVAL_KEYS | ONLINE_KEYS
    assert report["n_queries"] == 4
    assert report["p_at_1"] == 1.0
    assert set(report["thresholds"]) == {"auto_reply", "suggest"}
    assert report["calibration"]["default_used"]  # three questions: too few to calibrate
    assert set(report["demo"]) >= EVAL_KEYS | ONLINE_KEYS  # the second domain, beside


def test_eval_table(files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    kb, queries = files
    assert cli.main(["eval", "--kb", str(kb), str(queries), "--no-demo"]) == 0
    out = capsys.readouterr().out
    assert "P@1" in out
    assert "online" not in out
    assert "相似问题太少" in out  # the calibration says it used the defaults
    assert "demo KB" not in out


def test_eval_cross_validated_json(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    kb, queries = files
    args = ["eval", "--kb", str(kb), str(queries), "--cv", "3", "--json", "--no-demo"]
    assert cli.main(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["k"] == 3
    assert len(report["folds"]) == 3
    assert {"p_at_1", "auto_coverage", "oos_auto_rate", "spread"} <= set(report)
    assert all("calibration" in fold for fold in report["folds"])


def test_eval_defaults_to_the_demo_kb(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["eval"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("demo KB")
    assert "已按本知识库校准" in out


def test_eval_with_a_kb_needs_queries(files: tuple[Path, Path]) -> None:
    assert cli.main(["eval", "--kb", str(files[0])]) == 2


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


def test_ask_shows_what_the_index_sees_and_the_thresholds(
    tmp_path: Path, kb: KnowledgeBase, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "kb.yaml"
    io.write_kb(path, kb)
    assert cli.main(["ask", "包裹到哪里了", "--kb", str(path)]) == 0
    out = capsys.readouterr().out
    assert "as the index sees it: " in out
    assert "auto-reply at confidence >= " in out
    assert "包裹到哪里了 (similar of: 怎么查看物流信息)" in out
    assert "rules: none fired" in out


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
    assert "bad.csv 第 3 行 question 列：必填" in capsys.readouterr().err
    out = tmp_path / "out.yaml"
    assert cli.main(["export", str(out), "--db", db]) == 0
    assert io.read_kb(out) == kb


def test_errors_read_as_sheet_row_and_column() -> None:
    from knowledge.errors import RowError

    text = cli.format_errors(
        [
            RowError("kb.xlsx:entries", 49, "question", "必填，单元格是空的"),
            RowError("faq.csv", 1, "similiar", "没有这一列"),
            RowError("kb.yaml:rules", 2, "priority", "不是整数：'high'"),
        ]
    )
    assert text.splitlines() == [
        "导入失败，没有任何改动：共 3 处问题要改",
        "  kb.xlsx 工作表 entries 第 49 行 question 列：必填，单元格是空的",
        "  faq.csv 第 1 行（表头） similiar 列：没有这一列",
        "  kb.yaml 分区 rules 第 2 项 priority 字段：不是整数：'high'",
    ]


def test_xlsx_round_trip_through_the_database(tmp_path: Path, kb: KnowledgeBase) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path / 's.db'}"
    first, second = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    io.write_kb(tmp_path / "in.yaml", kb)
    assert cli.main(["import", str(tmp_path / "in.yaml"), "--db", db, "--create-tables"]) == 0
    assert cli.main(["export", str(first), "--db", db]) == 0
    assert cli.main(["import", str(first), "--db", db]) == 0
    assert cli.main(["export", str(second), "--db", db]) == 0
    assert io.read_kb(first) == io.read_kb(second) == kb


def test_misses_without_its_table_is_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    assert cli.main(["misses", "--db", db]) == 1
    assert "no such table: kb_miss" in capsys.readouterr().err


def test_create_tables_includes_the_misses_table(
    tmp_path: Path, kb: KnowledgeBase, capsys: pytest.CaptureFixture[str]
) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path / 's.db'}"
    io.write_kb(tmp_path / "in.yaml", kb)
    assert cli.main(["import", str(tmp_path / "in.yaml"), "--db", db, "--create-tables"]) == 0
    assert cli.main(["misses", "--db", db]) == 0
    assert "暂无未解答的问题" in capsys.readouterr().out


def test_import_into_a_database_without_tables_is_a_message(
    tmp_path: Path, kb: KnowledgeBase, capsys: pytest.CaptureFixture[str]
) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    io.write_kb(tmp_path / "in.yaml", kb)
    assert cli.main(["import", str(tmp_path / "in.yaml"), "--db", db]) == 1
    err = capsys.readouterr().err
    assert "no such table" in err
    assert "--create-tables" in err
