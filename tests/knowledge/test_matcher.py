from __future__ import annotations

import pytest

from knowledge import matcher
from knowledge.index import Match
from knowledge.model import FaqEntry

ENTRY = FaqEntry(id="e", question="q", answer="a")


def _matches(*confidences: float) -> list[Match]:
    return [Match(ENTRY, "q", c, c) for c in confidences]


@pytest.mark.parametrize(
    ("confidences", "action"),
    [
        ((), "none"),
        ((0.99, 0.01), "auto"),
        ((matcher.AUTO_REPLY_THRESHOLD,), "auto"),
        ((0.5, 0.2), "suggest"),
        ((matcher.SUGGEST_THRESHOLD / 2,), "none"),
    ],
)
def test_decide(confidences: tuple[float, ...], action: str) -> None:
    decision = matcher.decide(_matches(*confidences))
    assert decision.action == action
    assert (decision.best is None) == (not confidences)


def test_thresholds_are_ordered() -> None:
    assert 0 < matcher.SUGGEST_THRESHOLD < matcher.AUTO_REPLY_THRESHOLD < 1
