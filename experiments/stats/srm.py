"""Sample ratio mismatch: do the arms' unit counts fit the configured weights?

Pearson's χ² goodness of fit with k - 1 degrees of freedom, as gbstats' `check_srm`
computes it. The counts must include every cell the traffic was split into, a holdout
too (its weight is the holdout share), or a holdout leak would go unseen. A mismatch means
assignment or exposure logging is broken, so the effects cannot be trusted: `srm_gate`
says when to hide them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import special

DEFAULT_THRESHOLD = 0.001

SrmStatus = Literal["ok", "mismatch", "too_few_units"]


def _validate(counts: Sequence[float], weights: Sequence[float]) -> tuple[Any, Any]:
    observed = np.asarray(counts, dtype=float)
    configured = np.asarray(weights, dtype=float)
    if observed.ndim != 1 or observed.shape != configured.shape or observed.size < 2:
        raise ValueError("counts and weights must be two lists of the same length (≥ 2)")
    if not (np.all(np.isfinite(observed)) and np.all(observed >= 0)):
        raise ValueError("counts must be non-negative numbers")
    if not (np.all(np.isfinite(configured)) and np.all(configured >= 0)) or configured.sum() <= 0:
        raise ValueError("weights must be non-negative and not all zero")
    return observed, configured / configured.sum()


def srm_p_values(counts: Any, weights: Sequence[float]) -> Any:
    """χ² p-values for many experiments at once: `counts` has one row per experiment.

    A cell of weight 0 adds no degree of freedom while it is empty; a unit in it is
    impossible under the configuration, so its p-value is 0 (gbstats skips such cells).
    """
    observed = np.atleast_2d(np.asarray(counts, dtype=float))
    shares = np.asarray(weights, dtype=float) / np.sum(weights)
    live = shares > 0
    totals = observed.sum(axis=1, keepdims=True)
    expected = totals * shares[live]
    with np.errstate(divide="ignore", invalid="ignore"):
        statistic = np.where(expected > 0, (observed[:, live] - expected) ** 2 / expected, 0.0)
    p = special.chdtrc(live.sum() - 1, statistic.sum(axis=1))
    p = np.where(totals[:, 0] > 0, p, 1.0)
    return np.where(observed[:, ~live].sum(axis=1) > 0, 0.0, p)


def srm_p_value(counts: Sequence[float], weights: Sequence[float]) -> float:
    """The χ² p-value of the observed counts against the configured weights (1 if no units)."""
    observed, shares = _validate(counts, weights)
    return float(srm_p_values(observed, shares)[0])


@dataclass(frozen=True, slots=True)
class SrmCheck:
    status: SrmStatus
    p_value: float | None  # None while there are too few units to check
    observed: tuple[float, ...]
    expected: tuple[float, ...]

    @property
    def hide_results(self) -> bool:
        return self.status == "mismatch"


def srm_gate(
    counts: Sequence[float],
    weights: Sequence[float],
    *,
    min_count: float,
    threshold: float = DEFAULT_THRESHOLD,
) -> SrmCheck:
    """Whether the split is broken enough that the results must be hidden.

    The check runs once every arm of positive weight expects at least `min_count` units
    (so an uneven 90/10 split is judged by its small arm, not by the total; the χ²
    approximation wants ≥ 5), and then hides results while p < threshold. A unit in a
    cell of weight 0 is a mismatch at any count.
    """
    if not 0 < threshold < 1:
        raise ValueError(f"threshold must be in (0, 1), got {threshold!r}")
    if not min_count >= 0:
        raise ValueError(f"min_count must be non-negative, got {min_count!r}")
    observed, shares = _validate(counts, weights)
    expected = observed.sum() * shares
    p_value = float(srm_p_values(observed, shares)[0])
    leaked = bool(observed[shares == 0].sum() > 0)
    if not leaked and expected[shares > 0].min() < max(min_count, 1e-12):
        status: SrmStatus = "too_few_units"
        p_value_shown: float | None = None
    else:
        status = "mismatch" if p_value < threshold else "ok"
        p_value_shown = p_value
    return SrmCheck(
        status=status,
        p_value=p_value_shown,
        observed=tuple(float(v) for v in observed),
        expected=tuple(float(v) for v in expected),
    )
