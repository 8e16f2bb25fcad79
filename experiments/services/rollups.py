"""Experiment rollups: per experiment x phase x cohort day (the UTC day of the units' first
exposure) x arm (x bandit batch), the units and each metric's sufficient statistics, so the
results page never scans raw events.

A unit is an Assignment's `unit_id` (the id delivery bucketed: an anonymous id, or the
bucketing id of a signed-in person). Its events are those sent under that id, plus those of
the person it belongs to (the profile whose bucketing id it is, or to which it is linked),
so a visitor who signs in keeps their conversions. Its value of a metric is the one
definition of `analytics.metrics` over ITS events in [first exposure, first exposure +
window): only what happened after the unit saw its arm counts. A percentile cap is taken
over the cohort's units, as the analytics rollups take it over a day's exposures.

The CUPED covariate of a metric with `cuped_days` is the same metric over the `cuped_days`
before the first exposure; a ratio metric's covariate sums carry its denominator instead.

Units seen in more than one arm of a phase (impressions or clicks attributed to another arm
of the experiment during the phase, e.g. a stale client or an assignment changed under them)
are excluded from every figure and counted on their cohort.

A cohort is rebuilt as a whole in one transaction (delete, then insert), so rebuilding is
idempotent; the refresh rebuilds the cohorts whose windows are still open and those that
events received since the last refresh can reach (late events are folded in).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Max, Min, Q
from django.utils import timezone

from analytics.metrics import MetricError, MetricSpec, RatioSpec, UnitEvent, cap_threshold
from analytics.metrics.values import unit_value
from analytics.models import Metric
from analytics.selectors.metrics import metric_definition
from experiments.models import (
    Assignment,
    BanditBatch,
    Experiment,
    ExperimentArmDay,
    ExperimentCohort,
    ExperimentMetricDay,
    ExperimentMode,
    ExperimentPhase,
    ExperimentRollupState,
    ExperimentStatus,
)
from experiments.selectors.units import unit_profiles
from segments.models import Event, EventKind, ReasonKind

logger = logging.getLogger(__name__)

CHUNK = 500
# Events committed out of order: wait this long before moving the watermark past them.
WATERMARK_LAG = timedelta(seconds=30)
# Stopped experiments keep being refreshed while late events can still reach them.
ATTRIBUTED_KINDS = (EventKind.IMPRESSION, EventKind.CLICK)


@dataclass(frozen=True)
class RollupResult:
    experiment_id: int
    cohorts: int
    units: int
    excluded: int


@dataclass(frozen=True)
class _MetricPlan:
    metric: Metric
    spec: MetricSpec | RatioSpec
    cuped_days: int

    @property
    def window_days(self) -> int:
        return self.spec.window_days


@dataclass
class _Unit:
    unit_id: str
    arm: str
    probability: float
    at: datetime
    batch: int = 0


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _utc_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def metric_plans(*, experiment: Experiment) -> list[_MetricPlan]:
    """The experiment's metrics with their compiled definitions (invalid ones skipped)."""
    plans = []
    rows = experiment.metrics.select_related("metric__numerator", "metric__denominator")
    for em in rows:
        try:
            spec = metric_definition(metric=em.metric)
        except MetricError:
            logger.warning("metric %s of experiment %s is invalid", em.metric.key, experiment.key)
            continue
        plans.append(_MetricPlan(em.metric, spec, em.cuped_days))
    return plans


def _longest_window(plans: Sequence[_MetricPlan]) -> int:
    return max((p.window_days for p in plans), default=0)


def _batches(experiment: Experiment, phase: int) -> list[tuple[int, datetime]]:
    """(number, started_at) of a bandit phase's batches, oldest first; [] for fixed weights."""
    if experiment.mode != ExperimentMode.BANDIT:
        return []
    return list(
        BanditBatch.objects.filter(experiment=experiment, phase=phase)
        .order_by("started_at", "number")
        .values_list("number", "started_at")
    )


def _batch_of(at: datetime, batches: Sequence[tuple[int, datetime]]) -> int:
    number = batches[0][0] if batches else 0
    for n, started in batches:
        if started <= at:
            number = n
        else:
            break
    return number


def _unit_events(
    experiment: Experiment,
    units: dict[str, _Unit],
    names: set[str],
    start: datetime,
    end: datetime,
    phase_span: tuple[datetime, datetime | None],
) -> tuple[dict[str, list[UnitEvent]], dict[str, set[str]]]:
    """Each unit's metric events in [start, end), and the arms of this experiment its
    attributed impressions and clicks name during the phase (`phase_span`; the reason does
    not carry the phase, and another phase may re-bucket)."""
    phase_start, phase_end = phase_span
    site_id = experiment.site_id
    unit_ids = sorted(units)
    profiles_of = unit_profiles(site_id=site_id, unit_ids=unit_ids)
    units_of_profile: dict[int, list[str]] = defaultdict(list)
    for unit_id, pids in profiles_of.items():
        for pid in pids:
            units_of_profile[pid].append(unit_id)
    prefix = f"{experiment.key}:"
    wanted = Q(name__in=names) | Q(
        kind__in=ATTRIBUTED_KINDS, reason=ReasonKind.EXPERIMENT, reason_key__startswith=prefix
    )
    base = Event.objects.filter(
        site_id=site_id, occurred_at__gte=start, occurred_at__lt=end
    ).filter(wanted)
    columns = ("pk", "visitor_id", "profile_id", "name", "properties", "occurred_at")
    columns += ("kind", "reason", "reason_key")
    seen: set[int] = set()
    rows: list[tuple[Any, ...]] = []
    for chunk in _chunks(unit_ids):
        rows.extend(base.filter(visitor_id__in=chunk).values_list(*columns))
    for chunk in _chunks(sorted(units_of_profile)):
        rows.extend(base.filter(profile_id__in=chunk).values_list(*columns))
    events: dict[str, list[UnitEvent]] = defaultdict(list)
    arms: dict[str, set[str]] = defaultdict(set)
    for pk, vid, pid, name, props, at, kind, reason, reason_key in rows:
        if pk in seen:
            continue
        seen.add(pk)
        owners = set(units_of_profile.get(pid, ())) if pid else set()
        if vid in units:
            owners.add(vid)
        attributed = (
            kind in ATTRIBUTED_KINDS
            and reason == ReasonKind.EXPERIMENT
            and reason_key.startswith(prefix)
            and phase_start <= at
            and (phase_end is None or at < phase_end)
        )
        for owner in owners:
            if attributed:
                arms[owner].add(reason_key[len(prefix) :])
            if name in names:
                events[owner].append(UnitEvent(name, props or {}, at))
    return events, arms


def _capped(spec: MetricSpec, raw: list[float]) -> list[float]:
    threshold = cap_threshold(spec.cap, raw)
    return raw if threshold is None else [min(v, threshold) for v in raw]


def _values(
    plan: _MetricPlan, cohort: list[_Unit], events: dict[str, list[UnitEvent]]
) -> tuple[list[float], list[float] | None]:
    """Each unit's value (capped over the cohort) and covariate (None: no covariate)."""
    spec = plan.spec

    def of(part: MetricSpec, shift_days: int = 0) -> list[float]:
        return _capped(
            part,
            [
                unit_value(part, u.at - timedelta(days=shift_days), events.get(u.unit_id, ()))
                for u in cohort
            ],
        )

    if isinstance(spec, RatioSpec):
        return of(spec.numerator), of(spec.denominator)
    if plan.cuped_days:
        return of(spec), of(replace(spec, window_days=plan.cuped_days), plan.cuped_days)
    return of(spec), None


def _phase_window(phase: ExperimentPhase) -> tuple[datetime, datetime | None]:
    return phase.started_at, phase.ended_at


def _rebuild_phase(
    experiment: Experiment,
    phase: ExperimentPhase,
    plans: list[_MetricPlan],
    since: date | None,
    until: date | None,
    now: datetime,
) -> RollupResult:
    assignments = Assignment.objects.filter(experiment=experiment, phase=phase.number)
    if since is not None:
        assignments = assignments.filter(first_exposed_at__gte=_day_start(since))
    if until is not None:
        assignments = assignments.filter(first_exposed_at__lt=_day_start(until + timedelta(1)))
    batches = _batches(experiment, phase.number)
    units = {
        unit_id: _Unit(unit_id, arm, probability, at, _batch_of(at, batches))
        for unit_id, arm, probability, at in assignments.values_list(
            "unit_id", "arm_key", "probability", "first_exposed_at"
        )
    }
    days: set[date] = {_utc_day(u.at) for u in units.values()}
    if since is not None and until is not None:
        # Cohorts of the range that no longer have units (e.g. erased) are emptied too.
        day = since
        while day <= until:
            days.add(day)
            day += timedelta(days=1)
    if not days:
        return RollupResult(experiment.pk, 0, 0, 0)

    events: dict[str, list[UnitEvent]] = {}
    arms_seen: dict[str, set[str]] = {}
    if units:
        first = min(u.at for u in units.values())
        last = max(u.at for u in units.values())
        longest = _longest_window(plans)
        pre = max((p.cuped_days for p in plans), default=0)
        phase_start, phase_end = _phase_window(phase)
        start = min(first - timedelta(days=pre), phase_start)
        end = last + timedelta(days=longest)
        if phase_end is not None:
            end = max(end, phase_end)
        names = {
            part.event
            for p in plans
            for part in (
                (p.spec.numerator, p.spec.denominator)
                if isinstance(p.spec, RatioSpec)
                else (p.spec,)
            )
        }
        events, arms_seen = _unit_events(
            experiment, units, names, start, max(end, first), (phase_start, phase_end)
        )

    excluded_by_day: dict[date, int] = defaultdict(int)
    cohorts: dict[date, list[_Unit]] = defaultdict(list)
    for unit in units.values():
        other = arms_seen.get(unit.unit_id, set()) - {unit.arm}
        if other:
            excluded_by_day[_utc_day(unit.at)] += 1
        else:
            cohorts[_utc_day(unit.at)].append(unit)

    cohort_rows: list[ExperimentCohort] = []
    arm_rows: list[tuple[date, ExperimentArmDay]] = []
    metric_rows: list[tuple[date, ExperimentMetricDay]] = []
    for day in sorted(days):
        members = cohorts.get(day, [])
        cohort_rows.append(
            ExperimentCohort(
                site_id=experiment.site_id,
                experiment=experiment,
                phase=phase.number,
                day=day,
                excluded_units=excluded_by_day.get(day, 0),
                computed_at=now,
            )
        )
        groups: dict[tuple[str, int], list[int]] = defaultdict(list)
        for index, unit in enumerate(members):
            groups[(unit.arm, unit.batch)].append(index)
        for (arm, batch), indexes in sorted(groups.items()):
            arm_rows.append(
                (
                    day,
                    ExperimentArmDay(
                        arm_key=arm,
                        batch=batch,
                        propensity=sum(members[i].probability for i in indexes) / len(indexes),
                        units=len(indexes),
                    ),
                )
            )
        for plan in plans:
            if not members:
                break
            ys, xs = _values(plan, members, events)
            for (arm, batch), indexes in sorted(groups.items()):
                row = ExperimentMetricDay(
                    arm_key=arm,
                    batch=batch,
                    metric=plan.metric,
                    n=len(indexes),
                    total=sum(ys[i] for i in indexes),
                    total_sq=sum(ys[i] * ys[i] for i in indexes),
                )
                if xs is not None:
                    row.has_covariate = True
                    row.cov_total = sum(xs[i] for i in indexes)
                    row.cov_total_sq = sum(xs[i] * xs[i] for i in indexes)
                    row.cross_total = sum(ys[i] * xs[i] for i in indexes)
                metric_rows.append((day, row))

    with transaction.atomic():
        ExperimentCohort.objects.filter(
            experiment=experiment, phase=phase.number, day__in=sorted(days)
        ).delete()
        created = ExperimentCohort.objects.bulk_create(cohort_rows, batch_size=CHUNK)
        by_day = {c.day: c for c in created}
        if any(c.pk is None for c in created):  # backends without RETURNING
            by_day = {
                c.day: c
                for c in ExperimentCohort.objects.filter(
                    experiment=experiment, phase=phase.number, day__in=sorted(days)
                )
            }
        for day, row in arm_rows:
            row.cohort = by_day[day]
        for day, row in metric_rows:
            row.cohort = by_day[day]
        ExperimentArmDay.objects.bulk_create([r for _, r in arm_rows], batch_size=CHUNK)
        ExperimentMetricDay.objects.bulk_create([r for _, r in metric_rows], batch_size=CHUNK)
    return RollupResult(
        experiment.pk,
        len(cohort_rows),
        sum(len(m) for m in cohorts.values()),
        sum(excluded_by_day.values()),
    )


def experiment_rollups_rebuild(
    *,
    experiment: Experiment,
    phase: int | None = None,
    since: date | None = None,
    until: date | None = None,
    now: datetime | None = None,
) -> RollupResult:
    """Recompute the cohorts of `experiment` (one phase, or every phase) whose day is in
    [since, until] (open ends: all of them) from assignments and events. Idempotent."""
    now = now or timezone.now()
    plans = metric_plans(experiment=experiment)
    phases = ExperimentPhase.objects.filter(experiment=experiment).order_by("number")
    if phase is not None:
        phases = phases.filter(number=phase)
    results = [_rebuild_phase(experiment, p, plans, since, until, now) for p in phases]
    return RollupResult(
        experiment.pk,
        sum(r.cohorts for r in results),
        sum(r.units for r in results),
        sum(r.excluded for r in results),
    )


def experiment_rollups_refresh(
    *, experiment: Experiment, now: datetime | None = None
) -> RollupResult:
    """Fold in what changed since the last refresh: the cohorts whose metric windows are
    still open (new assignments, new conversions), and the older ones that events received
    since then can reach (late events, by their occurrence time minus the longest window)."""
    now = now or timezone.now()
    upto = now - WATERMARK_LAG
    state, _ = ExperimentRollupState.objects.get_or_create(experiment=experiment)
    plans = metric_plans(experiment=experiment)
    longest = _longest_window(plans)
    today = _utc_day(now)
    since = today - timedelta(days=longest + 1)
    if state.watermark is None:
        since = None  # never rolled up: everything
    else:
        names = {
            part.event
            for p in plans
            for part in (
                (p.spec.numerator, p.spec.denominator)
                if isinstance(p.spec, RatioSpec)
                else (p.spec,)
            )
        }
        late = (
            Event.objects.filter(
                site_id=experiment.site_id,
                received_at__gt=state.watermark,
                received_at__lte=upto,
            )
            .filter(
                Q(name__in=names)
                | Q(reason=ReasonKind.EXPERIMENT, reason_key__startswith=f"{experiment.key}:")
            )
            .aggregate(first=Min("occurred_at"))["first"]
        )
        if late is not None:
            since = min(since, _utc_day(late) - timedelta(days=longest))
    result = experiment_rollups_rebuild(experiment=experiment, since=since, until=None, now=now)
    ExperimentRollupState.objects.filter(pk=state.pk).update(watermark=upto, refreshed_at=now)
    return result


def experiments_to_refresh(*, now: datetime | None = None) -> list[Experiment]:
    """Running and paused experiments, and stopped ones while late events can still reach
    their last cohorts (the longest metric window after stopping, and a day's margin)."""
    now = now or timezone.now()
    live = Q(status__in=(ExperimentStatus.RUNNING, ExperimentStatus.PAUSED))
    recent = Q(status=ExperimentStatus.STOPPED, stopped_at__gte=now - timedelta(days=91))
    candidates = list(Experiment.objects.filter(live | recent).order_by("pk"))
    out = []
    for experiment in candidates:
        if experiment.status == ExperimentStatus.STOPPED:
            window = _longest_window(metric_plans(experiment=experiment))
            if experiment.stopped_at and experiment.stopped_at < now - timedelta(days=window + 1):
                continue
        out.append(experiment)
    return out


def experiment_rollups_refresh_all(*, now: datetime | None = None) -> list[RollupResult]:
    return [
        experiment_rollups_refresh(experiment=e, now=now) for e in experiments_to_refresh(now=now)
    ]


def rollups_last_computed(*, experiment: Experiment, phase: int) -> datetime | None:
    return ExperimentCohort.objects.filter(experiment=experiment, phase=phase).aggregate(
        at=Max("computed_at")
    )["at"]
