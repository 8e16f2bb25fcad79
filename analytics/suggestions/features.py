"""What suggestions read from the database: the site's event names, the value event's
recency and frequency per person (exact, all profiles), and a sample of profiles as a
feature matrix for clustering."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from django.db.models import Count, Max

from analytics.suggestions.clusters import FeatureSpec
from segments.criteria.values import read_number
from segments.models import Event, EventKind, Profile
from segments.selectors.catalog import site_field_catalog

# Exposure bookkeeping, not behaviour a marketer segments on.
NOT_BEHAVIOUR = (EventKind.IMPRESSION, EventKind.CLICK)
MAX_EVENT_FEATURES = 5
CHUNK = 2000
CATEGORICAL_CONTEXT = ("device_type", "channel")
TRAIT_PRESENT_SHARE = 0.5


def site_event_names(
    *, site_id: int, since: datetime | None = None, limit: int = 50
) -> list[tuple[str, int]]:
    """(name, count) of the site's behavioural events, most frequent first."""
    rows = Event.objects.filter(site_id=site_id).exclude(kind__in=NOT_BEHAVIOUR)
    if since is not None:
        rows = rows.filter(occurred_at__gte=since)
    return [
        (r["name"], r["n"])
        for r in rows.values("name").annotate(n=Count("id")).order_by("-n", "name")[:limit]
    ]


def default_value_event(*, site_id: int) -> str | None:
    """The site's most frequent conversion event, else its most frequent behavioural one."""
    conversions = (
        Event.objects.filter(site_id=site_id, kind=EventKind.CONVERSION)
        .values("name")
        .annotate(n=Count("id"))
        .order_by("-n", "name")
        .first()
    )
    if conversions:
        return conversions["name"]
    names = site_event_names(site_id=site_id, limit=1)
    return names[0][0] if names else None


def recency_frequency(
    *, site_id: int, event: str, window_days: int, now: datetime
) -> tuple[list[float], list[int]]:
    """Per person who did `event` in the window: days since the last one, and how many."""
    rows = (
        Event.objects.filter(
            site_id=site_id,
            name=event,
            profile__isnull=False,
            occurred_at__gte=now - timedelta(days=window_days),
            occurred_at__lte=now,
        )
        .values("profile_id")
        .annotate(n=Count("id"), last=Max("occurred_at"))
    )
    recency, frequency = [], []
    for r in rows.iterator(chunk_size=CHUNK):
        recency.append(max(0.0, (now - r["last"]).total_seconds() / 86400.0))
        frequency.append(int(r["n"]))
    return recency, frequency


@dataclass
class Population:
    ids: np.ndarray  # profile pks, sorted
    x: np.ndarray  # rows x features, in the features' own units
    specs: list[FeatureSpec]
    categorical: dict[str, list[str | None]] = field(default_factory=dict)
    total: int = 0  # profiles of the site (the sample may be smaller)


def _sample_ids(site_id: int, size: int, seed: int) -> tuple[list[int], int]:
    ids = list(Profile.objects.filter(site_id=site_id).values_list("pk", flat=True))
    total = len(ids)
    if total > size:
        ids = random.Random(seed).sample(ids, size)
    return sorted(ids), total


def load_population(
    *, site_id: int, window_days: int, now: datetime, sample_size: int, seed: int = 0
) -> Population:
    """A sample of the site's profiles as features: recency and tenure (days), visits, the
    counts of its most frequent events in the window, and numeric traits most people have."""
    ids, total = _sample_ids(site_id, sample_size, seed)
    rows: list[dict] = []
    for start in range(0, len(ids), CHUNK):
        rows.extend(
            Profile.objects.filter(site_id=site_id, pk__in=ids[start : start + CHUNK])
            .order_by("pk")
            .values("pk", "last_seen", "first_seen", "visit_count", "traits", "last_context")
        )
    since = now - timedelta(days=window_days)
    events = [n for n, _ in site_event_names(site_id=site_id, since=since)][:MAX_EVENT_FEATURES]
    position = {pk: i for i, pk in enumerate(r["pk"] for r in rows)}
    n = len(rows)
    specs = [
        FeatureSpec("recency", "days_since_last_visit"),
        FeatureSpec("tenure", "days_since_first_visit"),
        FeatureSpec("visits", "visit_count"),
    ]
    columns = [
        [max(0.0, (now - r["last_seen"]).total_seconds() / 86400.0) for r in rows],
        [max(0.0, (now - r["first_seen"]).total_seconds() / 86400.0) for r in rows],
        [float(r["visit_count"]) for r in rows],
    ]
    if events:
        counts = {name: np.zeros(n) for name in events}
        per_person = (
            Event.objects.filter(
                site_id=site_id, name__in=events, profile__isnull=False, occurred_at__gte=since
            )
            .values("profile_id", "name")
            .annotate(n=Count("id"))
        )
        for r in per_person.iterator(chunk_size=CHUNK):
            i = position.get(r["profile_id"])
            if i is not None:
                counts[r["name"]][i] = r["n"]
        for name in events:
            specs.append(FeatureSpec("event", f"event:{name}", event=name, window_days=window_days))
            columns.append(counts[name].tolist())
    for f in site_field_catalog(site=site_id):
        key = f.path.removeprefix("profile.")
        if f.type != "number" or not f.path.startswith("profile.") or "." in key:
            continue
        values = [read_number((r["traits"] or {}).get(key)) for r in rows]
        present = [float(v) for v in values if v is not None]
        if n == 0 or len(present) < TRAIT_PRESENT_SHARE * n:
            continue
        median = float(np.median(present))  # the few without the trait: the median
        specs.append(FeatureSpec("trait", f.path, path=f.path))
        columns.append([median if v is None else float(v) for v in values])
    x = np.array(columns, dtype=float).T if n else np.zeros((0, len(specs)))
    keep = [i for i in range(len(specs)) if n and float(np.std(x[:, i])) > 0]
    categorical = {
        f"context.{name}": [
            v if isinstance(v := (r["last_context"] or {}).get(name), str) else None for r in rows
        ]
        for name in CATEGORICAL_CONTEXT
    }
    return Population(
        ids=np.array([r["pk"] for r in rows], dtype=np.int64),
        x=x[:, keep] if n else x,
        specs=[specs[i] for i in keep] if n else specs,
        categorical=categorical,
        total=total,
    )
