"""Plain-text tables of evaluation results (python -m knowledge eval)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# (key, label) of the figures shown, in order; online ones only when present.
FIGURES = (
    ("p_at_1", "P@1"),
    ("p_at_1_standard_only", "P@1, standard questions only"),
    ("new_entry_p_at_1", "new entries (no similar question): P@1"),
    ("new_entry_auto_precision_pooled", "new entries: auto-reply precision, pooled"),
    ("new_entry_auto_coverage", "new entries: auto-reply coverage"),
    ("new_entry_auto_wrong_rate", "new entries: wrong auto-replies (of their questions)"),
    ("r_at_3", "R@3"),
    ("auto_precision", "auto-reply precision"),
    ("auto_precision_pooled", "auto-reply precision, pooled"),
    ("auto_coverage", "auto-reply coverage (right / in scope)"),
    ("auto_wrong_rate", "wrong auto-replies (in scope)"),
    ("oos_auto_rate", "out-of-scope auto-replied"),
    ("oos_none_rate", "out-of-scope with no suggestion"),
    ("in_scope_none_rate", "in scope with no suggestion"),
    ("calibration_error", "calibration error of 匹配 % (ECE)"),
    ("suggested_right_rate", "in scope, right answer among suggestions"),
    ("online_p_at_1", "online P@1 (with feedback)"),
    ("online_r_at_3", "online R@3"),
    ("online_auto_precision", "online auto-reply precision"),
    ("online_auto_precision_pooled", "online auto-reply precision, pooled"),
    ("online_auto_coverage", "online auto-reply coverage"),
    ("online_oos_auto_rate", "online out-of-scope auto-replied"),
    ("online_calibration_error", "online calibration error (ECE)"),
    ("new_entry_online_p_at_1", "new entries: online P@1"),
    ("new_entry_online_auto_precision_pooled", "new entries: online auto-reply precision, pooled"),
    ("new_entry_online_auto_coverage", "new entries: online auto-reply coverage"),
    ("accepted_picks", "reps' picks accepted as similar questions"),
    ("recalibrations", "recalibrations during the stream"),
)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _rows(report: dict[str, Any], cv: bool) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = [("queries (in scope / out of scope)",
                                    f"{report['n_queries']} ({report['n_in_scope']} / "
                                    f"{report['n_out_of_scope']})")]
    spread = report.get("spread", {})
    for key, label in FIGURES:
        if key not in report:
            continue
        text = _cell(report[key])
        if cv and key in spread:
            s = spread[key]
            text += f" ± {s['sd']:.3f} ({s['min']:.3f}-{s['max']:.3f}"
            text += f", {s['n_folds']} folds)" if s["n_folds"] < report["k"] else ")"
        rows.append((label, text))
    return rows


def single(report: dict[str, Any], title: str) -> str:
    """One evaluated set: its figures and its calibration."""
    lines = [title]
    rows = _rows(report, cv=False)
    cal = report["calibration"]
    rows.append(("thresholds (auto / suggest)", f"{cal['auto_reply']} / {cal['suggest']}"))
    rows.append(("calibration", cal["status"]))
    if "final_calibration" in report:
        rows.append(("calibration after the stream", report["final_calibration"]["status"]))
    lines.extend(_table(rows))
    return "\n".join(lines)


def cross_validated(report: dict[str, Any], title: str) -> str:
    """A cross-validated set: mean ± sd (min-max) per figure, then one line per fold."""
    lines = [title]
    folds = report["folds"]
    totals = {key: sum(f[key] for f in folds) for key in ("n_in_scope", "n_out_of_scope")}
    summary = {**report, "n_queries": sum(f["n_queries"] for f in folds), **totals}
    lines.extend(_table(_rows(summary, cv=True)))
    lines.append("per fold: in/oos  P@1  auto-prec  auto-cov  oos-auto  thresholds (auto/suggest)"
                 "  [online P@1  auto-prec  auto-cov]")
    for f in folds:
        cal = f["calibration"]
        line = (f"  fold {f['fold']}: {f['n_in_scope']}/{f['n_out_of_scope']}  "
                f"{_cell(f['p_at_1'])}  {_cell(f['auto_precision'])}  "
                f"{_cell(f['auto_coverage'])}  {_cell(f['oos_auto_rate'])}  "
                f"{cal['auto_reply']}/{cal['suggest']}")
        if "online_p_at_1" in f:
            line += (f"  [{_cell(f['online_p_at_1'])}  {_cell(f['online_auto_precision'])}  "
                     f"{_cell(f['online_auto_coverage'])}]")
        lines.append(line)
        lines.append(f"    {cal['status']}")
    return "\n".join(lines)


def _table(rows: Sequence[tuple[str, str]]) -> list[str]:
    width = max(len(name) for name, _ in rows)
    return [f"  {name:<{width}}  {value}" for name, value in rows]
