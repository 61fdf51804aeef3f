"""Confidence: the probability that a top match is right, from its score and its leads.

A logistic model over six features of a ranking: the top score, its lead over the 2nd, its
lead over the 3rd, the share of the query's words the matched question holds (coverage), the
share no question of the KB holds (novelty), and the entry's share of the candidates' scores
(support); words are weighted by their idf in the KB and by how much they say in general Chinese.
The leads separate right from wrong answers far better than the raw score; the score keeps a
lone weak candidate (a small KB) from looking certain; coverage and novelty catch a question
that shares only its frame with the KB ("最近有什么新闻" against "最近有什么活动"); the support
tells an entry whose several wordings all come close from one lucky wording. Each KB fits
its own model (knowledge/calibration.py); `DEFAULT_MODEL` serves KBs with too little data.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

# (top score, lead over the 2nd, lead over the 3rd, word coverage, novelty, support)
Features = tuple[float, float, float, float, float, float]


@dataclass(frozen=True, slots=True)
class ConfidenceModel:
    """Logistic coefficients: P(right) = sigmoid(score*s + lead2*l2 + lead3*l3 + coverage*c
    + novelty*n + support*v + bias)."""

    score: float
    lead2: float
    lead3: float
    coverage: float
    novelty: float
    bias: float
    support: float = 0.0

    def probability(
        self, score: float, lead2: float, lead3: float, coverage: float, novelty: float,
        support: float = 0.0,
    ) -> float:
        """The probability that a match with these features is the right answer."""
        logit = (self.score * score + self.lead2 * lead2 + self.lead3 * lead3
                 + self.coverage * coverage + self.novelty * novelty + self.support * support
                 + self.bias)
        if logit < -30.0:
            return 0.0
        return 1.0 / (1.0 + math.exp(-logit))

    def coefficients(self) -> tuple[float, float, float, float, float, float, float]:
        """(score, lead2, lead3, coverage, novelty, support, bias): the order of fit's vector."""
        return (self.score, self.lead2, self.lead3, self.coverage, self.novelty, self.support,
                self.bias)

    @classmethod
    def of(cls, coefficients: Sequence[float]) -> ConfidenceModel:
        """The model of a coefficients() vector."""
        score, lead2, lead3, coverage, novelty, support, bias = coefficients
        return cls(score, lead2, lead3, coverage, novelty, bias, support)


# The model a KB gets before it has enough similar questions of its own: the fit of the
# demo KB's calibration (its leave-one-out probes and the built-in off-topic questions; see
# docs/knowledge.md), rounded. No evaluation set was used. Its support weight is 0: a KB on
# the default has (almost) no similar questions, so support is 0 there anyway; a KB with
# enough of them fits its own.
DEFAULT_MODEL = ConfidenceModel(
    score=6.5, lead2=4.3, lead3=0.65, coverage=-1.05, novelty=-1.7, bias=-2.25, support=0.0
)

# Strength of the pull towards the default model, in samples: a KB with a few dozen probes
# stays close to it, one with hundreds follows its own data.
PRIOR_STRENGTH = 8.0
_NEWTON_STEPS = 25
_N = 7  # coefficients, the bias included


def fit(
    samples: Sequence[tuple[Features, bool, float]],
    prior: ConfidenceModel = DEFAULT_MODEL,
    strength: float = PRIOR_STRENGTH,
) -> ConfidenceModel:
    """Weighted logistic regression of (features, right?, weight), pulled towards `prior`.

    Weights are relative: they are scaled to sum to the number of samples, so `strength`
    counts in samples whatever their scale.
    """
    theta = list(prior.coefficients())
    centre = list(prior.coefficients())
    total = sum(w for _, _, w in samples) or 1.0
    scale = len(samples) / total
    rows = [
        ((*f, 1.0), 1.0 if right else 0.0, w * scale) for f, right, w in samples
    ]
    for _ in range(_NEWTON_STEPS):
        grad = [strength * (t - c) for t, c in zip(theta, centre, strict=True)]
        hess = [[strength if i == j else 0.0 for j in range(_N)] for i in range(_N)]
        for x, y, w in rows:
            z = sum(t * v for t, v in zip(theta, x, strict=True))
            p = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
            g, h = w * (p - y), w * p * (1.0 - p)
            for i in range(_N):
                grad[i] += g * x[i]
                for j in range(_N):
                    hess[i][j] += h * x[i] * x[j]
        step = _solve(hess, grad)
        theta = [t - s for t, s in zip(theta, step, strict=True)]
        if max(abs(s) for s in step) < 1e-6:
            break
    return ConfidenceModel.of(theta)


def _solve(matrix: list[list[float]], vector: list[float]) -> list[float]:
    """Solve a small positive-definite system by Gaussian elimination with pivoting."""
    n = len(vector)
    a = [row[:] + [vector[i]] for i, row in enumerate(matrix)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(a[r][col]))
        a[col], a[pivot] = a[pivot], a[col]
        for r in range(col + 1, n):
            factor = a[r][col] / a[col][col]
            for c in range(col, n + 1):
                a[r][c] -= factor * a[col][c]
    x = [0.0] * n
    for r in range(n - 1, -1, -1):
        x[r] = (a[r][n] - sum(a[r][c] * x[c] for c in range(r + 1, n))) / a[r][r]
    return x
