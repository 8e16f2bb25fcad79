"""Reads about optimizations: the decisions delivery logged, each with its goal outcome,
as training, the promotion gate and the reports read them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from analytics.metrics import MetricSpec, RatioSpec
from analytics.metrics.values import unit_value
from analytics.selectors.metrics import metric_definition
from experiments.models import Optimization, OptimizationStatus, PolicyDecision
from experiments.selectors.units import unit_named_events


@dataclass(frozen=True, slots=True)
class LoggedDecision:
    """One logged decision and its goal outcome so far."""

    unit_id: str
    version: int
    arm_key: str
    propensity: float
    holdout: bool
    features: Mapping[str, Any]
    decided_at: datetime
    reward: float  # 1.0: the goal happened in [decided_at, decided_at + window), so far
    matured: bool  # the goal's window has closed: the reward is final


def goal_spec(*, optimization: Optimization) -> MetricSpec:
    """The goal's definition as a reward: a conversion, count or sum metric (a visitor's
    reward is 1 when its value is positive). Raises MetricError when it is invalid, and
    ValueError for a ratio, which has no per-decision reward."""
    spec = metric_definition(metric=optimization.goal)
    if isinstance(spec, RatioSpec):
        raise ValueError("A ratio metric cannot be an optimization goal.")
    return spec


def optimizations_running(*, site_id: int | None = None) -> QuerySet[Optimization]:
    rows = Optimization.objects.filter(status=OptimizationStatus.RUNNING)
    if site_id is not None:
        rows = rows.filter(site_id=site_id)
    return rows.select_related("goal", "placement", "screen", "live_version")


def logged_decisions(
    *,
    optimization: Optimization,
    start: datetime | None = None,
    end: datetime | None = None,
    now: datetime | None = None,
) -> list[LoggedDecision]:
    """The optimization's decisions made in [start, end), oldest first, each with its
    reward: whether the unit (or the person it belongs to) reached the goal in the goal
    metric's window after the decision, as far as events up to `now` tell."""
    now = now or timezone.now()
    spec = goal_spec(optimization=optimization)
    window = timedelta(days=spec.window_days)
    rows = PolicyDecision.objects.filter(optimization=optimization)
    if start is not None:
        rows = rows.filter(decided_at__gte=start)
    if end is not None:
        rows = rows.filter(decided_at__lt=end)
    decisions = list(
        rows.order_by("decided_at", "pk").values_list(
            "unit_id", "version", "arm_key", "propensity", "holdout", "features", "decided_at"
        )
    )
    if not decisions:
        return []
    first = decisions[0][6]
    last = decisions[-1][6]
    events = unit_named_events(
        site_id=optimization.site_id,
        unit_ids=sorted({d[0] for d in decisions}),
        names={spec.event},
        start=first,
        end=min(last + window, now + timedelta(seconds=1)),
    )
    out: list[LoggedDecision] = []
    for unit_id, version, arm, propensity, holdout, features, at in decisions:
        value = unit_value(spec, at, events.get(unit_id, ()))
        out.append(
            LoggedDecision(
                unit_id=unit_id,
                version=version,
                arm_key=arm,
                propensity=propensity,
                holdout=holdout,
                features=features or {},
                decided_at=at,
                reward=1.0 if value > 0 else 0.0,
                matured=at + window <= now,
            )
        )
    return out
