"""A stored metric as the pure definition (`analytics.metrics`) and its problems."""

from __future__ import annotations

from typing import Any

from analytics.metrics import MetricError, MetricSpec, RatioSpec, metric_spec
from analytics.models import Metric, MetricKind


def metric_plain(*, metric: Metric) -> dict[str, Any]:
    """The metric as the pure module's plain definition."""
    if metric.kind == MetricKind.RATIO:
        return {
            "kind": "ratio",
            "numerator": metric_plain(metric=metric.numerator) if metric.numerator else None,
            "denominator": metric_plain(metric=metric.denominator) if metric.denominator else None,
        }
    plain: dict[str, Any] = {
        "kind": metric.kind,
        "event": metric.event,
        "window_days": metric.window_days,
        "cap": {"kind": metric.cap, "value": metric.cap_value},
    }
    if metric.where:
        plain["where"] = metric.where
    if metric.property:
        plain["property"] = metric.property
    return plain


def metric_definition(*, metric: Metric) -> MetricSpec | RatioSpec:
    """The compiled definition; raises MetricError when the stored one is invalid."""
    return metric_spec(metric_plain(metric=metric))


def metric_definition_errors(*, metric: Metric) -> dict[str, str]:
    """Every problem of the metric's definition, by field; {} when it is valid."""
    errors: dict[str, str] = {}
    if metric.kind == MetricKind.RATIO:
        for side in ("numerator", "denominator"):
            part = getattr(metric, side)
            if part is None:
                errors[side] = "A ratio needs a numerator and a denominator metric."
            elif part.site_id != metric.site_id:
                errors[side] = "Must be a metric of the same site."
            elif part.kind == MetricKind.RATIO:
                errors[side] = "Must be a conversion, count or sum metric, not a ratio."
        for name in ("event", "property", "where"):
            if getattr(metric, name):
                errors[name] = "A ratio takes its events from its two metrics."
        if errors:
            return errors
    elif metric.numerator_id or metric.denominator_id:
        errors["numerator"] = "Only a ratio has a numerator and a denominator."
    try:
        metric_definition(metric=metric)
    except MetricError as exc:
        prefix_map = {"numerator.": "numerator", "denominator.": "denominator"}
        for path, message in exc.errors.items():
            head = next((v for k, v in prefix_map.items() if path.startswith(k)), None)
            field = head or path.split(".")[0]
            if field == "cap":
                field = "cap_value" if path.endswith(".value") else "cap"
            errors.setdefault(field, f"{path}: {message}" if "." in path else message)
    return errors


def site_metrics(*, site_id: int) -> list[Metric]:
    return list(Metric.objects.filter(site_id=site_id).select_related("numerator", "denominator"))
