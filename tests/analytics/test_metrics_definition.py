"""The pure metric definition: each kind, property filters, windows, capping, ratios and
the statistics reports show."""

from __future__ import annotations

import math
import random
import statistics
from datetime import UTC, datetime, timedelta

import pytest

from analytics.metrics import (
    Exposure,
    MetricError,
    SufficientStats,
    UnitEvent,
    cap_threshold,
    mean_interval,
    metric_spec,
    ratio_interval,
    ratio_unit_values,
    unit_value,
    unit_values,
    wilson_interval,
)

T0 = datetime(2026, 11, 1, 12, tzinfo=UTC)


def ev(name, days=0.0, **props):
    return UnitEvent(name, props, T0 + timedelta(days=days))


EVENTS = [
    ev("purchase", -1, price=100),  # before the exposure: never counts
    ev("purchase", 0.5, price=20, category="shoes"),
    ev("purchase", 2, price=30, category="hats"),
    ev("purchase", 6.9, price=5, category="shoes"),
    ev("purchase", 7.1, price=1000, category="shoes"),  # after a 7-day window
    ev("signup", 1),
]


def test_each_kind_counts_only_events_in_the_window():
    conversion = metric_spec({"kind": "conversion", "event": "signup", "window_days": 2})
    count = metric_spec({"kind": "count", "event": "purchase"})
    revenue = metric_spec({"kind": "sum", "event": "purchase", "property": "price"})
    assert unit_value(conversion, T0, EVENTS) == 1.0
    assert unit_value(conversion, T0 + timedelta(days=1.5), EVENTS) == 0.0
    assert unit_value(count, T0, EVENTS) == 3.0
    assert unit_value(revenue, T0, EVENTS) == 55.0


def test_where_reuses_the_criteria_language():
    shoes = {"all": [{"field": "properties.category", "op": "eq", "value": "shoes"}]}
    spec = metric_spec({"kind": "sum", "event": "purchase", "property": "price", "where": shoes})
    assert unit_value(spec, T0, EVENTS) == 25.0
    big = {"all": [{"field": "properties.price", "op": "gte", "value": 25}]}
    assert (
        unit_value(metric_spec({"kind": "count", "event": "purchase", "where": big}), T0, EVENTS)
        == 1
    )


def test_sum_ignores_non_numbers():
    events = [ev("buy", 0, price="12"), ev("buy", 0, price=True), ev("buy", 0, price=2.5)]
    spec = metric_spec({"kind": "sum", "event": "buy", "property": "price"})
    assert unit_value(spec, T0, events) == 2.5


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        ({"kind": "rate", "event": "x"}, "kind"),
        ({"kind": "count"}, "event"),
        ({"kind": "sum", "event": "buy"}, "property"),
        ({"kind": "count", "event": "x", "property": "p"}, "property"),
        ({"kind": "count", "event": "x", "window_days": 0}, "window_days"),
        ({"kind": "count", "event": "x", "window_days": 91}, "window_days"),
        ({"kind": "count", "event": "x", "cap": {"kind": "percentile", "value": 150}}, "cap.value"),
        ({"kind": "conversion", "event": "x", "cap": {"kind": "value", "value": 3}}, "cap"),
        (
            {
                "kind": "count",
                "event": "x",
                "where": {"all": [{"field": "profile.age", "op": "gt", "value": 1}]},
            },
            "where.all[0].field",
        ),
        ({"kind": "ratio", "numerator": {"kind": "count", "event": "x"}}, "denominator"),
    ],
    ids=[
        "kind",
        "no-event",
        "sum-without-property",
        "property-on-count",
        "window-zero",
        "window-too-long",
        "percentile",
        "cap-conversion",
        "where-outside-properties",
        "ratio-half",
    ],
)
def test_invalid_definitions_name_the_path(raw, path):
    with pytest.raises(MetricError) as caught:
        metric_spec(raw)
    assert path in caught.value.errors, caught.value.errors


def test_capping_at_a_value_and_at_a_percentile():
    exposures = [
        Exposure(f"u{i}", T0, [ev("buy", 0.1, price=float(i + 1))]) for i in range(100)
    ] + [Exposure("whale", T0, [ev("buy", 0.1, price=1_000_000.0)])]
    fixed = metric_spec(
        {"kind": "sum", "event": "buy", "property": "price", "cap": {"kind": "value", "value": 50}}
    )
    values = unit_values(fixed, exposures)
    assert values["whale"] == 50 and values["u10"] == 11 and max(values.values()) == 50
    p99 = metric_spec(
        {
            "kind": "sum",
            "event": "buy",
            "property": "price",
            "cap": {"kind": "percentile", "value": 99},
        }
    )
    values = unit_values(p99, exposures)
    uncapped = sorted([float(i + 1) for i in range(100)] + [1_000_000.0])
    threshold = uncapped[math.ceil(0.99 * 101) - 1]
    assert values["whale"] == threshold == cap_threshold(p99.cap, uncapped)
    assert values["u0"] == 1.0


def test_ratio_takes_both_sides_per_unit():
    spec = metric_spec(
        {
            "kind": "ratio",
            "numerator": {"kind": "sum", "event": "purchase", "property": "price"},
            "denominator": {"kind": "count", "event": "purchase"},
        }
    )
    num, den = ratio_unit_values(spec, [Exposure("a", T0, EVENTS), Exposure("b", T0, [])])
    assert num == {"a": 55.0, "b": 0.0} and den == {"a": 3.0, "b": 0.0}


def test_sufficient_statistics_match_the_data_and_add_up():
    rng = random.Random(7)
    ys = [rng.expovariate(0.1) * (rng.random() < 0.3) for _ in range(500)]
    stats = SufficientStats.of(ys)
    assert stats.n == 500 and stats.converted == sum(1 for y in ys if y)
    assert stats.mean == pytest.approx(statistics.fmean(ys))
    assert stats.variance == pytest.approx(statistics.variance(ys))
    summed = SufficientStats.of(ys[:200]) + SufficientStats.of(ys[200:])
    assert (summed.n, summed.converted) == (stats.n, stats.converted)
    assert (summed.total, summed.total_sq) == pytest.approx((stats.total, stats.total_sq))
    low, high = mean_interval(stats)
    assert low < stats.mean < high


def test_wilson_interval_is_inside_zero_one_even_at_the_edges():
    assert wilson_interval(0, 0) is None
    low, high = wilson_interval(0, 10)
    assert low == pytest.approx(0.0, abs=1e-12) and 0 < high < 0.35
    low, high = wilson_interval(50, 100)
    assert low == pytest.approx(0.4038, abs=1e-3) and high == pytest.approx(0.5962, abs=1e-3)


def test_ratio_interval_covers_the_ratio():
    rng = random.Random(3)
    nums, dens = [], []
    for _ in range(400):
        orders = rng.randint(0, 3)
        dens.append(orders)
        nums.append(sum(rng.uniform(10, 30) for _ in range(orders)))
    low, high = ratio_interval(
        400,
        sum(nums),
        sum(x * x for x in nums),
        sum(dens),
        sum(x * x for x in dens),
        sum(a * b for a, b in zip(nums, dens, strict=True)),
    )
    ratio = sum(nums) / sum(dens)
    assert low < ratio < high and high - low < ratio * 0.3
