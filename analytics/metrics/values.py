"""A unit's (visitor's) value of a metric after its exposure: the one definition."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from analytics.metrics.capping import capped
from analytics.metrics.definitions import MetricSpec, RatioSpec, UnitEvent


@dataclass(frozen=True, slots=True)
class Exposure:
    """A unit saw something at `at`; `events` are its events (any order, any time)."""

    unit: str
    at: datetime
    events: Sequence[UnitEvent]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if value == value and abs(value) != float("inf") else None  # NaN/inf


def _property(properties: Mapping[str, Any], path: str) -> Any:
    value: Any = properties
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def unit_value(spec: MetricSpec, exposed_at: datetime, events: Iterable[UnitEvent]) -> float:
    """Uncapped: 1/0 for a conversion, the number of events for a count, the sum of the
    property for a sum, over the matching events in [exposure, exposure + window)."""
    end = exposed_at + timedelta(days=spec.window_days)
    count, total = 0, 0.0
    for event in events:
        if event.name != spec.event or not exposed_at <= event.occurred_at < end:
            continue
        if spec.where is not None and not spec.where(event.properties):
            continue
        if spec.kind == "conversion":
            return 1.0
        if spec.kind == "sum":
            number = _number(_property(event.properties, spec.property_name))
            if number is None:
                continue
            total += number
        count += 1
    return total if spec.kind == "sum" else float(count)


def unit_values(spec: MetricSpec, exposures: Iterable[Exposure]) -> dict[str, float]:
    """Each unit's value, capped as the metric says (a percentile over these units)."""
    values = {e.unit: unit_value(spec, e.at, e.events) for e in exposures}
    return capped(spec.cap, values)


def ratio_unit_values(
    spec: RatioSpec, exposures: Sequence[Exposure]
) -> tuple[dict[str, float], dict[str, float]]:
    """Numerator and denominator values per unit."""
    return unit_values(spec.numerator, exposures), unit_values(spec.denominator, exposures)
