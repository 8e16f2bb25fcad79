"""What a person looked like at a cutoff, as a vector of numbers. Pure: no Django.

`Facts` is what is known of one person as of the cutoff (the caller reads only events that
occurred up to it); `FeatureSpec` says which event names and traits to read (decided once
per training run and stored with the version, so scoring builds the very same columns);
`feature_names` and `feature_vector` turn facts into the model's inputs.

Counts and durations are log-transformed (heavy-tailed), recency is capped at a year, and a
missing trait reads 0 beside a "missing" indicator, so a logistic model copes with them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypedDict

WINDOWS = (7, 30, 90)
MAX_RECENCY_DAYS = 365.0
MAX_EVENT_NAMES = 8
MAX_NUMERIC_TRAITS = 30
MAX_CATEGORICAL_TRAITS = 10
MAX_CATEGORIES = 5
ANY = "*"  # every event, whatever its name (a visit)
GOAL = "@goal"  # the goal's own events (its name and property filter)


class FeatureSpec(TypedDict):
    events: list[str]  # the site's frequent event names
    goal: bool  # read the goal's events as well
    numeric: list[str]  # trait names (top-level keys of traits)
    boolean: list[str]
    categories: dict[str, list[str]]  # trait name → its most frequent values


@dataclass(frozen=True, slots=True)
class EventStats:
    """One kind of event of one person before the cutoff."""

    days_since: float | None  # since the latest; None when there is none
    counts: tuple[int, ...]  # in the last WINDOWS days


NO_EVENTS = EventStats(days_since=None, counts=tuple(0 for _ in WINDOWS))


@dataclass(frozen=True, slots=True)
class Facts:
    tenure_days: float
    visit_count: int
    traits: Mapping[str, Any]
    events: dict[str, EventStats] = field(default_factory=dict)  # by name, ANY, GOAL


def event_stats(ages_days: Iterable[float]) -> EventStats:
    """Stats of events that happened `ages_days` before the cutoff (each ≥ 0)."""
    latest: float | None = None
    counts = [0 for _ in WINDOWS]
    for age in ages_days:
        if age < 0:
            raise ValueError("An event after the cutoff cannot be a feature.")
        latest = age if latest is None else min(latest, age)
        for i, window in enumerate(WINDOWS):
            if age <= window:
                counts[i] += 1
    return EventStats(days_since=latest, counts=tuple(counts))


def _event_keys(spec: FeatureSpec) -> list[str]:
    return [ANY, *spec["events"], *([GOAL] if spec["goal"] else [])]


def feature_names(spec: FeatureSpec) -> list[str]:
    names = ["tenure_days", "visit_count"]
    for key in _event_keys(spec):
        names.append(f"recency:{key}")
        names.append(f"never:{key}")
        names += [f"count_{w}d:{key}" for w in WINDOWS]
    for trait in spec["numeric"]:
        names += [f"trait:{trait}", f"trait_missing:{trait}"]
    for trait in spec["boolean"]:
        names += [f"trait:{trait}", f"trait_missing:{trait}"]
    for trait, values in spec["categories"].items():
        names += [f"trait:{trait}={value}" for value in values]
    return names


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _signed_log(value: float) -> float:
    return math.copysign(math.log1p(abs(value)), value)


def feature_vector(facts: Facts, spec: FeatureSpec) -> list[float]:
    """The numbers, in `feature_names(spec)`'s order."""
    out = [math.log1p(max(facts.tenure_days, 0.0)), math.log1p(max(facts.visit_count, 0))]
    for key in _event_keys(spec):
        stats = facts.events.get(key, NO_EVENTS)
        days = MAX_RECENCY_DAYS if stats.days_since is None else stats.days_since
        out.append(math.log1p(min(max(days, 0.0), MAX_RECENCY_DAYS)))
        out.append(1.0 if stats.days_since is None else 0.0)
        out += [math.log1p(c) for c in stats.counts]
    traits = facts.traits if isinstance(facts.traits, Mapping) else {}
    for trait in spec["numeric"]:
        number = _number(traits.get(trait))
        out += [0.0, 1.0] if number is None else [_signed_log(number), 0.0]
    for trait in spec["boolean"]:
        value = traits.get(trait)
        out += [1.0 if value is True else 0.0, 0.0 if isinstance(value, bool) else 1.0]
    for trait, values in spec["categories"].items():
        value = traits.get(trait)
        text = value if isinstance(value, str) else None
        out += [1.0 if text == v else 0.0 for v in values]
    return out


def top_categories(
    values: Iterable[Any], *, limit: int = MAX_CATEGORIES, min_count: int = 5
) -> list[str]:
    """The most frequent string values (at least `min_count` times), most frequent first."""
    counts: dict[str, int] = {}
    for value in values:
        if isinstance(value, str) and value and len(value) <= 100:
            counts[value] = counts.get(value, 0) + 1
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [value for value, n in ranked[:limit] if n >= min_count]
