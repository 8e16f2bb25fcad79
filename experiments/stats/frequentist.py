"""The fixed-horizon test: Welch's t on the effect (absolute, or relative by the delta method).

Valid for one look at a sample size fixed in advance; peeking and stopping early inflates
its false-positive rate (see sequential.py for the test that allows it).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

from .effect import EffectEstimate
from .result import CompareResult


def t_test(effect: Any, variance: Any, dof: Any, alpha: float) -> tuple[Any, Any]:
    """(two-sided p-value, half-width of the 1 - alpha interval); scalars or arrays."""
    se = np.sqrt(variance)
    p_value = 2 * special.stdtr(dof, -np.abs(effect) / se)
    half_width = special.stdtrit(dof, 1 - alpha / 2) * se
    return p_value, half_width


def fixed_horizon(estimate: EffectEstimate, *, relative: bool, alpha: float) -> CompareResult:
    p_value, half_width = t_test(
        estimate.effect, estimate.variance, estimate.degrees_of_freedom, alpha
    )
    return estimate.to_result(
        method="fixed",
        relative=relative,
        alpha=alpha,
        half_width=float(half_width),
        p_value=float(p_value),
        degrees_of_freedom=estimate.degrees_of_freedom,
    )
