"""Planning: power, minimum detectable effect, sample size and duration of an experiment.

Normal approximations for one treatment arm against control with equal traffic per arm and
the same variance s² in both (for a conversion rate p, s² = p(1 - p)). The effect is a
relative lift δ on a baseline mean μ; the test is relative (delta method,
SE = s/μ·sqrt((1 + (1 + δ)²)/n)) or absolute (SE = s·sqrt(2/n)) like `compare()`.

    power = Φ(|Δ|/SE - c) + Φ(-|Δ|/SE - c)

with c = z_{1-alpha/2} for the fixed-horizon test, and for the sequential test c = the
confidence sequence's half-width over SE at the planned total N = 2n (about 3.0 for
alpha = 0.05 when the tuning N* is the plan, against 1.96). The sequential figure is the power
of the final look only; looking earlier can only add rejections, so it is a lower bound.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from scipy import optimize, special

from .sequential import confidence_sequence_half_width

PowerMethod = Literal["fixed", "sequential"]

_MAX_UNITS = 1e12
_MAX_LIFT = 100.0


@dataclass(frozen=True, slots=True)
class Design:
    """What is known before the experiment runs."""

    baseline_mean: float
    baseline_variance: float
    alpha: float = 0.05
    method: PowerMethod = "sequential"
    relative: bool = True
    # The sequential test's planned total sample N*; None: the planned 2 x units per arm.
    tuning: float | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.baseline_mean) and self.baseline_mean != 0):
            raise ValueError("baseline_mean must be a non-zero number")
        if not (math.isfinite(self.baseline_variance) and self.baseline_variance > 0):
            raise ValueError("baseline_variance must be positive")
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), got {self.alpha!r}")
        if self.method not in ("fixed", "sequential"):
            raise ValueError(f"method must be fixed or sequential, got {self.method!r}")
        if self.tuning is not None and not self.tuning > 0:
            raise ValueError("tuning must be positive")

    def _effect_and_se(self, lift: float, units_per_arm: float) -> tuple[float, float]:
        cv2 = self.baseline_variance / self.baseline_mean**2
        if self.relative:
            return lift, math.sqrt(cv2 * (1 + (1 + lift) ** 2) / units_per_arm)
        return (
            lift * abs(self.baseline_mean),
            math.sqrt(2 * self.baseline_variance / units_per_arm),
        )

    def _critical(self, units_per_arm: float) -> float:
        if self.method == "fixed":
            return float(special.ndtri(1 - self.alpha / 2))
        n_total = 2 * units_per_arm
        tuning = self.tuning if self.tuning is not None else n_total
        # The half-width for unit variance of the effect·N, over the SE of that effect.
        return float(
            confidence_sequence_half_width(1 / n_total, n_total, alpha=self.alpha, tuning=tuning)
            * math.sqrt(n_total)
        )

    def power(self, *, lift: float, units_per_arm: float) -> float:
        """Probability of a significant result for a true relative lift."""
        if not units_per_arm >= 2:
            raise ValueError("units_per_arm must be at least 2")
        effect, se = self._effect_and_se(lift, units_per_arm)
        c = self._critical(units_per_arm)
        z = abs(effect) / se
        return float(special.ndtr(z - c) + special.ndtr(-z - c))

    def units_per_arm(self, *, lift: float, power: float = 0.8) -> int:
        """The smallest number of units per arm that reaches `power` for `lift`."""
        _check_power(power)
        if lift == 0:
            raise ValueError("a lift of 0 cannot be detected")

        def gap(log_n: float) -> float:
            return self.power(lift=lift, units_per_arm=math.exp(log_n)) - power

        if gap(math.log(_MAX_UNITS)) < 0:
            raise ValueError("the lift is too small to detect with any realistic sample")
        if gap(math.log(2)) >= 0:
            return 2
        n = math.exp(optimize.brentq(gap, math.log(2), math.log(_MAX_UNITS), xtol=1e-10))
        return math.ceil(n - 1e-6)

    def minimum_detectable_effect(self, *, units_per_arm: float, power: float = 0.8) -> float:
        """The smallest positive relative lift detected with probability `power`."""
        _check_power(power)

        def gap(lift: float) -> float:
            return self.power(lift=lift, units_per_arm=units_per_arm) - power

        if gap(_MAX_LIFT) < 0:
            raise ValueError("no lift is detectable with this many units")
        return float(optimize.brentq(gap, 1e-12, _MAX_LIFT, xtol=1e-12))

    def duration(
        self, *, lift: float, daily_units: float, arms: int = 2, power: float = 0.8
    ) -> Duration:
        """Days until each arm has the units needed, with traffic split equally.

        `daily_units`: new units a day entering the experiment (after audience, coverage
        and any holdout); `arms` counts control.
        """
        if not daily_units > 0:
            raise ValueError("daily_units must be positive")
        if arms < 2:
            raise ValueError("an experiment has at least 2 arms")
        needed = self.units_per_arm(lift=lift, power=power)
        return Duration(
            units_per_arm=needed,
            total_units=needed * arms,
            days=math.ceil(needed * arms / daily_units - 1e-9),
        )


@dataclass(frozen=True, slots=True)
class Duration:
    units_per_arm: int
    total_units: int
    days: int


def _check_power(power: float) -> None:
    if not 0 < power < 1:
        raise ValueError(f"power must be in (0, 1), got {power!r}")


def proportion_variance(rate: float) -> float:
    """s² of a conversion metric with baseline rate p."""
    if not 0 < rate < 1:
        raise ValueError("a conversion rate must be in (0, 1)")
    return float(rate * (1 - rate))
