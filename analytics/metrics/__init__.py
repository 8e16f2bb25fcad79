"""Metrics (goals): one definition of a visitor's value after an exposure, shared by the
rollups, the reports, experiments and optimisation. Pure: no Django.

    spec = metric_spec({"kind": "sum", "event": "purchase", "property": "price",
                        "window_days": 7, "cap": {"kind": "percentile", "value": 99}})
    values = unit_values(spec, exposures)        # {unit: y}, capped
    stats = SufficientStats.of(values.values())   # n, Σy, Σy²
"""

from analytics.metrics.capping import cap_threshold, capped
from analytics.metrics.definitions import (
    CapSpec,
    MetricError,
    MetricSpec,
    RatioSpec,
    UnitEvent,
    metric_spec,
)
from analytics.metrics.stats import (
    SufficientStats,
    mean_interval,
    ratio_interval,
    wilson_interval,
)
from analytics.metrics.values import Exposure, ratio_unit_values, unit_value, unit_values

__all__ = [
    "CapSpec",
    "Exposure",
    "MetricError",
    "MetricSpec",
    "RatioSpec",
    "SufficientStats",
    "UnitEvent",
    "cap_threshold",
    "capped",
    "mean_interval",
    "metric_spec",
    "ratio_interval",
    "ratio_unit_values",
    "unit_value",
    "unit_values",
    "wilson_interval",
]
