"""What a metric is, as plain data, and the checks of a definition (errors with paths)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from segments.criteria import CriteriaError, compile_criteria

BaseKind = Literal["conversion", "count", "sum"]
CapKindName = Literal["none", "value", "percentile"]
BASE_KINDS: frozenset[str] = frozenset({"conversion", "count", "sum"})
MAX_WINDOW_DAYS = 90

PropertyFilter = Callable[[Mapping[str, Any]], bool]


class MetricError(ValueError):
    """An invalid metric definition; `errors` maps a field path to its message."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{path}: {message}" for path, message in errors.items()))


@dataclass(frozen=True, slots=True)
class UnitEvent:
    """An event of one unit (visitor), as a metric reads it."""

    name: str
    properties: Mapping[str, Any]
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class CapSpec:
    kind: CapKindName = "none"
    value: float | None = None  # the fixed cap, or the percentile (0-100]


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """A conversion, count or sum over the events named `event` that pass `where`, within
    `window_days` after the exposure."""

    kind: BaseKind
    event: str
    window_days: int = 7
    where: PropertyFilter | None = None
    property_name: str = ""  # summed (sum); a dotted path into the event's properties
    cap: CapSpec = CapSpec()

    @property
    def is_ratio(self) -> bool:
        return False


@dataclass(frozen=True, slots=True)
class RatioSpec:
    """Σ numerator / Σ denominator over the exposed units (e.g. revenue per order)."""

    numerator: MetricSpec
    denominator: MetricSpec
    kind: Literal["ratio"] = "ratio"

    @property
    def is_ratio(self) -> bool:
        return True

    @property
    def window_days(self) -> int:
        return max(self.numerator.window_days, self.denominator.window_days)


def _where_filter(event: str, where: Any, errors: dict[str, str], path: str) -> PropertyFilter:
    """The criteria language's `where` (property conditions), compiled once."""
    try:
        rule = compile_criteria({"event": event or "x", "where": where})
    except CriteriaError as exc:
        for err in exc.errors or [exc]:
            sub = err.path.removeprefix("$").removeprefix(".where").lstrip(".")
            errors[f"{path}.{sub}" if sub else path] = err.message
        return lambda properties: False
    name = event or "x"

    def passes(properties: Mapping[str, Any]) -> bool:
        return rule.matches({"events": [{"name": name, "properties": dict(properties)}]})

    return passes


def _cap(raw: Any, errors: dict[str, str], path: str) -> CapSpec:
    if raw is None:
        return CapSpec()
    if not isinstance(raw, Mapping):
        errors[path] = 'Expected {"kind": "value" | "percentile", "value": number}.'
        return CapSpec()
    kind, value = raw.get("kind", "none"), raw.get("value")
    if kind == "none":
        return CapSpec()
    if kind not in ("value", "percentile"):
        errors[f"{path}.kind"] = "Must be none, value or percentile."
        return CapSpec()
    if isinstance(value, bool) or not isinstance(value, int | float):
        errors[f"{path}.value"] = "A number is required."
        return CapSpec()
    if kind == "percentile" and not 0 < value <= 100:
        errors[f"{path}.value"] = "A percentile between 0 (excluded) and 100."
        return CapSpec()
    if kind == "value" and value < 0:
        errors[f"{path}.value"] = "The cap must not be negative."
        return CapSpec()
    return CapSpec(kind=kind, value=float(value))


def _base(raw: Mapping[str, Any], errors: dict[str, str], prefix: str) -> MetricSpec:
    kind = raw.get("kind")
    event = raw.get("event")
    if not isinstance(event, str) or not event.strip() or len(event) > 100:
        errors[f"{prefix}event"] = "The name of the event counted (1 to 100 characters)."
        event = ""
    window = raw.get("window_days", 7)
    if isinstance(window, bool) or not isinstance(window, int) or not 1 <= window <= 90:
        errors[f"{prefix}window_days"] = f"A whole number of days from 1 to {MAX_WINDOW_DAYS}."
        window = 7
    where = raw.get("where")
    where_fn = _where_filter(event, where, errors, f"{prefix}where") if where else None
    prop = raw.get("property") or ""
    if kind == "sum" and (not isinstance(prop, str) or not prop):
        errors[f"{prefix}property"] = "A sum needs the numeric event property to add up."
    if kind != "sum" and prop:
        errors[f"{prefix}property"] = "Only a sum reads a property."
    cap = _cap(raw.get("cap"), errors, f"{prefix}cap")
    if kind == "conversion" and cap.kind != "none":
        errors[f"{prefix}cap"] = "A conversion is 0 or 1: there is nothing to cap."
    return MetricSpec(
        kind=kind if kind in BASE_KINDS else "count",  # type: ignore[arg-type]
        event=event,
        window_days=window,
        where=where_fn,
        property_name=prop if isinstance(prop, str) else "",
        cap=cap,
    )


def metric_spec(raw: Mapping[str, Any]) -> MetricSpec | RatioSpec:
    """A metric from its plain definition; raises MetricError listing every problem.

    {"kind": "conversion" | "count" | "sum", "event": name, "where": criteria group,
     "property": name (sum), "window_days": 1-90, "cap": {"kind", "value"}}
    {"kind": "ratio", "numerator": <a base metric>, "denominator": <a base metric>}
    """
    errors: dict[str, str] = {}
    kind = raw.get("kind")
    if kind == "ratio":
        parts = {}
        for side in ("numerator", "denominator"):
            part = raw.get(side)
            if not isinstance(part, Mapping) or part.get("kind") not in BASE_KINDS:
                errors[side] = "A conversion, count or sum metric."
            else:
                parts[side] = _base(part, errors, f"{side}.")
        if errors:
            raise MetricError(errors)
        return RatioSpec(numerator=parts["numerator"], denominator=parts["denominator"])
    if kind not in BASE_KINDS:
        errors["kind"] = "Must be conversion, count, sum or ratio."
        raise MetricError(errors)
    spec = _base(raw, errors, "")
    if errors:
        raise MetricError(errors)
    return spec
