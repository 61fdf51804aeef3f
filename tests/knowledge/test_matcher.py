from __future__ import annotations

import pytest

from knowledge import confidence, matcher
from knowledge.calibration import Calibration
from knowledge.index import Match
from knowledge.model import FaqEntry

ENTRY = FaqEntry(id="e", question="q", answer="a")


def _matches(*confidences: float) -> list[Match]:
    return [Match(ENTRY, "q", c, c) for c in confidences]


def _calibration(auto: float, suggest: float) -> Calibration:
    return Calibration(auto, suggest, confidence.DEFAULT_MODEL, 100, 100, False)


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
def test_decide_without_calibration_uses_the_defaults(
    confidences: tuple[float, ...], action: str
) -> None:
    decision = matcher.decide(_matches(*confidences))
    assert decision.action == action
    assert (decision.best is None) == (not confidences)


@pytest.mark.parametrize(
    ("top", "action"), [(0.8, "auto"), (0.7, "suggest"), (0.3, "suggest"), (0.29, "none")]
)
def test_decide_uses_the_calibration_thresholds(top: float, action: str) -> None:
    assert matcher.decide(_matches(top), calibration=_calibration(0.8, 0.3)).action == action


def test_explicit_thresholds_override_the_calibration() -> None:
    calibrated = _calibration(0.8, 0.3)
    decision = matcher.decide(_matches(0.7), calibration=calibrated, auto_threshold=0.6)
    assert decision.action == "auto"


def test_a_calibration_can_turn_auto_replies_off() -> None:
    assert matcher.decide(_matches(1.0), calibration=_calibration(1.01, 0.3)).action == "suggest"


def test_thresholds_are_ordered() -> None:
    assert 0 < matcher.SUGGEST_THRESHOLD < matcher.AUTO_REPLY_THRESHOLD < 1
