"""Training and scoring examples read from the stored events and profiles as of a cutoff.

No leakage: the features of an example at cutoff T read only events that occurred at or
before T; its label reads the goal's events in (T, T + horizon]. Profiles first seen after T
are not examples at T, and people who withdrew consent are neither examples nor scored.
Traits and the visit count have no history in the store, so they are read as they are now
(docs/predictive.md says so).

Profiles are read in chunks of `CHUNK` ordered by id, each chunk's events aggregated by the
database (the (profile, name, occurred_at) index), so memory stays bounded per chunk.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.db.models import Count, Max, Q

from analytics.predictive import PREDICTED_TRAITS_KEY
from analytics.predictive.features import (
    ANY,
    GOAL,
    MAX_CATEGORICAL_TRAITS,
    MAX_EVENT_NAMES,
    MAX_NUMERIC_TRAITS,
    MAX_RECENCY_DAYS,
    WINDOWS,
    EventStats,
    Facts,
    FeatureSpec,
    event_stats,
    feature_vector,
    top_categories,
)
from segments.models import Event, Field, FieldType, Profile

CHUNK = 2000
CATEGORY_SAMPLE = 5000
DAY_SECONDS = 86400.0


@dataclass(frozen=True, slots=True)
class Goal:
    """What the model predicts: an event named `event` (any event when None) passing `where`
    happens within the horizon, or with `churn` that it does not."""

    event: str | None
    where: Callable[[Mapping[str, Any]], bool] | None = None
    churn: bool = False

    def events(self, site_id: int) -> Any:
        events = Event.objects.filter(site_id=site_id)
        return events.filter(name=self.event) if self.event else events


@dataclass(frozen=True, slots=True)
class Chunk:
    profile_ids: list[int]
    x: np.ndarray
    y: np.ndarray | None  # None when scoring (no label)


def _days(delta: timedelta) -> float:
    return delta.total_seconds() / DAY_SECONDS


def profiles_as_of(*, site_id: int, cutoff: datetime) -> Any:
    """The people who existed at `cutoff` and did not withdraw consent."""
    return Profile.objects.filter(site_id=site_id, first_seen__lte=cutoff, consent=True)


def feature_spec_build(*, site_id: int, cutoff: datetime, goal: Goal) -> FeatureSpec:
    """The columns for a training run: the site's frequent event names in the 90 days before
    `cutoff`, and the numeric, boolean and categorical traits of its field catalog."""
    since = cutoff - timedelta(days=max(WINDOWS))
    names = [
        row["name"]
        for row in Event.objects.filter(
            site_id=site_id, profile__isnull=False, occurred_at__gt=since, occurred_at__lte=cutoff
        )
        .values("name")
        .annotate(n=Count("id"))
        .order_by("-n", "name")[:MAX_EVENT_NAMES]
    ]
    numeric: list[str] = []
    boolean: list[str] = []
    categorical: list[str] = []
    fields = Field.objects.filter(site_id=site_id, path__startswith="profile.").order_by("path")
    for path, type_ in fields.values_list("path", "type"):
        trait = path.removeprefix("profile.")
        if "." in trait or trait == PREDICTED_TRAITS_KEY:
            continue  # nested paths, and the scores themselves
        if type_ == FieldType.NUMBER and len(numeric) < MAX_NUMERIC_TRAITS:
            numeric.append(trait)
        elif type_ == FieldType.BOOLEAN and len(boolean) < MAX_NUMERIC_TRAITS:
            boolean.append(trait)
        elif type_ in (FieldType.ENUM, FieldType.STRING):
            categorical.append(trait)
    categories: dict[str, list[str]] = {}
    if categorical:
        sample = list(
            profiles_as_of(site_id=site_id, cutoff=cutoff)
            .order_by("-pk")
            .values_list("traits", flat=True)[:CATEGORY_SAMPLE]
        )
        for trait in categorical:
            top = top_categories(t.get(trait) for t in sample if isinstance(t, dict))
            if top:
                categories[trait] = top
            if len(categories) >= MAX_CATEGORICAL_TRAITS:
                break
    # The goal's own columns, unless they would repeat an event name's (no property filter).
    goal_columns = bool(goal.event) and (goal.where is not None or goal.event not in names)
    return {
        "events": names,
        "goal": goal_columns,
        "numeric": numeric,
        "boolean": boolean,
        "categories": categories,
    }


def baseline_columns(*, spec: FeatureSpec, goal: Goal) -> tuple[str, str]:
    """The recency and 90-day frequency columns the baseline ranks by: the goal's own events
    when the features have them, else any activity."""
    if spec["goal"]:
        key = GOAL
    elif goal.event and goal.event in spec["events"]:
        key = goal.event
    else:
        key = ANY
    return f"recency:{key}", f"count_{max(WINDOWS)}d:{key}"


def _facts(
    *, site_id: int, rows: list[tuple], cutoff: datetime, spec: FeatureSpec, goal: Goal
) -> list[Facts]:
    ids = [row[0] for row in rows]
    since = cutoff - timedelta(days=MAX_RECENCY_DAYS)
    window_counts = {
        f"c{w}": Count("id", filter=Q(occurred_at__gte=cutoff - timedelta(days=w))) for w in WINDOWS
    }
    by_profile: dict[int, dict[str, EventStats]] = {pk: {} for pk in ids}
    aggregates = (
        Event.objects.filter(
            site_id=site_id, profile_id__in=ids, occurred_at__gt=since, occurred_at__lte=cutoff
        )
        .values("profile_id", "name")
        .annotate(last=Max("occurred_at"), **window_counts)
    )
    wanted = set(spec["events"])
    if goal.event and goal.where is None:
        wanted.add(goal.event)
    for agg in aggregates:
        stats = EventStats(
            days_since=_days(cutoff - agg["last"]),
            counts=tuple(agg[f"c{w}"] for w in WINDOWS),
        )
        mine = by_profile[agg["profile_id"]]
        if agg["name"] in wanted:
            mine[agg["name"]] = stats
        seen = mine.get(ANY)
        if seen is None:
            mine[ANY] = stats
        else:
            mine[ANY] = EventStats(
                days_since=min(seen.days_since, stats.days_since),  # type: ignore[type-var]
                counts=tuple(a + b for a, b in zip(seen.counts, stats.counts, strict=True)),
            )
    if spec["goal"]:
        if goal.where is None:
            for mine in by_profile.values():
                if goal.event in mine:
                    mine[GOAL] = mine[goal.event]  # type: ignore[index]
        else:
            ages: dict[int, list[float]] = {}
            for profile_id, occurred_at, properties in (
                goal.events(site_id)
                .filter(profile_id__in=ids, occurred_at__gt=since, occurred_at__lte=cutoff)
                .values_list("profile_id", "occurred_at", "properties")
            ):
                if goal.where(properties if isinstance(properties, dict) else {}):
                    ages.setdefault(profile_id, []).append(_days(cutoff - occurred_at))
            for profile_id, values in ages.items():
                by_profile[profile_id][GOAL] = event_stats(values)
    return [
        Facts(
            tenure_days=_days(cutoff - first_seen),
            visit_count=visit_count,
            traits=traits if isinstance(traits, dict) else {},
            events=by_profile[pk],
        )
        for pk, first_seen, visit_count, traits in rows
    ]


def _labels(
    *, site_id: int, ids: list[int], cutoff: datetime, until: datetime, goal: Goal
) -> np.ndarray:
    """1 where the goal happened in (cutoff, until] (0 for churn), else 0 (1 for churn)."""
    events = goal.events(site_id).filter(
        profile_id__in=ids, occurred_at__gt=cutoff, occurred_at__lte=until
    )
    if goal.where is None:
        happened = set(events.values_list("profile_id", flat=True).distinct())
    else:
        happened = {
            profile_id
            for profile_id, properties in events.values_list("profile_id", "properties")
            if goal.where(properties if isinstance(properties, dict) else {})
        }
    occurred = np.array([pk in happened for pk in ids], dtype=int)
    return 1 - occurred if goal.churn else occurred


def example_chunks(
    *,
    site_id: int,
    cutoff: datetime,
    spec: FeatureSpec,
    goal: Goal,
    label_until: datetime | None = None,
    chunk: int = CHUNK,
) -> Iterator[Chunk]:
    """The examples at `cutoff`, `chunk` profiles at a time: features from what happened up
    to `cutoff`; with `label_until`, labels from (cutoff, label_until]."""
    profiles = profiles_as_of(site_id=site_id, cutoff=cutoff).order_by("pk")
    after = 0
    while True:
        rows = list(
            profiles.filter(pk__gt=after).values_list("pk", "first_seen", "visit_count", "traits")[
                :chunk
            ]
        )
        if not rows:
            return
        after = rows[-1][0]
        ids = [row[0] for row in rows]
        facts = _facts(site_id=site_id, rows=rows, cutoff=cutoff, spec=spec, goal=goal)
        x = np.array([feature_vector(f, spec) for f in facts], dtype=float)
        y = None
        if label_until is not None:
            y = _labels(site_id=site_id, ids=ids, cutoff=cutoff, until=label_until, goal=goal)
        yield Chunk(profile_ids=ids, x=x, y=y)


def examples(
    *,
    site_id: int,
    cutoff: datetime,
    spec: FeatureSpec,
    goal: Goal,
    label_until: datetime,
) -> tuple[list[int], np.ndarray, np.ndarray]:
    """Every labelled example at `cutoff` at once: profile ids, features, labels."""
    ids: list[int] = []
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    for part in example_chunks(
        site_id=site_id, cutoff=cutoff, spec=spec, goal=goal, label_until=label_until
    ):
        ids += part.profile_ids
        xs.append(part.x)
        ys.append(part.y)  # type: ignore[arg-type]
    if not ids:
        from analytics.predictive.features import feature_names

        return [], np.zeros((0, len(feature_names(spec)))), np.zeros(0, dtype=int)
    return ids, np.vstack(xs), np.concatenate(ys)
