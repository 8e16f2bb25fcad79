"""RFM groups as criteria trees. Pure (no Django).

Over the people who did the value event at least once in the window: Recency is the days
since their last such event, Frequency how many they did in the window. Tercile cut
points turn into concrete thresholds (days, counts), and each classic group ("Champions",
"At risk", …) into an `all` of event conditions the criteria language evaluates exactly,
in memory and in SQL. Monetary value is left out: the criteria language counts events
(optionally filtered by a property) but cannot sum a property, so a "spent at least X"
group could not be saved as a segment.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from segments.criteria.labels import gettext_noop


@dataclass(frozen=True)
class RfmThresholds:
    recent_days: int  # last event within this many days: "recent"
    lapsed_days: int  # no event for this many days: "lapsed"
    low_count: int  # at most this many events in the window: "rare"
    high_count: int  # at least this many: "frequent"
    window_days: int


@dataclass(frozen=True)
class RfmGroup:
    key: str
    name: str  # msgid
    description: str  # msgid, formatted with the thresholds
    criteria: dict[str, Any]


def rfm_thresholds(
    *, recency_days: Sequence[float], frequency: Sequence[int], window_days: int
) -> RfmThresholds | None:
    """Cut points from the terciles of recency and frequency (None when nobody did it).

    Recent = the most recent third (rounded up to whole days); lapsed = from the second
    tercile on (rounded down); rare = at most the first tercile of counts; frequent = at
    least the upper tercile (and more than rare). Clamped so the groups stay possible
    inside the window."""
    r = np.asarray(recency_days, dtype=float)
    f = np.asarray(frequency, dtype=float)
    if r.size == 0 or f.size == 0:
        return None
    recent = max(1, math.ceil(float(np.quantile(r, 1 / 3, method="lower"))))
    # Lapsed = no event within `lapsed` days, i.e. recency > lapsed: the floor keeps the
    # people at the tercile itself in.
    lapsed = max(recent + 1, math.floor(float(np.quantile(r, 2 / 3, method="higher"))))
    if lapsed >= window_days:  # "none in `lapsed` days" must leave room inside the window
        lapsed = max(1, window_days - 1)
        recent = min(recent, max(1, lapsed - 1))
    low = max(1, math.floor(float(np.quantile(f, 1 / 3, method="lower"))))
    high = max(low + 1, math.ceil(float(np.quantile(f, 2 / 3, method="higher"))))
    return RfmThresholds(
        recent_days=recent,
        lapsed_days=lapsed,
        low_count=low,
        high_count=high,
        window_days=window_days,
    )


def _did(event: str, *, op: str = "gte", n: int = 1, days: int | None = None) -> dict[str, Any]:
    node: dict[str, Any] = {"event": event, "count": {"op": op, "value": n}}
    if days is not None:
        node["within_days"] = days
    return node


def rfm_groups(*, event: str, t: RfmThresholds) -> list[RfmGroup]:
    """The named groups for these thresholds, each with its criteria tree."""
    w = t.window_days
    frequent = _did(event, n=t.high_count, days=w)
    rare = _did(event, op="lte", n=t.low_count, days=w)
    once_in_window = _did(event, days=w)
    recent = _did(event, days=t.recent_days)
    not_recent = _did(event, op="eq", n=0, days=t.recent_days)
    lapsed = _did(event, op="eq", n=0, days=t.lapsed_days)
    groups = [
        RfmGroup(
            "champions",
            gettext_noop("Champions"),
            gettext_noop("Did it recently and often: the best customers."),
            {"all": [frequent, recent]},
        ),
        RfmGroup(
            "loyal",
            gettext_noop("Loyal customers"),
            gettext_noop("Do it often; the last time was a while ago but not long."),
            {"all": [frequent, not_recent, _did(event, days=t.lapsed_days)]},
        ),
        RfmGroup(
            "new",
            gettext_noop("New customers"),
            gettext_noop("First did it recently, and only a few times so far."),
            {
                "all": [
                    recent,
                    _did(event, op="lte", n=t.low_count),
                    {"field": "visitor.first_seen", "op": "within_last", "value": {"days": w}},
                ]
            },
        ),
        RfmGroup(
            "at_risk",
            gettext_noop("At risk"),
            gettext_noop("Used to do it often, but not lately."),
            {"all": [frequent, lapsed]},
        ),
        RfmGroup(
            "hibernating",
            gettext_noop("Hibernating"),
            gettext_noop("Did it rarely, and not lately."),
            {"all": [once_in_window, rare, lapsed]},
        ),
    ]
    return groups
