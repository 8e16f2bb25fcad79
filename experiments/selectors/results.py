"""An experiment's results, read from its rollups (`experiments.services.rollups`) and
analysed by `experiments.analysis`; and the lift of personalization from a site's global
holdout. A handful of queries whatever the number of days, arms and metrics.

    report = experiment_report(experiment=experiment)          # the current phase
    report.analysis.guidance, report.daily_effects, report.arms

Fixed-weight experiments are read with `analyse` (per-arm sums over the phase); bandits
with `analyse_bandit` (per arm x batch strata with the batch's propensities, so the
effects are inverse-propensity weighted). The daily effects are the primary metric's
cumulative effect of each arm against control up to each cohort day, with the interval of
the analysis method (a confidence sequence when sequential: safe to read every day).

The method is the experiment's `method` (sequential, fixed or bayesian; a bandit is
sequential or fixed). Its `tuning` is a planned sample *per arm*: a comparison of one arm
with control plans for twice it, a bandit's IPW sequences (whose N counts every arm's
units) for it times the number of arms.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Max, Sum

from analytics.models import Metric, MetricDay, MetricKind
from experiments import ipw
from experiments.analysis import (
    DEFAULT_SRM_MIN_COUNT,
    DEFAULT_SRM_THRESHOLD,
    Analysis,
    BanditStratum,
    MetricSpec,
    analyse,
    analyse_bandit,
)
from experiments.models import (
    BANDIT_METHODS,
    Arm,
    BanditBatch,
    Experiment,
    ExperimentArmDay,
    ExperimentCohort,
    ExperimentMetric,
    ExperimentMetricDay,
    ExperimentMode,
    ExperimentPhase,
    GlobalHoldout,
    MetricRole,
)
from experiments.reports import (
    ArmSummary,
    DailyAllocation,
    DailyEffect,
    ExperimentReport,
    PersonalizationLift,
)
from experiments.stats import InsufficientDataError, Method, SampleStats, compare, srm_gate
from segments.models import ReasonKind
from tenancy.models import Site

__all__ = ["experiment_report", "site_personalization_lift"]


@dataclass
class _Sums:
    n: int = 0
    total: float = 0.0
    total_sq: float = 0.0
    cov_total: float = 0.0
    cov_total_sq: float = 0.0
    cross_total: float = 0.0
    covariate: bool = True  # every row carried one

    def add(self, row: Mapping[str, Any]) -> None:
        self.n += row["n"]
        self.total += row["total"]
        self.total_sq += row["total_sq"]
        self.cov_total += row["cov_total"]
        self.cov_total_sq += row["cov_total_sq"]
        self.cross_total += row["cross_total"]
        self.covariate = self.covariate and row["has_covariate"]

    def stats(self) -> SampleStats:
        if self.covariate and self.n:
            return SampleStats(
                n=self.n,
                sum=self.total,
                sum_sq=self.total_sq,
                cov_sum=self.cov_total,
                cov_sum_sq=self.cov_total_sq,
                cross_sum=self.cross_total,
            )
        return SampleStats(n=self.n, sum=self.total, sum_sq=self.total_sq)


def _stats(rows: Iterable[Mapping[str, Any]], *, covariate: bool) -> SampleStats:
    sums = _Sums(covariate=covariate)
    for row in rows:
        sums.add(row)
    return sums.stats()


def analysis_method(experiment: Experiment) -> Method:
    """The experiment's method; a bandit has frequentist IPW intervals only (setup refuses
    bayesian for bandits; an older row falls back to the default)."""
    method: Method = experiment.method  # type: ignore[assignment]
    if experiment.mode == ExperimentMode.BANDIT and method not in BANDIT_METHODS:
        return "sequential"
    return method


def planned_total(experiment: Experiment, *, arms: int) -> float:
    """The sequential test's N*: `tuning` is per arm, N counts the units of `arms` arms."""
    return float(experiment.tuning * arms)


def _normalised(weights: Mapping[str, float], keys: Sequence[str]) -> dict[str, float]:
    raw = {k: float(weights.get(k, 0.0) or 0.0) for k in keys}
    total = sum(raw.values())
    if total <= 0:
        return {k: 1.0 / len(keys) for k in keys}
    return {k: v / total for k, v in raw.items()}


def _metric_specs(
    experiment_metrics: Sequence[ExperimentMetric],
) -> tuple[list[MetricSpec], dict[int, str], dict[str, bool]]:
    specs, keys, covariate = [], {}, {}
    for em in experiment_metrics:
        ratio = em.metric.kind == MetricKind.RATIO
        specs.append(MetricSpec(key=em.metric.key, role=em.role, ratio=ratio))
        keys[em.metric_id] = em.metric.key
        # CUPED only when the pre-period is on; a ratio's covariate is its denominator.
        covariate[em.metric.key] = ratio or em.cuped_days > 0
    return specs, keys, covariate


def _no_analysis(
    units: Mapping[str, float],
    weights: Mapping[str, float],
    explanation: str,
    *,
    experiment: Experiment,
) -> Analysis:
    keys = list(weights)
    srm = srm_gate(
        [units.get(k, 0) for k in keys],
        [weights[k] for k in keys],
        min_count=DEFAULT_SRM_MIN_COUNT,
        threshold=DEFAULT_SRM_THRESHOLD,
    )
    guidance = "check_split" if srm.hide_results else "keep_running"
    return Analysis(
        method=analysis_method(experiment),
        alpha=experiment.alpha,
        srm=srm,
        guidance=guidance,
        explanation=explanation,
    )


def _cumulative_effects(
    days: Sequence[date],
    rows: Sequence[Mapping[str, Any]],
    *,
    control: str,
    treatments: Sequence[str],
    spec: MetricSpec,
    covariate: bool,
    experiment: Experiment,
) -> list[DailyEffect]:
    """Fixed weights: the primary metric's effect of each arm up to each cohort day."""
    by_day: dict[date, dict[str, list[Mapping[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        by_day[row["cohort__day"]][row["arm_key"]].append(row)
    running: dict[str, _Sums] = {arm: _Sums(covariate=covariate) for arm in (control, *treatments)}
    out = []
    for day in days:
        for arm, arm_rows in by_day.get(day, {}).items():
            if arm in running:
                for row in arm_rows:
                    running[arm].add(row)
        for arm in treatments:
            effect = low = high = None
            try:
                r = compare(
                    running[control].stats(),
                    running[arm].stats(),
                    relative=spec.relative,
                    method=analysis_method(experiment),
                    alpha=experiment.alpha,
                    tuning=planned_total(experiment, arms=2),
                    ratio=spec.ratio,
                )
                effect, low, high = r.effect, r.ci_low, r.ci_high
            except (InsufficientDataError, ValueError):
                pass
            out.append(DailyEffect(day=day, arm=arm, effect=effect, ci_low=low, ci_high=high))
    return out


def _bandit_strata(
    rows: Sequence[Mapping[str, Any]],
    arm_rows: Sequence[Mapping[str, Any]],
    batches: Mapping[int, Mapping[str, float]],
    arm_keys: Sequence[str],
    metric_keys: Mapping[int, str],
    current: Mapping[str, float],
) -> list[BanditStratum]:
    """Per (arm, batch): the metrics' sums and the propensity the units were assigned with
    (the logged one; the batch's stored weight for an arm that got no unit)."""
    sums: dict[tuple[str, int], dict[str, _Sums]] = defaultdict(dict)
    for row in rows:
        key = metric_keys.get(row["metric_id"])
        if key is None:
            continue
        sums[(row["arm_key"], row["batch"])].setdefault(key, _Sums(covariate=False)).add(row)
    logged: dict[tuple[str, int], list[float]] = defaultdict(lambda: [0.0, 0.0])
    for row in arm_rows:
        acc = logged[(row["arm_key"], row["batch"])]
        acc[0] += row["propensity"] * row["units"]
        acc[1] += row["units"]
    numbers = sorted({b for _, b in logged} | set(batches))
    strata = []
    for batch in numbers:
        weights = _normalised(batches.get(batch) or current, arm_keys)
        for arm in arm_keys:
            acc = logged.get((arm, batch))
            propensity = acc[0] / acc[1] if acc and acc[1] else weights[arm]
            if not propensity > 0:
                propensity = 1e-6  # an arm with no share in a batch has no units in it
            by_metric = sums.get((arm, batch), {})
            strata.append(
                BanditStratum(
                    arm=arm,
                    batch=batch,
                    propensity=min(propensity, 1.0),
                    metrics={
                        key: by_metric[key].stats()
                        if key in by_metric
                        else SampleStats(n=0, sum=0.0, sum_sq=0.0)
                        for key in metric_keys.values()
                    },
                )
            )
    return strata


def _bandit_daily_effects(
    days: Sequence[date],
    rows: Sequence[Mapping[str, Any]],
    arm_rows: Sequence[Mapping[str, Any]],
    *,
    batches: Mapping[int, Mapping[str, float]],
    arm_keys: Sequence[str],
    control: str,
    primary: MetricSpec,
    primary_id: int,
    current: Mapping[str, float],
    experiment: Experiment,
) -> list[DailyEffect]:
    out = []
    treatments = [a for a in arm_keys if a != control]
    for day in days:
        upto_rows = [r for r in rows if r["cohort__day"] <= day and r["metric_id"] == primary_id]
        upto_arms = [r for r in arm_rows if r["cohort__day"] <= day]
        strata = _bandit_strata(
            upto_rows, upto_arms, batches, arm_keys, {primary_id: primary.key}, current
        )
        moments = ipw.moments_from_strata(
            [
                ipw.Stratum(arm=s.arm, propensity=s.propensity, stats=s.metrics[primary.key])
                for s in strata
                if s.metrics[primary.key].n > 0
            ]
        )
        n_total = sum(m.n for m in moments.values())
        for arm in treatments:
            effect = low = high = None
            if arm in moments and control in moments:
                try:
                    r = ipw.ipw_effect(
                        moments[control],
                        moments[arm],
                        n_total=n_total,
                        arm=arm,
                        control_key=control,
                        relative=primary.relative,
                        method=analysis_method(experiment),
                        alpha=experiment.alpha,
                        tuning=planned_total(experiment, arms=len(arm_keys)),
                    )
                    effect, low, high = r.effect, r.ci_low, r.ci_high
                except (InsufficientDataError, ValueError):
                    pass
            out.append(DailyEffect(day=day, arm=arm, effect=effect, ci_low=low, ci_high=high))
    return out


def experiment_report(*, experiment: Experiment, phase: int | None = None) -> ExperimentReport:
    """The results of one phase of `experiment` (None: the current phase) from its rollups.

    Raises ValueError for a phase the experiment never had."""
    number = experiment.phase if phase is None else phase
    phase_row = ExperimentPhase.objects.filter(experiment=experiment, number=number).first()
    if phase is not None and phase_row is None:
        raise ValueError(f"experiment {experiment.key!r} has no phase {phase}")
    arms: list[Arm] = sorted(experiment.arms.all(), key=lambda a: (not a.is_control, a.key))
    arm_keys = [a.key for a in arms]
    experiment_metrics = list(experiment.metrics.select_related("metric"))
    specs, metric_keys, covariate = _metric_specs(experiment_metrics)

    cohorts = ExperimentCohort.objects.filter(experiment=experiment)
    phases = tuple(sorted(set(cohorts.values_list("phase", flat=True).distinct())))
    phase_cohorts = cohorts.filter(phase=number)
    summary = phase_cohorts.aggregate(excluded=Sum("excluded_units"), computed=Max("computed_at"))
    arm_rows = list(
        ExperimentArmDay.objects.filter(cohort__experiment=experiment, cohort__phase=number)
        .values("cohort__day", "arm_key", "batch", "propensity", "units")
        .order_by("cohort__day", "arm_key", "batch")
    )
    metric_rows = list(
        ExperimentMetricDay.objects.filter(
            cohort__experiment=experiment,
            cohort__phase=number,
            metric_id__in=list(metric_keys),
        )
        .values(
            "cohort__day",
            "arm_key",
            "batch",
            "metric_id",
            "n",
            "total",
            "total_sq",
            "has_covariate",
            "cov_total",
            "cov_total_sq",
            "cross_total",
        )
        .order_by("cohort__day", "arm_key", "batch")
    )
    bandit = experiment.mode == ExperimentMode.BANDIT
    current_weights = (phase_row.weights if phase_row else None) or {a.key: a.weight for a in arms}
    weights = _normalised(current_weights, arm_keys)
    batches: dict[int, dict[str, float]] = {}
    if bandit:
        batches = {
            b.number: b.weights
            for b in BanditBatch.objects.filter(experiment=experiment, phase=number)
        }

    units: dict[str, int] = dict.fromkeys(arm_keys, 0)
    by_day: dict[date, dict[str, int]] = defaultdict(lambda: dict.fromkeys(arm_keys, 0))
    for row in arm_rows:
        if row["arm_key"] in units:
            units[row["arm_key"]] += row["units"]
            by_day[row["cohort__day"]][row["arm_key"]] += row["units"]
    days = sorted(by_day)

    control = next((a.key for a in arms if a.is_control), arm_keys[0] if arm_keys else "")
    primary = next((s for s in specs if s.role == MetricRole.PRIMARY), None)
    notes: list[str] = []
    if not metric_rows and not arm_rows:
        notes.append("No data yet: no unit has been exposed, or the rollups have not run.")
    daily_effects: list[DailyEffect] = []
    if primary is None or len(arm_keys) < 2:
        analysis = _no_analysis(
            units,
            weights,
            "No primary metric: add one to get a recommendation."
            if primary is None
            else "An experiment needs at least two arms.",
            experiment=experiment,
        )
    elif bandit:
        strata = _bandit_strata(
            metric_rows, arm_rows, batches, arm_keys, metric_keys, current_weights
        )
        if not strata:
            analysis = _no_analysis(
                units,
                weights,
                "Keep running: no unit has been exposed yet.",
                experiment=experiment,
            )
        else:
            ratio_free = [s for s in specs if not s.ratio]
            if any(s.ratio for s in specs):
                notes.append("Ratio metrics are not analysed for bandit experiments.")
                keep = {s.key for s in ratio_free}
                strata = [
                    BanditStratum(
                        arm=s.arm,
                        batch=s.batch,
                        propensity=s.propensity,
                        metrics={k: v for k, v in s.metrics.items() if k in keep},
                    )
                    for s in strata
                ]
            analysis = analyse_bandit(
                strata=strata,
                metrics=ratio_free,
                control=control,
                method=analysis_method(experiment),  # type: ignore[arg-type]
                alpha=experiment.alpha,
                tuning=planned_total(experiment, arms=len(arm_keys)),
            )
            primary_id = next(mid for mid, key in metric_keys.items() if key == primary.key)
            daily_effects = _bandit_daily_effects(
                days,
                metric_rows,
                arm_rows,
                batches=batches,
                arm_keys=arm_keys,
                control=control,
                primary=primary,
                primary_id=primary_id,
                current=current_weights,
                experiment=experiment,
            )
    else:
        per_arm: dict[str, dict[str, _Sums]] = {
            arm: {s.key: _Sums(covariate=covariate[s.key]) for s in specs} for arm in arm_keys
        }
        for row in metric_rows:
            key = metric_keys[row["metric_id"]]
            if row["arm_key"] in per_arm:
                per_arm[row["arm_key"]][key].add(row)
        analysis = analyse(
            arms={arm: {k: s.stats() for k, s in m.items()} for arm, m in per_arm.items()},
            metrics=specs,
            control=control,
            weights=weights,
            units=units,
            method=analysis_method(experiment),
            alpha=experiment.alpha,
            tuning=planned_total(experiment, arms=2),
        )
        primary_id = next(mid for mid, key in metric_keys.items() if key == primary.key)
        daily_effects = _cumulative_effects(
            days,
            [r for r in metric_rows if r["metric_id"] == primary_id],
            control=control,
            treatments=[a for a in arm_keys if a != control],
            spec=primary,
            covariate=covariate[primary.key],
            experiment=experiment,
        )

    allocation = []
    for day in days:
        total = sum(by_day[day].values())
        for arm in arm_keys:
            n = by_day[day][arm]
            allocation.append(
                DailyAllocation(day=day, arm=arm, units=n, share=n / total if total else 0.0)
            )
    return ExperimentReport(
        experiment_key=experiment.key,
        phase=number,
        phases=phases,
        status=experiment.status,
        mode=experiment.mode,
        arms=tuple(
            ArmSummary(
                key=a.key,
                name=a.name or a.key,
                is_control=a.is_control,
                weight=weights[a.key],
                units=units[a.key],
            )
            for a in arms
        ),
        analysis=analysis,
        excluded_units=summary["excluded"] or 0,
        daily_effects=tuple(daily_effects),
        daily_allocation=tuple(allocation),
        computed_at=summary["computed"],
        notes=tuple(notes),
    )


# --- the lift of personalization --------------------------------------------------------------


def _lift_metric(site: Site) -> Metric | None:
    """The site's first conversion metric that some experiment uses as primary, else any
    conversion metric (by key)."""
    primary = (
        Metric.objects.filter(
            site=site,
            kind=MetricKind.CONVERSION,
            pk__in=ExperimentMetric.objects.filter(
                experiment__site=site, role=MetricRole.PRIMARY
            ).values("metric_id"),
        )
        .order_by("key")
        .first()
    )
    if primary is not None:
        return primary
    return Metric.objects.filter(site=site, kind=MetricKind.CONVERSION).order_by("key").first()


def site_personalization_lift(
    *, site: Site, metric: Metric | None = None
) -> PersonalizationLift | None:
    """The global holdout (visitors who always get defaults) against everyone else, on
    `metric` (None: see `_lift_metric`), from the analytics rollups by reason: exposures
    under reason "holdout" against all others, each exposure's value being the metric over
    the following window. None when the holdout is off or either side has no data."""
    holdout = GlobalHoldout.objects.filter(site=site).first()
    if holdout is None or not holdout.enabled or holdout.share <= 0:
        return None
    if metric is None:
        metric = _lift_metric(site)
        if metric is None:
            return None
    elif metric.site_id != site.pk:
        raise ValueError("the metric belongs to another site")
    ratio = metric.kind == MetricKind.RATIO
    rows = (
        MetricDay.objects.filter(site=site, metric=metric, segment="")
        .values("reason")
        .annotate(
            n=Sum("n"),
            total=Sum("total"),
            total_sq=Sum("total_sq"),
            den=Sum("den_total"),
            den_sq=Sum("den_total_sq"),
            cross=Sum("cross_total"),
        )
        .order_by()
    )
    sums = {"holdout": [0, 0.0, 0.0, 0.0, 0.0, 0.0], "rest": [0, 0.0, 0.0, 0.0, 0.0, 0.0]}
    for row in rows:
        acc = sums["holdout" if row["reason"] == ReasonKind.HOLDOUT else "rest"]
        for i, name in enumerate(("n", "total", "total_sq", "den", "den_sq", "cross")):
            acc[i] += row[name] or 0

    def stats(acc: list[float]) -> SampleStats:
        if ratio:
            return SampleStats(
                n=int(acc[0]),
                sum=acc[1],
                sum_sq=acc[2],
                cov_sum=acc[3],
                cov_sum_sq=acc[4],
                cross_sum=acc[5],
            )
        return SampleStats(n=int(acc[0]), sum=acc[1], sum_sq=acc[2])

    held, rest = sums["holdout"], sums["rest"]
    if not held[0] or not rest[0]:
        return None

    def mean(acc: list[float]) -> float | None:
        if ratio:
            return acc[1] / acc[3] if acc[3] else None
        return acc[1] / acc[0]

    effect = low = high = p = None
    try:
        r = compare(stats(held), stats(rest), relative=True, method="fixed", ratio=ratio)
        effect, low, high, p = r.effect, r.ci_low, r.ci_high, r.p_value
    except (InsufficientDataError, ValueError):
        pass
    return PersonalizationLift(
        metric=metric.key,
        holdout_units=int(held[0]),
        personalized_units=int(rest[0]),
        holdout_mean=mean(held),
        personalized_mean=mean(rest),
        effect=effect,
        ci_low=low,
        ci_high=high,
        p_value=p,
    )
