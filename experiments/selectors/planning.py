"""Planning an experiment: how small an effect it can detect and how long it needs, from the
traffic and the primary metric its slot had recently.

    plan = experiment_plan(experiment=experiment)
    plan.horizons   # the minimum detectable relative lift at 80 % power after 14 and 28 days
    plan.lifts      # the days needed for a +5 % and a +10 % relative lift

Inputs, from the analytics rollups of the experiment's slot over the last `WINDOW_DAYS`
complete days (`today - 28 <= day < today`, UTC), everyone's rows (`segment` ""), leaving
out the global holdout's (its visitors get defaults and never enter an experiment):

- **the baseline**: the primary metric's mean and per-unit variance over the slot's
  exposures (`MetricDay`); a ratio metric's variance is the delta method's.
  No rows, or a baseline of 0 or without variance: `DEFAULT_BASELINE_RATE` for a conversion
  metric, mean and variance 1 (a coefficient of variation of 1) otherwise, with a note;
- **the traffic**: the slot's visitors a day (`VariantDay`), averaged from the first day
  with traffic in the window to yesterday. No rows: `DEFAULT_DAILY_UNITS`, with a note. Rollups
  count visitor-days, so a visitor returning on another day counts again, while an
  experiment counts each unit once: the figure is an upper bound on new units a day;
- **the audience's share**, when the experiment has one and the rollups have its segment
  rows (they cover known members only, so the share is a lower bound); otherwise 1, with
  a note.

Units entering the experiment a day = traffic x audience share x coverage x layer slice.
Each arm gets its normalised weight of them. A comparison of arm i with control at unequal
shares has the standard error of an equal split with the harmonic mean
2 / (1/n_control + 1/n_i) units per arm; the plan reads the weakest comparison with
`experiments.stats.Design` (relative lift, the experiment's alpha; for the sequential
method the experiment's own tuning, as the results use it). Bayesian experiments are
planned as fixed-horizon tests (a note says so); bandits at their current weights, which
they will move (a note says so too).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, timedelta
from typing import Literal

from django.db.models import Min, Sum
from django.utils import timezone
from django.utils.translation import gettext

from analytics.models import Metric, MetricDay, MetricKind, VariantDay
from experiments.models import Experiment, ExperimentMode, MetricRole
from experiments.selectors.results import analysis_method, planned_total
from experiments.stats import Design, Method, PowerMethod, proportion_variance
from segments.models import ReasonKind

__all__ = ["ExperimentPlan", "PlanArm", "PlanHorizon", "PlanLift", "experiment_plan"]

WINDOW_DAYS = 28
POWER = 0.8
HORIZON_DAYS = (14, 28)
LIFTS = (0.05, 0.10)
DEFAULT_BASELINE_RATE = 0.05  # a conversion metric without data
DEFAULT_DAILY_UNITS = 1000  # a slot without traffic data

Source = Literal["rollups", "default"]


@dataclass(frozen=True, slots=True)
class PlanArm:
    key: str
    share: float  # normalised weight
    units_per_day: float


@dataclass(frozen=True, slots=True)
class PlanHorizon:
    """After `days` days: units per arm (of the weakest comparison) and the smallest
    relative lift detected with 80 % power (None: nothing detectable with so few units)."""

    days: int
    units_per_arm: float
    minimum_detectable_effect: float | None


@dataclass(frozen=True, slots=True)
class PlanLift:
    """A true relative lift `lift`: units per arm and days to detect it with 80 % power."""

    lift: float
    units_per_arm: int | None
    days: int | None


@dataclass(frozen=True, slots=True)
class ExperimentPlan:
    method: Method  # the experiment's analysis method
    planned_as: PowerMethod  # the test the figures assume
    alpha: float
    power: float
    tuning: int  # per arm, as set on the experiment
    metric: str | None  # the primary metric's key
    baseline_mean: float
    baseline_variance: float
    baseline_units: int  # exposures the baseline was estimated on (0: default)
    baseline_from: Source
    slot_units_per_day: float
    traffic_from: Source
    days_observed: int
    audience_share: float | None  # None: unknown (taken as 1)
    coverage: float
    layer_share: float
    units_per_day: float  # entering the experiment
    arms: tuple[PlanArm, ...]
    compared_units_per_day: float  # per arm, equal-split equivalent of the weakest comparison
    horizons: tuple[PlanHorizon, ...]
    lifts: tuple[PlanLift, ...]
    window: tuple[date, date]  # first and last day read
    notes: tuple[str, ...]


def _primary_metric(experiment: Experiment) -> Metric | None:
    row = (
        experiment.metrics.filter(role=MetricRole.PRIMARY)
        .select_related("metric")
        .order_by("metric__key")
        .first()
    )
    return row.metric if row is not None else None


def _baseline(metric: Metric, rows: dict[str, float | None]) -> tuple[float, float, int] | None:
    """(mean, per-unit variance, n) from summed MetricDay rows; None when unusable."""
    n = int(rows["n"] or 0)
    if n < 2:
        return None
    total, total_sq = rows["total"] or 0.0, rows["total_sq"] or 0.0
    if metric.kind == MetricKind.RATIO:
        den, den_sq, cross = rows["den"] or 0.0, rows["den_sq"] or 0.0, rows["cross"] or 0.0
        if den == 0:
            return None
        mean_x, mean_y = den / n, total / n
        var_y = (total_sq - n * mean_y**2) / (n - 1)
        var_x = (den_sq - n * mean_x**2) / (n - 1)
        cov = (cross - n * mean_x * mean_y) / (n - 1)
        ratio = total / den
        # Delta method: Var(Ȳ/X̄)·n = (s²_y - 2R·s_xy + R²·s²_x) / x̄².
        variance = (var_y - 2 * ratio * cov + ratio**2 * var_x) / mean_x**2
        mean = ratio
    else:
        mean = total / n
        variance = (total_sq - n * mean**2) / (n - 1)
    if not (mean != 0 and math.isfinite(variance) and variance > 0):
        return None
    return mean, variance, n


def _default_baseline(metric: Metric | None) -> tuple[float, float]:
    if metric is None or metric.kind == MetricKind.CONVERSION:
        return DEFAULT_BASELINE_RATE, proportion_variance(DEFAULT_BASELINE_RATE)
    return 1.0, 1.0


def experiment_plan(*, experiment: Experiment, today: date | None = None) -> ExperimentPlan:
    """The planning figures of `experiment` (see the module doc). `today`: UTC today."""
    today = today or timezone.now().astimezone(UTC).date()
    first, last = today - timedelta(days=WINDOW_DAYS), today - timedelta(days=1)
    slot = experiment.slot
    slot_key = slot.key if slot is not None else ""
    notes: list[str] = []

    # --- the baseline of the primary metric -------------------------------------------------
    metric = _primary_metric(experiment)
    baseline = None
    if metric is None:
        notes.append(gettext("No primary metric: the plan assumes a conversion rate of 5 %."))
    else:
        sums = (
            MetricDay.objects.filter(
                site_id=experiment.site_id,
                slot=slot_key,
                segment="",
                metric=metric,
                day__range=(first, last),
            )
            .exclude(reason=ReasonKind.HOLDOUT)
            .aggregate(
                n=Sum("n"),
                total=Sum("total"),
                total_sq=Sum("total_sq"),
                den=Sum("den_total"),
                den_sq=Sum("den_total_sq"),
                cross=Sum("cross_total"),
            )
        )
        baseline = _baseline(metric, sums)
        if baseline is None:
            if metric.kind == MetricKind.CONVERSION:
                notes.append(
                    gettext(
                        "No usable data on %(metric)s for this slot in the last %(days)d "
                        "days: the plan assumes a conversion rate of 5 %%."
                    )
                    % {"metric": metric.name, "days": WINDOW_DAYS}
                )
            else:
                notes.append(
                    gettext(
                        "No usable data on %(metric)s for this slot in the last %(days)d "
                        "days: the plan assumes a mean of 1 with a standard deviation of 1."
                    )
                    % {"metric": metric.name, "days": WINDOW_DAYS}
                )
    if baseline is None:
        mean, variance = _default_baseline(metric)
        baseline_units, baseline_from = 0, "default"
    else:
        mean, variance, baseline_units = baseline
        baseline_from = "rollups"

    # --- the slot's traffic, and the audience's share of it ------------------------------------
    traffic = VariantDay.objects.filter(
        site_id=experiment.site_id, slot=slot_key, day__range=(first, last)
    ).exclude(reason=ReasonKind.HOLDOUT)
    everyone = traffic.filter(segment="").aggregate(visitors=Sum("visitors"), since=Min("day"))
    traffic_from: Source
    if everyone["visitors"]:
        days_observed = (last - everyone["since"]).days + 1
        slot_units = everyone["visitors"] / days_observed
        traffic_from = "rollups"
    else:
        days_observed, slot_units, traffic_from = 0, float(DEFAULT_DAILY_UNITS), "default"
        notes.append(
            gettext(
                "No traffic recorded on this slot in the last %(days)d days: the plan assumes "
                "%(units)s visitors a day."
            )
            % {"days": WINDOW_DAYS, "units": f"{DEFAULT_DAILY_UNITS:,}"}
        )
    audience_share: float | None = None
    if experiment.audience_id:
        members = 0
        if traffic_from == "rollups":
            members = (
                traffic.filter(segment=experiment.audience.key).aggregate(v=Sum("visitors"))["v"]
                or 0
            )
        if members:
            audience_share = min(1.0, members / everyone["visitors"])
            notes.append(
                gettext(
                    "The audience's share counts its known members only; visitors who match "
                    "by context alone are not counted, so the real share may be larger."
                )
            )
        else:
            notes.append(
                gettext(
                    "The audience's share of the slot's visitors is unknown: the plan assumes "
                    "every visitor is in it."
                )
            )
    layer_share = experiment.layer_end - experiment.layer_start if experiment.layer_id else 1.0
    units_per_day = (
        slot_units
        * (audience_share if audience_share is not None else 1.0)
        * experiment.coverage
        * layer_share
    )
    if traffic_from == "rollups":
        notes.append(
            gettext(
                "Traffic counts visitors a day: a visitor who returns on another day counts "
                "again, while the experiment counts each visitor once, so the durations are "
                "optimistic for sites with many returning visitors."
            )
        )

    # --- the arms and the weakest comparison ----------------------------------------------------
    arms = sorted(experiment.arms.all(), key=lambda a: (not a.is_control, a.key))
    total_weight = sum(a.weight for a in arms)
    plan_arms = tuple(
        PlanArm(
            key=a.key,
            share=a.weight / total_weight,
            units_per_day=units_per_day * a.weight / total_weight,
        )
        for a in arms
        if total_weight > 0
    )
    compared = 0.0
    if len(plan_arms) >= 2:
        control, treatments = plan_arms[0], plan_arms[1:]
        compared = min(
            2 / (1 / control.units_per_day + 1 / arm.units_per_day)
            if control.units_per_day > 0 and arm.units_per_day > 0
            else 0.0
            for arm in treatments
        )
    else:
        notes.append(gettext("An experiment needs at least two arms to be planned."))

    # --- the figures ----------------------------------------------------------------------------
    method = analysis_method(experiment)
    planned_as: PowerMethod = "sequential" if method == "sequential" else "fixed"
    if method == "bayesian":
        notes.append(
            gettext(
                "Bayesian experiments are planned as fixed-horizon tests: the days shown are "
                "those a fixed-horizon test at the same level would need."
            )
        )
    if experiment.mode == ExperimentMode.BANDIT:
        notes.append(
            gettext(
                "A bandit moves traffic towards the best arm: the plan uses today's weights, "
                "so its figures are rough."
            )
        )
    design = Design(
        baseline_mean=mean,
        baseline_variance=variance,
        alpha=experiment.alpha,
        method=planned_as,
        relative=True,
        tuning=planned_total(experiment, arms=2) if planned_as == "sequential" else None,
    )
    horizons = []
    for days in HORIZON_DAYS:
        n = compared * days
        mde = None
        if n >= 2:
            try:
                mde = design.minimum_detectable_effect(units_per_arm=n, power=POWER)
            except ValueError:
                mde = None
        horizons.append(PlanHorizon(days=days, units_per_arm=n, minimum_detectable_effect=mde))
    lifts = []
    for lift in LIFTS:
        try:
            needed: int | None = design.units_per_arm(lift=lift, power=POWER)
        except ValueError:
            needed = None
        days_needed = (
            math.ceil(needed / compared - 1e-9) if needed is not None and compared > 0 else None
        )
        lifts.append(PlanLift(lift=lift, units_per_arm=needed, days=days_needed))

    return ExperimentPlan(
        method=method,
        planned_as=planned_as,
        alpha=experiment.alpha,
        power=POWER,
        tuning=experiment.tuning,
        metric=metric.key if metric is not None else None,
        baseline_mean=mean,
        baseline_variance=variance,
        baseline_units=baseline_units,
        baseline_from=baseline_from,
        slot_units_per_day=slot_units,
        traffic_from=traffic_from,
        days_observed=days_observed,
        audience_share=audience_share,
        coverage=experiment.coverage,
        layer_share=layer_share,
        units_per_day=units_per_day,
        arms=plan_arms,
        compared_units_per_day=compared,
        horizons=tuple(horizons),
        lifts=tuple(lifts),
        window=(first, last),
        notes=tuple(notes),
    )
