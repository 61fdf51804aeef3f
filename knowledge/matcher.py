"""Turning ranked matches into a decision: auto-reply, suggest, or hand over."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from knowledge.index import Match
from knowledge.rules import RuleEngine

# Auto-reply only above this confidence: on dev it keeps auto-reply precision >= 0.9,
# counting any auto-reply to an out-of-scope question as wrong.
AUTO_REPLY_THRESHOLD = 0.74
# Below this the top match is too weak to show a rep even as a suggestion; most
# out-of-scope questions fall under it while right answers in the top 3 mostly stay above.
SUGGEST_THRESHOLD = 0.15

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
    auto_threshold: float = AUTO_REPLY_THRESHOLD,
    suggest_threshold: float = SUGGEST_THRESHOLD,
) -> Decision:
    """Auto-reply on a confident top match, suggest the plausible ones, else none.

    Given the query and the rule engine, a top match that negates a rule phrase the query
    states, or the other way round ("我不过敏" against "我过敏了"), is only a suggestion: the
    scores cannot see negation, and these phrases are the ones where it matters most.
    """
    shown = tuple(m for m in matches if m.confidence >= SHOWN_FLOOR)
    if not shown:
        return Decision("none", ())
    top = shown[0].confidence
    flipped = (
        query is not None
        and rules is not None
        and rules.opposite(query, shown[0].matched_question)
    )
    if top >= auto_threshold and not flipped:
        return Decision("auto", shown)
    # The rep picks among the top matches, so all of them are shown once the top is plausible.
    return Decision("suggest" if top >= suggest_threshold else "none", shown)
