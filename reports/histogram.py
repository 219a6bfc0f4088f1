"""Fixed-bucket duration histograms: exact counts, percentiles within one bucket's width.

Bucket upper bounds grow by 15 % from 1 second to 120 days, so any percentile read back
from summed buckets is within about 7 % of the true value (the bucket's geometric middle),
whatever the range, and rollups of different days add up bucket by bucket.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable

GROWTH = 1.15
FIRST_BOUND = 1.0
LAST_BOUND = 120 * 86400.0

BOUNDS: list[float] = []
_bound = FIRST_BOUND
while _bound < LAST_BOUND:
    BOUNDS.append(_bound)
    _bound *= GROWTH
BOUNDS.append(math.inf)  # the last bucket holds everything longer than 120 days


def empty() -> list[int]:
    return [0] * len(BOUNDS)


def bucket_of(seconds: float) -> int:
    """Index of the bucket holding ``seconds`` (negative durations count as zero)."""
    return bisect.bisect_left(BOUNDS, max(0.0, seconds))


def add(buckets: list[int], other: Iterable[int]) -> list[int]:
    for index, count in enumerate(other):
        buckets[index] += count
    return buckets


def percentile(buckets: list[int], pct: float) -> float | None:
    """The ``pct`` percentile of the durations counted in ``buckets``; None when empty."""
    total = sum(buckets)
    if total == 0:
        return None
    rank = math.ceil(pct / 100 * total)
    seen = 0
    for index, count in enumerate(buckets):
        seen += count
        if seen >= max(rank, 1):
            upper = BOUNDS[index]
            lower = BOUNDS[index - 1] if index > 0 else 0.0
            if math.isinf(upper):
                return lower
            if lower == 0.0:
                return upper / 2
            return math.sqrt(lower * upper)
    return None  # pragma: no cover - unreachable while counts add up to total
