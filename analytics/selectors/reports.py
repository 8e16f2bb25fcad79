"""The admin reports, read from rollups only (never raw events): a site's dashboard, a
placement's or screen's variants, a segment's size, overlap and response. Each report is
a list of tables (each also a CSV) and of charts (plain data for Chart.js)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal, TypedDict

from django.db.models import Sum
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from analytics.metrics import SufficientStats, mean_interval, ratio_interval, wilson_interval
from analytics.models import Metric, MetricDay, MetricKind, SegmentSizeDay, VariantDay
from analytics.services.rollups import member_profiles, rollup_segments
from content.models import AuditEntry
from segments.models import Segment

MIN_SAMPLE = 100  # fewer exposures than this: the numbers are flagged as too small to matter
MAX_OVERLAP_SEGMENTS = 12  # the overlap matrix is bounded: 12 x 12 intersections at most
TOP_VARIANTS = 10

Cell = str | int | float | None


@dataclass
class Table:
    name: str  # the CSV's name: ?format=csv&table=<name>
    title: str
    headers: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    low_rows: set[int] = field(default_factory=set)  # rows with too little data to matter
    links: dict[int, str] = field(default_factory=dict)  # row -> a report URL for column 0
    csv_url: str = ""

    @property
    def warning(self) -> bool:
        return bool(self.low_rows)

    def marked_rows(self) -> list[tuple[list[Cell], bool, str]]:
        return [(row, i in self.low_rows, self.links.get(i, "")) for i, row in enumerate(self.rows)]


class Dataset(TypedDict):
    label: str
    data: list[float | None]


class Chart(TypedDict):
    id: str
    title: str
    type: Literal["line", "bar"]
    labels: list[str]
    datasets: list[Dataset]
    percent: bool


@dataclass
class Report:
    title: str
    tables: list[Table]
    charts: list[Chart]
    extra: dict[str, Any] = field(default_factory=dict)

    def table(self, name: str) -> Table | None:
        return next((t for t in self.tables if t.name == name), None)


def _pct(value: float | None) -> float | None:
    return None if value is None else round(100 * value, 2)


def _interval(bounds: tuple[float, float] | None, percent: bool) -> str:
    if bounds is None:
        return ""
    low, high = bounds
    if percent:
        return _("%(low)s to %(high)s %%") % {"low": _pct(low), "high": _pct(high)}
    return _("%(low)s to %(high)s") % {"low": f"{low:.3g}", "high": f"{high:.3g}"}


def _days(since: date, until: date) -> list[date]:
    return [since + timedelta(days=i) for i in range((until - since).days + 1)]


def _metric_cells(metric: Metric | None, sums: dict[str, float]) -> list[Cell]:
    """A metric's value and 95 % interval from summed sufficient statistics."""
    n = int(sums.get("n") or 0)
    if metric is None or not n:
        return [None, ""]
    if metric.kind == MetricKind.CONVERSION:
        converted = int(sums["converted"] or 0)
        return [_pct(converted / n), _interval(wilson_interval(converted, n), True)]
    if metric.kind == MetricKind.RATIO:
        den = sums["den_total"] or 0.0
        value = (sums["total"] or 0.0) / den if den else None
        bounds = ratio_interval(
            n, sums["total"], sums["total_sq"], den, sums["den_total_sq"], sums["cross_total"]
        )
        return [None if value is None else round(value, 4), _interval(bounds, False)]
    stats = SufficientStats(n, int(sums["converted"]), sums["total"], sums["total_sq"])
    return [round(stats.mean or 0.0, 4), _interval(mean_interval(stats), False)]


def metric_label(metric: Metric | None) -> str:
    if metric is None:
        return _("no metric")
    if metric.kind == MetricKind.CONVERSION:
        return _("%(metric)s (%%)") % {"metric": metric.name}
    if metric.kind == MetricKind.RATIO:
        return metric.name
    return _("%(metric)s per visitor") % {"metric": metric.name}


# How the reason kinds of decide (`content.resolution.ReasonKind`) read in a report's rows.
REASON_LABELS = {
    "segment": gettext_lazy("segment"),
    "experiment": gettext_lazy("experiment"),
    "holdout": gettext_lazy("holdout"),
    "optimized": gettext_lazy("optimized"),
    "default": gettext_lazy("default"),
}


def reason_label(reason: str) -> str:
    label = REASON_LABELS.get(reason)
    return str(label) if label is not None else reason


METRIC_SUMS = ("n", "converted", "total", "total_sq", "den_total", "den_total_sq", "cross_total")


def _metric_sums(rows: Any, keys: tuple[str, ...]) -> dict[tuple, dict[str, float]]:
    grouped = rows.values(*keys).annotate(**{f: Sum(f) for f in METRIC_SUMS}).order_by()
    return {tuple(r[k] for k in keys): r for r in grouped}


def _variant_table(
    name: str,
    title: str,
    traffic: Any,
    metric_rows: Any,
    metric: Metric | None,
    keys: tuple[str, ...],
    labels: list[str],
) -> Table:
    """Per group of `keys`: impressions, visitors, clicks, CTR (Wilson), the metric."""
    sums = (
        traffic.values(*keys)
        .annotate(impressions=Sum("impressions"), visitors=Sum("visitors"), clicks=Sum("clicks"))
        .order_by(*keys)
    )
    by_metric = _metric_sums(metric_rows, keys) if metric is not None else {}
    table = Table(
        name,
        title,
        [
            *labels,
            *(_("Impressions"), _("Visitor-days"), _("Clicks"), _("CTR %"), _("CTR 95 % CI")),
            *(metric_label(metric), _("95 % CI"), _("Exposed visitor-days")),
        ],
    )
    for r in sums:
        group = tuple(r[k] for k in keys)
        shown = tuple(
            reason_label(v) if k == "reason" else v for k, v in zip(keys, group, strict=True)
        )
        impressions, clicks = r["impressions"] or 0, r["clicks"] or 0
        m = by_metric.get(group, {})
        ctr = wilson_interval(min(clicks, impressions), impressions)
        table.rows.append(
            [
                *shown,
                impressions,
                r["visitors"] or 0,
                clicks,
                _pct(min(clicks, impressions) / impressions) if impressions else None,
                _interval(ctr, True),
                *_metric_cells(metric, m),
                int(m.get("n") or 0),
            ]
        )
        if impressions < MIN_SAMPLE or (metric is not None and (m.get("n") or 0) < MIN_SAMPLE):
            table.low_rows.add(len(table.rows) - 1)
    return table


def _series(
    rows: Any, since: date, until: date, key: str, value: str, ratio_of: str | None = None
) -> tuple[list[str], list[Dataset]]:
    """Daily values per `key` (e.g. variant): `value`, or value / ratio_of."""
    days = _days(since, until)
    fields = [value] + ([ratio_of] if ratio_of else [])
    grouped = rows.values("day", key).annotate(**{f"s_{f}": Sum(f) for f in fields}).order_by()
    series: dict[str, dict[date, float | None]] = defaultdict(dict)
    for r in grouped:
        top = r[f"s_{value}"] or 0
        if ratio_of:
            bottom = r[f"s_{ratio_of}"] or 0
            series[r[key]][r["day"]] = round(100 * top / bottom, 2) if bottom else None
        else:
            series[r[key]][r["day"]] = top
    labels = [d.isoformat() for d in days]
    datasets: list[Dataset] = [
        {"label": name, "data": [points.get(d) for d in days]}
        for name, points in sorted(series.items())
    ]
    return labels, datasets


def report_metrics(*, site_id: int) -> list[Metric]:
    return list(Metric.objects.filter(site_id=site_id).order_by("kind", "key"))


def default_metric(metrics: list[Metric], key: str | None) -> Metric | None:
    if key:
        return next((m for m in metrics if m.key == key), None)
    conversions = [m for m in metrics if m.kind == MetricKind.CONVERSION]
    return (conversions or metrics or [None])[0]


def latest_segment_sizes(*, site_id: int) -> dict[str, int]:
    last = SegmentSizeDay.objects.filter(site_id=site_id).order_by("-day").first()
    if last is None:
        return {}
    rows = SegmentSizeDay.objects.filter(site_id=site_id, day=last.day)
    return dict(rows.values_list("segment", "size"))


def dashboard_report(*, site_id: int, since: date, until: date, metric: Metric | None) -> Report:
    traffic = VariantDay.objects.filter(site_id=site_id, segment="", day__range=(since, until))
    metric_rows = MetricDay.objects.filter(
        site_id=site_id, segment="", day__range=(since, until), metric=metric
    )
    daily = {
        r["day"]: r
        for r in traffic.values("day")
        .annotate(i=Sum("impressions"), v=Sum("visitors"), c=Sum("clicks"))
        .order_by()
    }
    days = _days(since, until)
    traffic_table = Table(
        "traffic",
        _("Traffic per day"),
        [_("Day"), _("Impressions"), _("Visitor-days"), _("Clicks")],
    )
    for d in days:
        r = daily.get(d, {})
        traffic_table.rows.append(
            [d.isoformat(), r.get("i") or 0, r.get("v") or 0, r.get("c") or 0]
        )
    variants = _variant_table(
        "variants",
        _("Top variants"),
        traffic,
        metric_rows,
        metric,
        ("slot", "variant"),
        [_("Slot"), _("Variant")],
    )
    order = sorted(range(len(variants.rows)), key=lambda i: -(variants.rows[i][2] or 0))
    order = order[:TOP_VARIANTS]
    variants.low_rows = {new for new, old in enumerate(order) if old in variants.low_rows}
    variants.rows = [variants.rows[i] for i in order]
    slots = Table("slots", _("Placements and screens"), [_("Slot"), _("Impressions"), _("Clicks")])
    for r in (
        traffic.values("slot")
        .annotate(i=Sum("impressions"), c=Sum("clicks"))
        .order_by("-i", "slot")
    ):
        slots.rows.append([r["slot"], r["i"] or 0, r["c"] or 0])
    sizes = latest_segment_sizes(site_id=site_id)
    segments = Table("segments", _("Segments by size"), [_("Segment"), _("Members")])
    for key, size in sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0])):
        segments.rows.append([key, size])
    changes = Table(
        "changes",
        _("What changed recently"),
        [_("When"), _("Who"), _("Action"), _("Slot"), _("Revision")],
    )
    for entry in AuditEntry.objects.filter(site_id=site_id).select_related("actor")[:15]:
        changes.rows.append(
            [
                entry.created_at.strftime("%Y-%m-%d %H:%M"),
                str(entry.actor or _("system")),
                entry.action,
                f"{entry.slot_kind} {entry.slot_key}",
                entry.revision_number,
            ]
        )
    chart: Chart = {
        "id": "traffic",
        "title": _("Traffic"),
        "type": "line",
        "labels": [d.isoformat() for d in days],
        "datasets": [
            {"label": _("Impressions"), "data": [row[1] for row in traffic_table.rows]},
            {"label": _("Clicks"), "data": [row[3] for row in traffic_table.rows]},
        ],
        "percent": False,
    }
    size_chart: Chart = {
        "id": "segment-sizes",
        "title": _("Segments by size"),
        "type": "bar",
        "labels": [row[0] for row in segments.rows[:15]],
        "datasets": [{"label": _("Members"), "data": [row[1] for row in segments.rows[:15]]}],
        "percent": False,
    }
    return Report(
        _("Analytics"),
        [traffic_table, variants, slots, segments, changes],
        [chart, size_chart],
    )


def slot_report(
    *, site_id: int, slot: str, since: date, until: date, metric: Metric | None
) -> Report:
    traffic = VariantDay.objects.filter(
        site_id=site_id, segment="", slot=slot, day__range=(since, until)
    )
    metric_rows = MetricDay.objects.filter(
        site_id=site_id, segment="", slot=slot, day__range=(since, until), metric=metric
    )
    variants = _variant_table(
        "variants", _("Variants"), traffic, metric_rows, metric, ("variant",), [_("Variant")]
    )
    reasons = _variant_table(
        "reasons",
        _("Variants by reason shown"),
        traffic,
        metric_rows,
        metric,
        ("variant", "reason", "reason_key"),
        [_("Variant"), _("Reason"), _("Segment / experiment / holdout / policy")],
    )
    charts: list[Chart] = []
    labels, data = _series(traffic, since, until, "variant", "impressions")
    charts.append(
        {
            "id": "impressions",
            "title": _("Impressions per day"),
            "type": "line",
            "labels": labels,
            "datasets": data,
            "percent": False,
        }
    )
    labels, data = _series(traffic, since, until, "variant", "clicks", "impressions")
    charts.append(
        {
            "id": "ctr",
            "title": _("CTR per day (%)"),
            "type": "line",
            "labels": labels,
            "datasets": data,
            "percent": True,
        }
    )
    if metric is not None:
        if metric.kind == MetricKind.CONVERSION:
            labels, data = _series(metric_rows, since, until, "variant", "converted", "n")
            title = _("%(metric)s per day (%%)") % {"metric": metric.name}
        else:
            labels, data = _series(metric_rows, since, until, "variant", "total")
            title = _("%(metric)s: daily total") % {"metric": metric.name}
        charts.append(
            {
                "id": "metric",
                "title": title,
                "type": "line",
                "labels": labels,
                "datasets": data,
                "percent": metric.kind == MetricKind.CONVERSION,
            }
        )
    title = _("Placement or screen “%(slot)s”") % {"slot": slot}
    return Report(title, [variants, reasons], charts)


def _overlap(site_id: int, keys: list[str]) -> Table:
    """How many stored members each pair of segments shares (the diagonal: the size)."""
    segments = {s.key: s for s in Segment.objects.filter(site_id=site_id, key__in=keys)}
    members = {}
    for key in keys:
        if key in segments and (q := member_profiles(segment=segments[key])) is not None:
            members[key] = q
    keys = [k for k in keys if k in members]
    table = Table("overlap", _("Overlap (members in both)"), [_("Segment"), *keys])
    for a in keys:
        row: list[Cell] = [a]
        for b in keys:
            row.append(members[a].filter(pk__in=members[b].values("pk")).count())
        table.rows.append(row)
    return table


def segment_report(
    *, site_id: int, segment: str, since: date, until: date, metric: Metric | None
) -> Report:
    sizes = SegmentSizeDay.objects.filter(
        site_id=site_id, segment=segment, day__range=(since, until)
    ).order_by("day")
    size_table = Table("sizes", _("Size over time"), [_("Day"), _("Members")])
    for row in sizes:
        size_table.rows.append([row.day.isoformat(), row.size])
    latest = latest_segment_sizes(site_id=site_id)
    others = [s.key for s in rollup_segments(site_id=site_id)]
    others.sort(key=lambda k: -latest.get(k, 0))
    keys = [segment, *[k for k in others if k != segment][: MAX_OVERLAP_SEGMENTS - 1]]
    overlap = _overlap(site_id, keys)
    traffic = VariantDay.objects.filter(site_id=site_id, segment=segment, day__range=(since, until))
    metric_rows = MetricDay.objects.filter(
        site_id=site_id, segment=segment, day__range=(since, until), metric=metric
    )
    response = _variant_table(
        "response",
        _("How members respond to each variant"),
        traffic,
        metric_rows,
        metric,
        ("slot", "variant"),
        [_("Slot"), _("Variant")],
    )
    charts: list[Chart] = [
        {
            "id": "size",
            "title": _("Members over time"),
            "type": "line",
            "labels": [r[0] for r in size_table.rows],
            "datasets": [{"label": segment, "data": [r[1] for r in size_table.rows]}],
            "percent": False,
        }
    ]
    if metric is not None and response.rows:
        metric_index = len(response.headers) - 3
        charts.append(
            {
                "id": "response",
                "title": metric_label(metric),
                "type": "bar",
                "labels": [f"{r[0]} / {r[1]}" for r in response.rows],
                "datasets": [{"label": segment, "data": [r[metric_index] for r in response.rows]}],
                "percent": metric.kind == MetricKind.CONVERSION,
            }
        )
    title = _("Segment “%(segment)s”") % {"segment": segment}
    return Report(title, [size_table, overlap, response], charts)
