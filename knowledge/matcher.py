"""Turning ranked matches into a decision: auto-reply, suggest, or hand over."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from knowledge import calibration as calibration_mod
from knowledge.calibration import Calibration
from knowledge.index import Match
from knowledge.rules import RuleEngine

# Thresholds when the caller passes no calibration: those of a KB too small to calibrate
# (auto-reply only when nearly sure). A snapshot carries its KB's own (knowledge.live).
AUTO_REPLY_THRESHOLD = calibration_mod.DEFAULT_AUTO_THRESHOLD
SUGGEST_THRESHOLD = calibration_mod.DEFAULT_SUGGEST_THRESHOLD

# Matches under this confidence are noise ("保质期多久 0%" under an allergy question): they are
# never shown to anyone, whatever the decision.
SHOWN_FLOOR = 0.05

Action = Literal["auto", "suggest", "none"]


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do with a customer question, and the matches behind it."""

    action: Action
    matches: tuple[Match, ...]

    @property
    def best(self) -> Match | None:
        """The top match, if any."""
        return self.matches[0] if self.matches else None


def decide(
    matches: Sequence[Match],
    *,
    query: str | None = None,
    rules: RuleEngine | None = None,
    calibration: Calibration | None = None,
    auto_threshold: float | None = None,
    suggest_threshold: float | None = None,
) -> Decision:
    """Auto-reply on a confident top match, suggest the plausible ones, else none.

    Thresholds come from `calibration` (the KB's own, `snapshot.calibration`), else from the
    explicit arguments, else the uncalibrated defaults. Given the query and the rule engine,
    a top match that negates a rule phrase the query states, or the other way round ("我不过敏"
    against "我过敏了"), is only a suggestion: the scores cannot see negation, and these
    phrases are the ones where it matters most. A calibrated KB does not auto-reply with an
    entry holding fewer similar questions than `calibration.min_similar` (a new entry is only
    suggested until confirmed wordings support it).
    """
    auto_at, suggest_at = AUTO_REPLY_THRESHOLD, SUGGEST_THRESHOLD
    if calibration is not None:
        auto_at, suggest_at = calibration.auto_threshold, calibration.suggest_threshold
    auto_at = auto_at if auto_threshold is None else auto_threshold
    suggest_at = suggest_at if suggest_threshold is None else suggest_threshold
    shown = tuple(m for m in matches if m.confidence >= SHOWN_FLOOR)
    if not shown:
        return Decision("none", ())
    top = shown[0].confidence
    flipped = (
        query is not None
        and rules is not None
        and rules.opposite(query, shown[0].matched_question)
    )
    supported = calibration is None or calibration.can_auto(shown[0])
    if top >= auto_at and not flipped and supported:
        return Decision("auto", shown)
    # The rep picks among the top matches, so all of them are shown once the top is plausible.
    return Decision("suggest" if top >= suggest_at else "none", shown)
