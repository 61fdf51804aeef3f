from __future__ import annotations

import pytest

from knowledge import confidence
from knowledge.confidence import ConfidenceModel


def test_probability_is_monotone_and_bounded() -> None:
    model = confidence.DEFAULT_MODEL
    low = model.probability(0.2, 0.0, 0.0, 0.2, 0.8)
    high = model.probability(0.9, 0.5, 0.6, 1.0, 0.0)
    assert 0.0 <= low < high <= 1.0
    assert model.probability(-100.0, -100.0, -100.0, 0.0, 0.0) == 0.0


def test_fit_without_data_is_the_prior() -> None:
    fitted = confidence.fit([])
    assert fitted.coefficients() == pytest.approx(confidence.DEFAULT_MODEL.coefficients())


def test_fit_follows_the_data() -> None:
    # Right answers lead by a lot, wrong ones barely: the fitted model must separate them.
    right, wrong = (0.8, 0.4, 0.5, 0.9, 0.0, 0.7), (0.5, 0.05, 0.1, 0.5, 0.5, 0.1)
    middle = (0.6, 0.2, 0.3, 0.7, 0.2, 0.4)
    samples = [(right, True, 1.0)] * 60 + [(wrong, False, 1.0)] * 60
    samples += [(middle, True, 1.0)] * 10 + [(middle, False, 1.0)] * 10
    flat = ConfidenceModel(0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    fitted = confidence.fit(samples, prior=flat, strength=1.0)
    assert fitted.probability(*right) > 0.8
    assert fitted.probability(*wrong) < 0.2
    assert fitted.probability(*middle) == pytest.approx(0.5, abs=0.2)


def test_weights_are_relative() -> None:
    samples = [((0.8, 0.4, 0.5, 0.9, 0.0, 0.6), True, 1.0),
               ((0.4, 0.0, 0.1, 0.3, 0.6, 0.0), False, 1.0)]
    samples *= 20
    scaled = [(f, right, w * 1000) for f, right, w in samples]
    assert confidence.fit(samples).coefficients() == pytest.approx(
        confidence.fit(scaled).coefficients()
    )
