"""An experiment's results: every arm x metric against control, corrected, gated and read.

Pure: no Django. The caller (the results page, the API, a Celery job) sums the rollups into
per-arm x metric sufficient statistics and passes the experiment's configuration:

    from experiments.analysis import MetricSpec, analyse
    result = analyse(
        arms={"control": {"signup": SampleStats(...), "errors": SampleStats(...)},
              "b": {...}},
        metrics=[MetricSpec(key="signup", role="primary"),
                 MetricSpec(key="errors", role="guardrail", lower_is_better=True)],
        control="control",
        weights={"control": 0.5, "b": 0.5},
    )
    result.guidance, result.explanation      # "keep_running", "…in plain words…"
    result.cells                             # per arm x metric: effect, interval, p-values

Steps:
1. **Sample ratio mismatch** (experiments.stats.srm_gate) of the units per cell against the
   configured weights (pass the global holdout as one more cell to check it too). While it
   fires, `cells` is empty and the guidance is "check_split": the effects cannot be trusted.
   The check waits until the smallest cell expects `srm_min_count` units.
2. **Effects** by experiments.stats.compare with the experiment's method (sequential by
   default, fixed or bayesian), alpha and tuning; chance to win and expected loss come from
   the Bayesian reading of the same data for every method (for information: decisions use
   the chosen method). Cells that cannot answer yet carry the reason in `error`.
3. **Multiple comparisons** (experiments.stats.adjust_by_role): Benjamini-Hochberg across
   secondary metrics x treatment arms, Holm across guardrails x arms; the primary metric is
   the one decision metric and is not corrected. Bayesian results have no p-values, so
   they are not corrected; the explanation says so.
4. **Guidance**, in this order:
   - "stop_for_harm": a guardrail (Holm-corrected) or the primary metric is significantly
     worse in some arm;
   - "ship": some arm's primary metric is significantly better (the one with the largest
     effect is `winner`); for the Bayesian method, its chance to win is at least
     `ship_probability`;
   - "no_effect": nothing significant although every comparison reached the planned sample
     (`tuning`: the sequential test's planned total sample of two arms), or the primary
     interval of every arm lies within ±`minimum_effect`;
   - "keep_running": otherwise.

Bandit experiments change their weights as they run, so their per-arm means are biased
and a t-test on them is wrong: `analyse_bandit` takes per-(arm, batch) statistics with the
batch's propensities and estimates effects by inverse-propensity weighting
(experiments.ipw); its SRM check compares each arm's units with the count the logged
propensities predict (Σ over batches of batch units x propensity).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from scipy import special

from experiments import ipw
from experiments.stats import (
    DEFAULT_TUNING,
    GaussianPrior,
    InsufficientDataError,
    Method,
    MetricRole,
    SampleStats,
    SrmCheck,
    adjust_by_role,
    compare,
    srm_gate,
)
from experiments.stats.bayesian import expected_losses
from experiments.stats.result import METHODS
from experiments.stats.srm import SrmStatus

Guidance = Literal["ship", "keep_running", "stop_for_harm", "no_effect", "check_split"]
Correction = Literal["none", "benjamini_hochberg", "holm"]
ROLES: tuple[MetricRole, ...] = ("primary", "secondary", "guardrail")
DEFAULT_SRM_MIN_COUNT = 20
DEFAULT_SRM_THRESHOLD = 0.001
METHOD_WORDS: dict[Method, str] = {
    "sequential": "the sequential test (always-valid confidence sequences, safe to check daily)",
    "fixed": "the fixed-horizon Welch t-test (valid for one look at the planned sample)",
    "bayesian": "the Bayesian model (chance to beat control, not corrected for peeking)",
}


@dataclass(frozen=True, slots=True)
class MetricSpec:
    key: str
    role: MetricRole
    relative: bool = True  # report the lift (Δ/control) rather than the difference
    ratio: bool = False  # the covariate sums are a ratio metric's denominator
    lower_is_better: bool = False  # e.g. errors, latency: an increase is harm

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"metric {self.key!r}: role must be one of {', '.join(ROLES)}")


@dataclass(frozen=True, slots=True)
class Cell:
    """One treatment arm x metric against control."""

    arm: str
    metric: str
    role: MetricRole
    relative: bool
    control_mean: float | None = None
    treatment_mean: float | None = None
    effect: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = None  # as tested (None for bayesian)
    adjusted_p_value: float | None = None  # after the role's correction
    correction: Correction = "none"
    significant: bool = False  # after correction (bayesian: the credible interval excludes 0)
    better: bool | None = None  # direction of the effect, lower_is_better taken into account
    chance_to_win: float | None = None
    expected_loss: float | None = None
    error: str | None = None  # why this cell cannot answer yet


@dataclass(frozen=True, slots=True)
class Analysis:
    method: Method
    alpha: float
    srm: SrmCheck
    guidance: Guidance
    explanation: str
    winner: str | None = None
    cells: tuple[Cell, ...] = ()  # empty while the SRM check hides results
    estimator: str = "plain"  # "plain" per-arm means, or the IPW estimator of a bandit
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def hidden(self) -> bool:
        return self.srm.hide_results

    def cell(self, arm: str, metric: str) -> Cell:
        for c in self.cells:
            if c.arm == arm and c.metric == metric:
                return c
        raise KeyError((arm, metric))


def _validate_common(
    metrics: Sequence[MetricSpec], method: str, alpha: float, tuning: float
) -> None:
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    if not (isinstance(alpha, int | float) and 0 < alpha < 1):
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    if not (isinstance(tuning, int | float) and tuning > 0):
        raise ValueError(f"tuning must be a positive number, got {tuning!r}")
    keys = [m.key for m in metrics]
    if len(set(keys)) != len(keys):
        raise ValueError("metric keys must be unique")
    if sum(m.role == "primary" for m in metrics) != 1:
        raise ValueError("exactly one metric must be primary")


def _bayes(effect: float, std_error: float, lower_is_better: bool) -> tuple[float, float]:
    """(chance to win, expected loss of shipping) under a flat prior: N(effect, se²)."""
    win = float(special.ndtr(effect / std_error))
    gain, drop = expected_losses(effect, std_error)
    return (1 - win, gain) if lower_is_better else (win, drop)


def _srm_gated(units: Mapping[str, float], weights: Mapping[str, float], **gate) -> SrmCheck:
    if set(units) != set(weights):
        raise ValueError(
            f"units and weights must name the same cells; got {sorted(units)} and {sorted(weights)}"
        )
    keys = list(weights)
    return srm_gate([units[k] for k in keys], [weights[k] for k in keys], **gate)


def analyse(
    *,
    arms: Mapping[str, Mapping[str, SampleStats]],
    metrics: Sequence[MetricSpec],
    control: str,
    weights: Mapping[str, float],
    units: Mapping[str, float] | None = None,
    method: Method = "sequential",
    alpha: float = 0.05,
    tuning: float = DEFAULT_TUNING,
    prior: GaussianPrior | None = None,
    minimum_effect: float | None = None,
    ship_probability: float = 0.95,
    srm_min_count: float = DEFAULT_SRM_MIN_COUNT,
    srm_threshold: float = DEFAULT_SRM_THRESHOLD,
) -> Analysis:
    """Results of a fixed-weight experiment (see the module doc).

    arms: per arm, per metric key, the arm's statistics (since each unit's first exposure).
    weights: the configured share of every cell (arms, and a holdout cell if checked).
    units: units per cell for the SRM check; defaults to the primary metric's n per arm.
    """
    _validate_common(metrics, method, alpha, tuning)
    if control not in arms:
        raise ValueError(f"no statistics for the control arm {control!r}")
    if len(arms) < 2:
        raise ValueError("at least one arm besides control is needed")
    primary = next(m for m in metrics if m.role == "primary")
    for arm, by_metric in arms.items():
        missing = [m.key for m in metrics if m.key not in by_metric]
        if missing:
            raise ValueError(f"arm {arm!r} has no statistics for metric {missing[0]!r}")
    if units is None:
        units = {arm: by_metric[primary.key].n for arm, by_metric in arms.items()}
    srm = _srm_gated(units, weights, min_count=srm_min_count, threshold=srm_threshold)
    if srm.hide_results:
        return _hidden(srm, method, alpha, "plain")

    raw: list[Cell] = []
    for arm, by_metric in arms.items():
        if arm == control:
            continue
        for spec in metrics:
            try:
                r = compare(
                    arms[control][spec.key],
                    by_metric[spec.key],
                    relative=spec.relative,
                    method=method,
                    alpha=alpha,
                    tuning=tuning,
                    ratio=spec.ratio,
                    prior=prior,
                    lower_is_better=spec.lower_is_better,
                )
            except InsufficientDataError as exc:
                raw.append(
                    Cell(
                        arm=arm,
                        metric=spec.key,
                        role=spec.role,
                        relative=spec.relative,
                        error=str(exc),
                    )
                )
                continue
            if method == "bayesian":
                win, loss = r.chance_to_win, r.expected_loss
            else:
                win, loss = _bayes(r.effect, r.std_error, spec.lower_is_better)
            raw.append(_cell(arm, spec, r, win, loss))
    planned_reached = all(
        arms[control][primary.key].n + by_metric[primary.key].n >= tuning
        for arm, by_metric in arms.items()
        if arm != control
    )
    return _decide(
        raw,
        metrics=metrics,
        srm=srm,
        method=method,
        alpha=alpha,
        minimum_effect=minimum_effect,
        ship_probability=ship_probability,
        planned_reached=planned_reached,
        estimator="plain",
    )


def _cell(arm: str, spec: MetricSpec, result: Any, win: float | None, loss: float | None) -> Cell:
    """A comparison's figures as a cell (`result`: a compare() result or an IPW effect)."""
    return Cell(
        arm=arm,
        metric=spec.key,
        role=spec.role,
        relative=spec.relative,
        control_mean=result.control_mean,
        treatment_mean=result.treatment_mean,
        effect=result.effect,
        ci_low=result.ci_low,
        ci_high=result.ci_high,
        p_value=result.p_value,
        chance_to_win=win,
        expected_loss=loss,
    )


@dataclass(frozen=True, slots=True)
class BanditStratum:
    """One arm's units in one bandit batch, assigned with the batch's propensity."""

    arm: str
    batch: int | str
    propensity: float
    metrics: Mapping[str, SampleStats]  # per metric key; n = the stratum's units


def analyse_bandit(
    *,
    strata: Sequence[BanditStratum],
    metrics: Sequence[MetricSpec],
    control: str,
    method: Literal["sequential", "fixed"] = "sequential",
    alpha: float = 0.05,
    tuning: float = DEFAULT_TUNING,
    estimator: ipw.Estimator = "hajek",
    minimum_effect: float | None = None,
    srm_min_count: float = DEFAULT_SRM_MIN_COUNT,
    srm_threshold: float = DEFAULT_SRM_THRESHOLD,
) -> Analysis:
    """Results of a bandit experiment by inverse-propensity weighting (see the module doc).

    Every batch must list every arm (n = 0 if it got no units) with the propensity it had
    in that batch. `tuning` is the planned total sample of the whole experiment. Ratio
    metrics are not supported here (the IPW estimates are of per-unit means).
    """
    if method not in ("sequential", "fixed"):
        raise ValueError("a bandit's effects are read with the 'sequential' or 'fixed' method")
    _validate_common(metrics, method, alpha, tuning)
    if any(m.ratio for m in metrics):
        raise ValueError("ratio metrics are not supported for bandit experiments")
    primary = next(m for m in metrics if m.role == "primary")
    arm_keys = list(dict.fromkeys(s.arm for s in strata))
    if control not in arm_keys:
        raise ValueError(f"no strata for the control arm {control!r}")
    if len(arm_keys) < 2:
        raise ValueError("at least one arm besides control is needed")
    batches: dict[int | str, dict[str, BanditStratum]] = {}
    for s in strata:
        missing = [m.key for m in metrics if m.key not in s.metrics]
        if missing:
            raise ValueError(f"arm {s.arm!r}, batch {s.batch!r}: no statistics for {missing[0]!r}")
        if s.arm in batches.setdefault(s.batch, {}):
            raise ValueError(f"arm {s.arm!r} appears twice in batch {s.batch!r}")
        batches[s.batch][s.arm] = s
    for batch, by_arm in batches.items():
        if set(by_arm) != set(arm_keys):
            raise ValueError(f"batch {batch!r} must list every arm (n = 0 if it got no units)")

    srm = _bandit_srm(
        batches, arm_keys, primary.key, min_count=srm_min_count, threshold=srm_threshold
    )
    if srm.hide_results:
        return _hidden(srm, method, alpha, estimator)

    raw: list[Cell] = []
    for spec in metrics:
        moments = ipw.moments_from_strata(
            [
                ipw.Stratum(arm=s.arm, propensity=s.propensity, stats=s.metrics[spec.key])
                for s in strata
                if s.metrics[spec.key].n > 0
            ]
        )
        n_total = sum(m.n for m in moments.values())
        for arm in arm_keys:
            if arm == control:
                continue
            try:
                if arm not in moments or control not in moments:
                    raise InsufficientDataError("an arm has no units yet")
                effect = ipw.ipw_effect(
                    moments[control],
                    moments[arm],
                    n_total=n_total,
                    arm=arm,
                    control_key=control,
                    estimator=estimator,
                    relative=spec.relative,
                    method=method,
                    alpha=alpha,
                    tuning=tuning,
                )
            except InsufficientDataError as exc:
                raw.append(
                    Cell(
                        arm=arm,
                        metric=spec.key,
                        role=spec.role,
                        relative=spec.relative,
                        error=str(exc),
                    )
                )
                continue
            win, loss = _bayes(effect.effect, effect.std_error, spec.lower_is_better)
            raw.append(_cell(arm, spec, effect, win, loss))
    return _decide(
        raw,
        metrics=metrics,
        srm=srm,
        method=method,
        alpha=alpha,
        minimum_effect=minimum_effect,
        ship_probability=0.95,
        planned_reached=sum(srm.observed) >= tuning,
        estimator=estimator,
    )


def _bandit_srm(
    batches: Mapping[int | str, Mapping[str, BanditStratum]],
    arm_keys: Sequence[str],
    metric: str,
    *,
    min_count: float,
    threshold: float,
) -> SrmCheck:
    """Pearson's χ² summed over batches: each batch's units per arm against the batch's
    propensities (normalised), with Σ(arms - 1) degrees of freedom. Each batch is its own
    multinomial draw, so a break in one batch is not diluted by the others."""
    if not 0 < threshold < 1:
        raise ValueError(f"threshold must be in (0, 1), got {threshold!r}")
    observed = dict.fromkeys(arm_keys, 0.0)
    expected = dict.fromkeys(arm_keys, 0.0)
    statistic, dof, leaked = 0.0, 0, False
    for by_arm in batches.values():
        propensities = {arm: float(s.propensity) for arm, s in by_arm.items()}
        total_p = sum(propensities.values())
        if not total_p > 0:
            raise ValueError("a batch's propensities cannot all be 0")
        counts = {arm: s.metrics[metric].n for arm, s in by_arm.items()}
        batch_units = sum(counts.values())
        for arm in arm_keys:
            e = batch_units * propensities[arm] / total_p
            observed[arm] += counts[arm]
            expected[arm] += e
            if e > 0:
                statistic += (counts[arm] - e) ** 2 / e
            elif counts[arm] > 0:
                leaked = True
        if batch_units:
            dof += sum(p > 0 for p in propensities.values()) - 1
    p_value = 0.0 if leaked else float(special.chdtrc(dof, statistic)) if dof > 0 else 1.0
    if not leaked and min(e for e in expected.values() if e > 0) < max(min_count, 1e-12):
        status: SrmStatus = "too_few_units"
        shown: float | None = None
    else:
        status = "mismatch" if p_value < threshold else "ok"
        shown = p_value
    return SrmCheck(
        status=status,
        p_value=shown,
        observed=tuple(observed.values()),
        expected=tuple(expected.values()),
    )


def _hidden(srm: SrmCheck, method: Method, alpha: float, estimator: str) -> Analysis:
    observed = ", ".join(f"{o:,.0f}" for o in srm.observed)
    expected = ", ".join(f"{e:,.0f}" for e in srm.expected)
    return Analysis(
        method=method,
        alpha=alpha,
        srm=srm,
        guidance="check_split",
        explanation=(
            f"Results are hidden: the arms received {observed} units where the configured "
            f"split expects about {expected} (sample ratio mismatch, p = {srm.p_value:.2g}). "
            "Assignment or exposure logging is probably broken, so no effect can be trusted; "
            "fix the cause (a new phase starts the count again)."
        ),
        estimator=estimator,
    )


def _decide(
    raw: list[Cell],
    *,
    metrics: Sequence[MetricSpec],
    srm: SrmCheck,
    method: Method,
    alpha: float,
    minimum_effect: float | None,
    ship_probability: float,
    planned_reached: bool,
    estimator: str,
) -> Analysis:
    specs = {m.key: m for m in metrics}
    answered = [c for c in raw if c.error is None]
    corrected = {}
    if method != "bayesian":
        corrected = adjust_by_role(
            {(c.metric, c.arm): c.p_value for c in answered},
            {(c.metric, c.arm): c.role for c in answered},
            alpha=alpha,
        )
    cells: list[Cell] = []
    for c in raw:
        if c.error is not None:
            cells.append(c)
            continue
        lower = specs[c.metric].lower_is_better
        if method == "bayesian":
            significant = c.ci_low > 0 or c.ci_high < 0
            adjusted, correction = None, "none"
        else:
            fix = corrected[(c.metric, c.arm)]
            significant, adjusted, correction = fix.reject, fix.adjusted_p_value, fix.correction
        cells.append(
            replace(
                c,
                adjusted_p_value=adjusted,
                correction=correction,
                significant=significant,
                better=(c.effect < 0) if lower else (c.effect > 0),
            )
        )

    words = METHOD_WORDS[method]
    if estimator != "plain":
        words += (
            f", on inverse-propensity-weighted ({estimator.replace('_', '-')}) estimates because "
            "the bandit changed the arms' shares over time"
        )
    primary = [c for c in cells if c.role == "primary" and c.error is None]
    harmed = [
        c
        for c in cells
        if c.role in ("guardrail", "primary")
        and c.error is None
        and c.better is False
        and (
            c.significant
            if method != "bayesian"
            else (c.chance_to_win is not None and c.chance_to_win <= 1 - ship_probability)
        )
    ]
    notes: list[str] = []
    if method == "bayesian":
        notes.append("Bayesian results carry no p-values, so no multiple-comparison correction.")
    if any(c.error for c in cells):
        notes.append("Some comparisons cannot answer yet; see each cell's reason.")

    def fmt(c: Cell) -> str:
        return f"{c.effect:+.1%}" if c.relative else f"{c.effect:+.4g}"

    winner = None
    if harmed:
        worst = min(harmed, key=lambda c: (c.role != "guardrail", c.adjusted_p_value or 0.0))
        guidance: Guidance = "stop_for_harm"
        explanation = (
            f"Stop: arm {worst.arm!r} harms {worst.role} metric {worst.metric!r} "
            f"({fmt(worst)}, interval {worst.ci_low:+.3g} to {worst.ci_high:+.3g})"
            + (", after Holm's correction across guardrails" if worst.role == "guardrail" else "")
            + f". Judged by {words}."
        )
    else:
        if method == "bayesian":
            winners = [c for c in primary if (c.chance_to_win or 0) >= ship_probability]
        else:
            winners = [c for c in primary if c.significant and c.better]
        if winners:
            best = max(
                winners,
                key=lambda c: c.effect if not specs[c.metric].lower_is_better else -c.effect,
            )
            winner = best.arm
            guidance = "ship"
            explanation = (
                f"Ship arm {best.arm!r}: primary metric {best.metric!r} changed by {fmt(best)} "
                f"(interval {best.ci_low:+.3g} to {best.ci_high:+.3g}"
                + (
                    f", chance to beat control {best.chance_to_win:.1%}"
                    if method == "bayesian"
                    else f", p = {best.p_value:.2g}"
                )
                + f") and no guardrail shows harm. Judged by {words}."
            )
        else:
            within = (
                minimum_effect is not None
                and bool(primary)
                and len(primary) == sum(c.role == "primary" for c in cells)
                and all(-minimum_effect < c.ci_low and c.ci_high < minimum_effect for c in primary)
            )
            if within:
                guidance = "no_effect"
                explanation = (
                    "No effect worth shipping: every arm's interval for the primary metric lies "
                    f"within ±{minimum_effect:g}. Keep control or ship on other grounds. "
                    f"Judged by {words}."
                )
            elif planned_reached and primary and method != "bayesian":
                guidance = "no_effect"
                explanation = (
                    "No detectable effect: the planned sample is reached and no arm differs "
                    f"significantly on the primary metric. Judged by {words}."
                )
            else:
                guidance = "keep_running"
                explanation = (
                    "Keep running: no arm is significantly better or worse on the primary "
                    f"metric yet, and no guardrail shows harm. Judged by {words}."
                )
    return Analysis(
        method=method,
        alpha=alpha,
        srm=srm,
        guidance=guidance,
        explanation=explanation,
        winner=winner,
        cells=tuple(cells),
        estimator=estimator,
        notes=tuple(notes),
    )
