"""Winsorisation: one visitor's extreme value (a bulk order, a bot) must not swing a report."""

from __future__ import annotations

import math
from collections.abc import Sequence

from analytics.metrics.definitions import CapSpec


def cap_threshold(cap: CapSpec, values: Sequence[float]) -> float | None:
    """The value to cap at: the fixed cap, or the nearest-rank percentile of `values`."""
    if cap.kind == "value":
        return cap.value
    if cap.kind == "percentile" and values and cap.value is not None:
        ordered = sorted(values)
        rank = max(1, math.ceil(cap.value / 100 * len(ordered)))
        return ordered[rank - 1]
    return None


def capped(cap: CapSpec, values: dict[str, float]) -> dict[str, float]:
    """The values with everything above the cap lowered to it."""
    threshold = cap_threshold(cap, list(values.values()))
    if threshold is None:
        return values
    return {unit: min(value, threshold) for unit, value in values.items()}
