"""The effect of treatment over control and its variance, shared by every method.

Absolute: Δ = μ_B - μ_A with Var = s²_A/n_A + s²_B/n_B (Welch: variances not pooled).
Relative: Δ = (μ_B - μ_A)/μ_A with the delta-method variance
Var = s²_B/(μ²_A·n_B) + s²_A·μ²_B/(μ⁴_A·n_A). For a ratio metric μ and s² are the ratio's
(sample.ratio_variance); with CUPED they are the adjusted ones, while the relative
scale keeps the unadjusted means (as gbstats does).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from . import cuped
from .result import CompareResult, InsufficientDataError, Method
from .sample import SampleStats


@dataclass(frozen=True, slots=True)
class EffectEstimate:
    effect: float
    variance: float  # of the effect estimate
    degrees_of_freedom: float  # Welch-Satterthwaite
    n_total: int
    control_mean: float  # unadjusted
    treatment_mean: float
    theta: float | None = None
    variance_reduction: float | None = None

    def to_result(
        self,
        *,
        method: Method,
        relative: bool,
        alpha: float,
        half_width: float,
        center: float | None = None,
        std_error: float | None = None,
        **method_fields: Any,
    ) -> CompareResult:
        """The interval center ± half_width (center defaults to the estimate itself)."""
        center = self.effect if center is None else center
        return CompareResult(
            method=method,
            relative=relative,
            alpha=alpha,
            effect=float(center),
            ci_low=float(center - half_width),
            ci_high=float(center + half_width),
            std_error=float(np.sqrt(self.variance) if std_error is None else std_error),
            control_mean=self.control_mean,
            treatment_mean=self.treatment_mean,
            theta=self.theta,
            variance_reduction=self.variance_reduction,
            **method_fields,
        )


def difference(
    mean_a: Any,
    var_a: Any,
    n_a: Any,
    mean_b: Any,
    var_b: Any,
    n_b: Any,
    *,
    relative: bool,
    base_a: Any = None,
    base_b: Any = None,
) -> tuple[Any, Any]:
    """(effect, variance of the effect); scalars or numpy arrays.

    `base_a`/`base_b` are the unadjusted means the relative scale divides by (they default
    to `mean_a`/`mean_b`, and differ from them only under CUPED).
    """
    base_a = mean_a if base_a is None else base_a
    base_b = mean_b if base_b is None else base_b
    if relative:
        effect = (mean_b - mean_a) / base_a
        var = var_b / (base_a**2 * n_b) + var_a * base_b**2 / (base_a**4 * n_a)
    else:
        effect = mean_b - mean_a
        var = var_b / n_b + var_a / n_a
    return effect, var


def welch_degrees_of_freedom(var_a: Any, n_a: Any, var_b: Any, n_b: Any) -> Any:
    """Welch-Satterthwaite degrees of freedom of the difference of two means."""
    a, b = var_a / n_a, var_b / n_b
    return (a + b) ** 2 / (a**2 / (n_a - 1) + b**2 / (n_b - 1))


def estimate_effect(
    control: SampleStats,
    treatment: SampleStats,
    *,
    relative: bool,
    ratio: bool = False,
    use_cuped: bool = True,
) -> EffectEstimate:
    """Point estimate and variance of the effect for one metric.

    `ratio`: the covariate fields are the denominator of a ratio metric. Otherwise, when both
    arms carry a covariate and `use_cuped`, the estimate is CUPED-adjusted.
    Raises InsufficientDataError when the data cannot answer yet.
    """
    if control.has_covariate != treatment.has_covariate:
        raise ValueError("both arms or neither must carry the covariate/denominator sums")
    if ratio and not control.has_covariate:
        raise ValueError(
            "a ratio metric needs the denominator sums (cov_sum, cov_sum_sq, cross_sum)"
        )
    for name, arm in (("control", control), ("treatment", treatment)):
        if arm.n < 2:
            raise InsufficientDataError(f"{name} has {arm.n} unit(s); at least 2 are needed")

    theta = None
    variance_reduction = None
    if ratio:
        for name, arm in (("control", control), ("treatment", treatment)):
            if arm.cov_sum == 0:
                raise InsufficientDataError(f"the ratio's denominator sums to 0 in {name}")
        mean_a, var_a = control.ratio_mean, control.ratio_variance
        mean_b, var_b = treatment.ratio_mean, treatment.ratio_variance
        base_a, base_b = mean_a, mean_b
    else:
        mean_a, var_a, mean_b, var_b = (
            control.mean,
            control.variance,
            treatment.mean,
            treatment.variance,
        )
        base_a, base_b = mean_a, mean_b
        if use_cuped and control.has_covariate:
            theta = cuped.pooled_theta(control, treatment)
            if theta != 0:
                mean_a, var_a = (
                    cuped.adjusted_mean(control, theta),
                    cuped.adjusted_variance(control, theta),
                )
                mean_b, var_b = (
                    cuped.adjusted_mean(treatment, theta),
                    cuped.adjusted_variance(treatment, theta),
                )

    if relative and base_a == 0:
        raise InsufficientDataError("the control mean is 0, so a relative lift is undefined")
    effect, var = difference(
        mean_a,
        var_a,
        control.n,
        mean_b,
        var_b,
        treatment.n,
        relative=relative,
        base_a=base_a,
        base_b=base_b,
    )
    if not var > 0:
        raise InsufficientDataError("the metric has no variance in either arm")
    if theta is not None:
        _, unadjusted = difference(
            control.mean,
            control.variance,
            control.n,
            treatment.mean,
            treatment.variance,
            treatment.n,
            relative=relative,
        )
        variance_reduction = float(1 - var / unadjusted) if unadjusted > 0 else 0.0
    return EffectEstimate(
        effect=float(effect),
        variance=float(var),
        degrees_of_freedom=float(welch_degrees_of_freedom(var_a, control.n, var_b, treatment.n)),
        n_total=control.n + treatment.n,
        control_mean=control.ratio_mean if ratio else control.mean,
        treatment_mean=treatment.ratio_mean if ratio else treatment.mean,
        theta=theta,
        variance_reduction=variance_reduction,
    )
