"""How sure a precision measured on probes is: the Wilson bound on a clustered, weighted sample.

The calibration (knowledge.calibration) scans its probes from the most confident down and
asks, at each step, whether the precision so far holds the target with the chosen certainty.
"""

from __future__ import annotations

import math


def wilson_lower(precision: float, n: float, z: float) -> float:
    """Lower bound of a proportion observed over n (weighted: effective n) trials."""
    z2 = z * z
    centre = precision + z2 / (2 * n)
    spread = z * math.sqrt(max(0.0, precision * (1 - precision) / n + z2 / (4 * n * n)))
    return (centre - spread) / (1 + z2 / n)


class RunningPrecision:
    """The running precision of weighted samples and its effective sample size.

    Probes of one entry succeed or fail together (an intent confusable with another fails
    on most of its wordings), so the size is the smaller of Kish's weighted size and the
    cluster-robust one: p(1-p) over the variance of the ratio estimate summed per group
    (the entry; a negative is its own group). Without an error yet that variance is 0 and
    says nothing, and Kish's size stands.
    """

    def __init__(self) -> None:
        self.weight = self.right = self.squares = 0.0
        self.groups: dict[str, tuple[float, float]] = {}
        # Sums over groups of R^2, R*W and W^2 (R: right weight, W: weight of a group).
        self.rr = self.rw = self.ww = 0.0

    def add(self, weight: float, right: bool, group: str) -> None:
        """Count one more sample of `group`."""
        hit = weight if right else 0.0
        self.weight += weight
        self.right += hit
        self.squares += weight * weight
        r0, w0 = self.groups.get(group, (0.0, 0.0))
        r1, w1 = r0 + hit, w0 + weight
        self.groups[group] = (r1, w1)
        self.rr += r1 * r1 - r0 * r0
        self.rw += r1 * w1 - r0 * w0
        self.ww += w1 * w1 - w0 * w0

    @property
    def precision(self) -> float:
        """Weighted share of right samples."""
        return self.right / self.weight

    def effective(self, cap: float) -> float:
        """The effective number of independent trials behind `precision` (at most `cap`)."""
        p = self.precision
        kish = min(self.weight * self.weight / self.squares, cap)
        spread = self.rr - 2 * p * self.rw + p * p * self.ww
        if spread <= 1e-12 or p * (1 - p) <= 0:
            return kish
        return min(kish, p * (1 - p) * self.weight * self.weight / spread)
