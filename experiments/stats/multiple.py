"""Corrections for testing many metrics x arms at once.

Secondary metrics are many and exploratory, so their family (every secondary metric x
every treatment arm) controls the false discovery rate with Benjamini-Hochberg. Guardrails
must not miss harm but also must not stop good experiments on noise, so their family
controls the family-wise error rate with Holm's step-down (uniformly more powerful than
Bonferroni). The primary metric is the decision metric chosen up front and is not
corrected. Both procedures are valid with always-valid sequential p-values.

Hand-written in numpy rather than imported from statsmodels (whose import takes over a
second); the tests check them against `statsmodels.stats.multitest.multipletests`.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

import numpy as np

MetricRole = Literal["primary", "secondary", "guardrail"]
Correction = Literal["none", "benjamini_hochberg", "holm"]
CORRECTION_BY_ROLE: dict[MetricRole, Correction] = {
    "primary": "none",
    "secondary": "benjamini_hochberg",
    "guardrail": "holm",
}

Key = TypeVar("Key", bound=Hashable)


@dataclass(frozen=True, slots=True)
class Adjusted:
    p_values: tuple[float, ...]  # adjusted, in the input order
    reject: tuple[bool, ...]


def _as_array(p_values: Sequence[float]) -> np.ndarray:
    p = np.asarray(p_values, dtype=float)
    if p.ndim != 1 or not np.all((p >= 0) & (p <= 1)):
        raise ValueError("p-values must be a list of numbers in [0, 1]")
    return p


def _finish(adjusted: np.ndarray, order: np.ndarray, alpha: float) -> Adjusted:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    result = np.empty_like(adjusted)
    result[order] = np.minimum(adjusted, 1.0)
    return Adjusted(
        p_values=tuple(float(v) for v in result), reject=tuple(bool(v) for v in result <= alpha)
    )


def benjamini_hochberg(p_values: Sequence[float], *, alpha: float = 0.05) -> Adjusted:
    """Step-up FDR control: adjusted p_(i) = min over j ≥ i of p_(j)·m/j."""
    p = _as_array(p_values)
    order = np.argsort(p, kind="stable")
    m = p.size
    scaled = p[order] * m / np.arange(1, m + 1)
    return _finish(np.minimum.accumulate(scaled[::-1])[::-1], order, alpha)


def holm(p_values: Sequence[float], *, alpha: float = 0.05) -> Adjusted:
    """Step-down FWER control: adjusted p_(i) = max over j ≤ i of p_(j)·(m - j + 1)."""
    p = _as_array(p_values)
    order = np.argsort(p, kind="stable")
    m = p.size
    scaled = p[order] * (m - np.arange(m))
    return _finish(np.maximum.accumulate(scaled), order, alpha)


@dataclass(frozen=True, slots=True)
class CorrectedP:
    p_value: float  # as tested
    adjusted_p_value: float
    reject: bool  # adjusted_p_value ≤ alpha
    correction: Correction


def adjust_by_role(
    p_values: Mapping[Key, float], roles: Mapping[Key, MetricRole], *, alpha: float = 0.05
) -> dict[Key, CorrectedP]:
    """Correct each role's family: keys are typically (metric, arm) pairs.

    Every key of `p_values` needs a role; each family (all keys of one role) is corrected
    together with that role's procedure.
    """
    missing = [key for key in p_values if key not in roles]
    if missing:
        raise ValueError(f"no role for {missing[0]!r}")
    corrected: dict[Key, CorrectedP] = {}
    for role, correction in CORRECTION_BY_ROLE.items():
        keys = [key for key in p_values if roles[key] == role]
        if not keys:
            continue
        raw = [p_values[key] for key in keys]
        if correction == "benjamini_hochberg":
            adjusted = benjamini_hochberg(raw, alpha=alpha)
        elif correction == "holm":
            adjusted = holm(raw, alpha=alpha)
        else:
            _as_array(raw)
            adjusted = Adjusted(tuple(raw), tuple(p <= alpha for p in raw))
        for key, p, adj, rej in zip(keys, raw, adjusted.p_values, adjusted.reject, strict=True):
            corrected[key] = CorrectedP(
                p_value=p, adjusted_p_value=adj, reject=rej, correction=correction
            )
    unknown = [key for key in p_values if key not in corrected]
    if unknown:
        raise ValueError(f"unknown role {roles[unknown[0]]!r} for {unknown[0]!r}")
    return corrected
