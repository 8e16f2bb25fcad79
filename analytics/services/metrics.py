"""Creating, changing and deleting metrics; every write is checked by the one definition."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError, RestrictedError

from analytics.models import Metric
from tenancy.models import Site

METRIC_FIELDS = (
    "key",
    "name",
    "description",
    "kind",
    "event",
    "where",
    "property",
    "window_days",
    "cap",
    "cap_value",
    "numerator",
    "denominator",
)


def _save(metric: Metric) -> Metric:
    metric.full_clean(validate_unique=False, validate_constraints=False)
    clash = Metric.objects.filter(site_id=metric.site_id, key=metric.key).exclude(pk=metric.pk)
    if clash.exists():
        raise ValidationError({"key": f"This site already has a metric {metric.key!r}."})
    metric.save()
    return metric


def metric_create(*, site: Site, **fields: Any) -> Metric:
    unknown = set(fields) - set(METRIC_FIELDS)
    if unknown:
        raise TypeError(f"unknown metric fields {sorted(unknown)}")
    with transaction.atomic():
        return _save(Metric(site=site, **fields))


def metric_update(*, metric: Metric, **fields: Any) -> Metric:
    for name, value in fields.items():
        if name not in METRIC_FIELDS:
            raise TypeError(f"unknown metric field {name!r}")
        setattr(metric, name, value)
    with transaction.atomic():
        return _save(metric)


def metric_delete(*, metric: Metric) -> None:
    """Delete a metric and its rollups; refused while a ratio metric uses it."""
    try:
        metric.delete()
    except (ProtectedError, RestrictedError) as exc:
        raise ValidationError(
            "A ratio metric, an experiment or an optimization uses this metric: remove it "
            "there first."
        ) from exc
