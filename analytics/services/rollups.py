"""Daily rollups: per day x site x slot x variant x reason (x segment), traffic counts and
each metric's sufficient statistics, so that no report ever scans raw events.

A day is rebuilt as a whole, inside one transaction (delete, then insert): rebuilding is
idempotent, and the incremental refresh is "rebuild the days that new events touch". New
events are found by `received_at` past the site's watermark; a conversion arriving late
dirties every day whose exposures it can be attributed to (its day minus the longest
metric window). Days are UTC days. Aggregations are ORM queries (portable between SQLite
and PostgreSQL); per-visitor metric values are computed by `analytics.metrics`, the same
definition experiments use.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count, Max, Min, QuerySet
from django.utils import timezone

from analytics.metrics import (
    Exposure,
    MetricError,
    MetricSpec,
    RatioSpec,
    UnitEvent,
    cap_threshold,
    unit_value,
)
from analytics.models import Metric, MetricDay, RollupState, SegmentSizeDay, VariantDay
from analytics.selectors.metrics import metric_definition
from segments.criteria import CriteriaError
from segments.models import (
    Event,
    EventKind,
    Profile,
    Segment,
    SegmentKind,
    SegmentStatus,
    StaticMember,
)
from segments.selectors.definitions import segment_rule
from segments.selectors.members import segment_count
from tenancy.models import Site

logger = logging.getLogger(__name__)

DIMENSIONS = ("slot", "variant", "reason", "reason_key")
# Events committed out of order: wait this long before moving the watermark past them.
WATERMARK_LAG = timedelta(seconds=30)
MAX_SEGMENTS = 50  # segments broken down in rollups (the largest active ones)
CHUNK = 500

Dims = tuple[str, str, str, str]


@dataclass(frozen=True)
class RollupResult:
    site_id: int
    days: int
    variant_rows: int
    metric_rows: int


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=UTC)
    return start, start + timedelta(days=1)


def _days(since: date, until: date) -> Iterator[date]:
    day = since
    while day <= until:
        yield day
        day += timedelta(days=1)


def _chunks(items: list[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def rollup_segments(*, site_id: int) -> list[Segment]:
    """The active segments broken down in rollups: at most MAX_SEGMENTS, by key."""
    return list(
        Segment.objects.filter(site_id=site_id, status=SegmentStatus.ACTIVE).order_by("key")[
            :MAX_SEGMENTS
        ]
    )


def member_profiles(*, segment: Segment) -> QuerySet[Profile] | None:
    """The segment's stored members (None when its criteria no longer compile)."""
    if segment.kind == SegmentKind.STATIC:
        users = StaticMember.objects.filter(segment=segment).values("user_id")
        return Profile.objects.filter(site_id=segment.site_id, user_id__in=users)
    try:
        rule = segment_rule(segment=segment)
    except CriteriaError:
        return None
    return Profile.objects.filter(site_id=segment.site_id).filter(rule.to_q())


def _traffic_rows(
    site_id: int, day: date, events: QuerySet[Event], segment: str
) -> list[VariantDay]:
    """Impressions, unique visitors and clicks per slot/variant/reason: two aggregations."""
    rows: dict[Dims, VariantDay] = {}
    impressions = (
        events.filter(kind=EventKind.IMPRESSION)
        .values(*DIMENSIONS)
        .annotate(n=Count("id"), visitors=Count("visitor_id", distinct=True))
        .order_by()
    )
    for r in impressions:
        dims = tuple(r[d] for d in DIMENSIONS)
        rows[dims] = VariantDay(
            site_id=site_id,
            day=day,
            segment=segment,
            **dict(zip(DIMENSIONS, dims, strict=True)),
            impressions=r["n"],
            visitors=r["visitors"],
        )
    clicks = events.filter(kind=EventKind.CLICK).values(*DIMENSIONS).annotate(n=Count("id"))
    for r in clicks.order_by():
        dims = tuple(r[d] for d in DIMENSIONS)
        row = rows.get(dims)
        if row is None:
            row = rows[dims] = VariantDay(
                site_id=site_id,
                day=day,
                segment=segment,
                **dict(zip(DIMENSIONS, dims, strict=True)),
            )
        row.clicks = r["n"]
    return list(rows.values())


@dataclass
class _Unit:
    key: str
    profile_id: int | None
    visitor_id: str
    exposures: dict[Dims, datetime]  # first exposure of the day per slot/variant/reason
    impressions: dict[Dims, int] = field(default_factory=dict)
    visitor_ids: dict[Dims, set[str]] = field(default_factory=dict)


def _exposed_units(day_events: QuerySet[Event]) -> dict[str, _Unit]:
    """Each visitor exposed on the day (a known person is one unit across devices), with
    the first exposure time per slot/variant/reason."""
    units: dict[str, _Unit] = {}
    rows = (
        day_events.filter(kind=EventKind.IMPRESSION)
        .values(*DIMENSIONS, "visitor_id", "profile_id")
        .annotate(first=Min("occurred_at"), n=Count("id"))
        .order_by()
    )
    for r in rows:
        key = f"p{r['profile_id']}" if r["profile_id"] else f"v{r['visitor_id']}"
        unit = units.get(key)
        if unit is None:
            unit = units[key] = _Unit(key, r["profile_id"], r["visitor_id"], {})
        dims = tuple(r[d] for d in DIMENSIONS)
        if dims not in unit.exposures or r["first"] < unit.exposures[dims]:
            unit.exposures[dims] = r["first"]
        unit.impressions[dims] = unit.impressions.get(dims, 0) + r["n"]
        unit.visitor_ids.setdefault(dims, set()).add(r["visitor_id"])
    return units


def _segment_traffic_rows(
    site_id: int,
    day: date,
    units: dict[str, _Unit],
    clicks_by_profile: list[dict[str, Any]],
    profile_segments: dict[int, list[str]],
) -> list[VariantDay]:
    """Traffic of segment members, from the day's per-visitor rows (no query per segment)."""
    impressions: dict[tuple[Dims, str], int] = defaultdict(int)
    visitors: dict[tuple[Dims, str], set[str]] = defaultdict(set)
    clicks: dict[tuple[Dims, str], int] = defaultdict(int)
    for unit in units.values():
        for segment in profile_segments.get(unit.profile_id, ()) if unit.profile_id else ():
            for dims, n in unit.impressions.items():
                impressions[(dims, segment)] += n
                visitors[(dims, segment)] |= unit.visitor_ids[dims]
    for r in clicks_by_profile:
        for segment in profile_segments.get(r["profile_id"], ()):
            clicks[(tuple(r[d] for d in DIMENSIONS), segment)] += r["n"]
    return [
        VariantDay(
            site_id=site_id,
            day=day,
            segment=segment,
            **dict(zip(DIMENSIONS, dims, strict=True)),
            impressions=impressions.get((dims, segment), 0),
            visitors=len(visitors.get((dims, segment), ())),
            clicks=clicks.get((dims, segment), 0),
        )
        for dims, segment in sorted(set(impressions) | set(clicks))
    ]


def _unit_events(
    site_id: int, units: dict[str, _Unit], names: set[str], start: datetime, end: datetime
) -> dict[str, list[UnitEvent]]:
    """The metric events of the exposed units in [start, end), by unit."""
    out: dict[str, list[UnitEvent]] = defaultdict(list)
    if not names:
        return out
    profiles = sorted({u.profile_id for u in units.values() if u.profile_id})
    visitors = sorted({u.visitor_id for u in units.values() if not u.profile_id})
    base = Event.objects.filter(
        site_id=site_id, name__in=names, occurred_at__gte=start, occurred_at__lt=end
    )
    columns = ("profile_id", "visitor_id", "name", "properties", "occurred_at")
    for chunk in _chunks(profiles):
        for pid, _vid, name, props, at in base.filter(profile_id__in=chunk).values_list(*columns):
            out[f"p{pid}"].append(UnitEvent(name, props or {}, at))
    for chunk in _chunks(visitors):
        rows = base.filter(visitor_id__in=chunk, profile_id__isnull=True).values_list(*columns)
        for _pid, vid, name, props, at in rows:
            out[f"v{vid}"].append(UnitEvent(name, props or {}, at))
    return out


def _base_specs(spec: MetricSpec | RatioSpec) -> list[MetricSpec]:
    return [spec.numerator, spec.denominator] if isinstance(spec, RatioSpec) else [spec]


def _capped_values(spec: MetricSpec, exposures: list[tuple[str, Dims, Exposure]]) -> list[float]:
    """Each exposure's value; a percentile cap is taken over all of the day's exposures."""
    raw = [unit_value(spec, e.at, e.events) for _, _, e in exposures]
    threshold = cap_threshold(spec.cap, raw)
    return raw if threshold is None else [min(v, threshold) for v in raw]


def _metric_rows(
    site_id: int,
    day: date,
    units: dict[str, _Unit],
    events: dict[str, list[UnitEvent]],
    metrics: list[tuple[Metric, MetricSpec | RatioSpec]],
    unit_segments: dict[str, list[str]],
) -> list[MetricDay]:
    exposures = [
        (unit.key, dims, Exposure(unit.key, at, events.get(unit.key, ())))
        for unit in units.values()
        for dims, at in unit.exposures.items()
    ]
    rows: list[MetricDay] = []
    for metric, spec in metrics:
        sides = [_capped_values(part, exposures) for part in _base_specs(spec)]
        groups: dict[tuple[Dims, str], list[float]] = defaultdict(lambda: [0.0] * 7)
        for index, (unit_key, dims, _) in enumerate(exposures):
            y = sides[0][index]
            d = sides[1][index] if len(sides) > 1 else 0.0
            for segment in ("", *unit_segments.get(unit_key, ())):
                acc = groups[(dims, segment)]
                acc[0] += 1
                acc[1] += y != 0
                acc[2] += y
                acc[3] += y * y
                acc[4] += d
                acc[5] += d * d
                acc[6] += y * d
        for (dims, segment), acc in groups.items():
            rows.append(
                MetricDay(
                    site_id=site_id,
                    day=day,
                    segment=segment,
                    metric=metric,
                    **dict(zip(DIMENSIONS, dims, strict=True)),
                    n=int(acc[0]),
                    converted=int(acc[1]),
                    total=acc[2],
                    total_sq=acc[3],
                    den_total=acc[4],
                    den_total_sq=acc[5],
                    cross_total=acc[6],
                )
            )
    return rows


def _site_metrics(site_id: int) -> list[tuple[Metric, MetricSpec | RatioSpec]]:
    out = []
    for metric in Metric.objects.filter(site_id=site_id).select_related("numerator", "denominator"):
        try:
            out.append((metric, metric_definition(metric=metric)))
        except MetricError:
            logger.warning("metric %s of site %s is invalid: not rolled up", metric.key, site_id)
    return out


def _rebuild_day(
    site_id: int,
    day: date,
    metrics: list[tuple[Metric, MetricSpec | RatioSpec]],
    segments: list[tuple[str, QuerySet[Profile]]],
) -> tuple[int, int]:
    start, end = _day_bounds(day)
    day_events = Event.objects.filter(
        site_id=site_id, occurred_at__gte=start, occurred_at__lt=end
    ).exclude(slot="")
    traffic = _traffic_rows(site_id, day, day_events, "")
    units = _exposed_units(day_events)
    clicks_by_profile = list(
        day_events.filter(kind=EventKind.CLICK, profile__isnull=False)
        .values(*DIMENSIONS, "profile_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    # Segment membership of the day's known visitors only: bounded by the day's traffic.
    profile_segments: dict[int, list[str]] = defaultdict(list)
    known = sorted(
        {u.profile_id for u in units.values() if u.profile_id}
        | {r["profile_id"] for r in clicks_by_profile}
    )
    for key, members in segments:
        for chunk in _chunks(known):
            for pid in members.filter(pk__in=chunk).values_list("pk", flat=True):
                profile_segments[pid].append(key)
    traffic += _segment_traffic_rows(site_id, day, units, clicks_by_profile, profile_segments)
    unit_segments = {
        u.key: profile_segments[u.profile_id]
        for u in units.values()
        if u.profile_id in profile_segments
    }
    names = {part.event for _, spec in metrics for part in _base_specs(spec)}
    longest = max((spec.window_days for _, spec in metrics), default=0)
    events = _unit_events(site_id, units, names, start, end + timedelta(days=longest))
    metric_rows = _metric_rows(site_id, day, units, events, metrics, unit_segments)
    with transaction.atomic():
        VariantDay.objects.filter(site_id=site_id, day=day).delete()
        MetricDay.objects.filter(site_id=site_id, day=day).delete()
        VariantDay.objects.bulk_create(traffic, batch_size=CHUNK)
        MetricDay.objects.bulk_create(metric_rows, batch_size=CHUNK)
    return len(traffic), len(metric_rows)


def rollups_rebuild(*, site: Site | int, since: date, until: date) -> RollupResult:
    """Recompute the rollups of every day in [since, until] from events. Idempotent.

    Days older than the site's retention are skipped: their events are purged, and their
    rollups are all that is left of them."""
    site_id = site.pk if isinstance(site, Site) else site
    retention = Site.objects.values_list("retention_days", flat=True).get(pk=site_id)
    oldest_kept = timezone.now().astimezone(UTC).date() - timedelta(days=retention - 1)
    since = max(since, oldest_kept)
    metrics = _site_metrics(site_id)
    segments = [
        (segment.key, members)
        for segment in rollup_segments(site_id=site_id)
        if (members := member_profiles(segment=segment)) is not None
    ]
    variant_rows = metric_rows = days = 0
    for day in _days(since, until):
        v, m = _rebuild_day(site_id, day, metrics, segments)
        variant_rows, metric_rows, days = variant_rows + v, metric_rows + m, days + 1
    return RollupResult(site_id, days, variant_rows, metric_rows)


def _longest_window(site_id: int) -> int:
    windows = [spec.window_days for _, spec in _site_metrics(site_id)]
    return max(windows, default=0)


def rollups_refresh(*, site: Site | int, now: datetime | None = None) -> RollupResult:
    """Fold in the events received since the last refresh: rebuild each day they touch,
    and the days before it whose exposures a late conversion may belong to."""
    site_id = site.pk if isinstance(site, Site) else site
    now = now or timezone.now()
    upto = now - WATERMARK_LAG
    state, _ = RollupState.objects.get_or_create(site_id=site_id)
    new = Event.objects.filter(site_id=site_id, received_at__lte=upto)
    if state.watermark is not None:
        new = new.filter(received_at__gt=state.watermark)
    span = new.aggregate(first=Min("occurred_at"), last=Max("occurred_at"))
    result = RollupResult(site_id, 0, 0, 0)
    if span["first"] is not None:
        since = span["first"].astimezone(UTC).date() - timedelta(days=_longest_window(site_id))
        until = span["last"].astimezone(UTC).date()
        result = rollups_rebuild(site=site_id, since=since, until=until)
    segment_sizes_record(site=site_id, day=now.astimezone(UTC).date())
    RollupState.objects.filter(pk=state.pk).update(watermark=upto, refreshed_at=now)
    return result


def segment_sizes_record(*, site: Site | int, day: date, as_of: datetime | None = None) -> int:
    """Each active segment's member count on `day` (the size-over-time chart). `as_of`
    evaluates time-relative conditions at that moment instead of now (the demo uses it
    to reconstruct past days from the profiles stored today)."""
    site_id = site.pk if isinstance(site, Site) else site
    rows = []
    for segment in rollup_segments(site_id=site_id):
        try:
            if as_of is None or segment.kind == SegmentKind.STATIC:
                size = segment_count(segment=segment)
            else:
                rule = segment_rule(segment=segment, now=as_of)
                size = Profile.objects.filter(site_id=site_id).filter(rule.to_q()).count()
        except CriteriaError:
            continue
        rows.append(SegmentSizeDay(site_id=site_id, day=day, segment=segment.key, size=size))
    with transaction.atomic():
        SegmentSizeDay.objects.filter(site_id=site_id, day=day).delete()
        SegmentSizeDay.objects.bulk_create(rows)
    return len(rows)


def rollups_refresh_all(*, now: datetime | None = None) -> list[RollupResult]:
    return [rollups_refresh(site=pk, now=now) for pk in Site.objects.values_list("pk", flat=True)]
