"""Nearest-rank percentiles, the one definition /stats and the console's dashboard share."""

from __future__ import annotations

from bot.domain.response_times import percentile


def test_nearest_rank_takes_the_value_at_the_rank_ceil_q_n() -> None:
    assert percentile([], 0.5) is None
    assert percentile([10.0], 0.9) == 10.0
    # Two waits: the median is the first (rank ceil(0.5 * 2) = 1), never the second.
    assert percentile([10.0, 20.0], 0.5) == 10.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.0
    assert percentile([float(n) for n in range(1, 11)], 0.9) == 9.0
    assert percentile([float(n) for n in range(1, 12)], 0.9) == 10.0
