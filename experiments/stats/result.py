"""The typed answers of the statistics package."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Method = Literal["sequential", "fixed", "bayesian"]
METHODS: tuple[Method, ...] = ("sequential", "fixed", "bayesian")


class InsufficientDataError(ValueError):
    """The data cannot answer yet (too few units, no variance, a zero baseline for a lift).

    Distinct from a plain ValueError (malformed input) so that a results page can show the
    message in the cell and keep going.
    """


@dataclass(frozen=True, slots=True)
class CompareResult:
    """Treatment against control for one metric.

    `effect` is the relative lift ((treatment - control) / control) when `relative`, else
    the absolute difference of means; the interval is on the same scale. For the
    sequential method the interval is a confidence sequence and `p_value` is always valid
    (both hold at any number of looks); for the Bayesian method the interval is a credible
    interval and `p_value` is None.
    """

    method: Method
    relative: bool
    alpha: float
    effect: float
    ci_low: float
    ci_high: float
    std_error: float
    control_mean: float
    treatment_mean: float
    p_value: float | None = None
    # Bayesian only: P(treatment beats control) and E[loss] if treatment ships (≥ 0, on the
    # scale of `effect`); `expected_loss_control` is the loss of keeping control.
    chance_to_win: float | None = None
    expected_loss: float | None = None
    expected_loss_control: float | None = None
    # Fixed-horizon only: Welch-Satterthwaite degrees of freedom.
    degrees_of_freedom: float | None = None
    # Sequential only: the planned total sample N* the confidence sequence is tuned for.
    tuning: float | None = None
    # CUPED only: the pooled coefficient and the share of the effect's variance removed.
    theta: float | None = None
    variance_reduction: float | None = None

    @property
    def significant(self) -> bool:
        """The interval excludes zero (for the frequentist methods: p < alpha)."""
        return self.ci_low > 0 or self.ci_high < 0
