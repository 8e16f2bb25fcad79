"""Experiment statistics on sufficient statistics. Pure: no Django, no app code.

    from experiments.stats import SampleStats, compare, srm_p_value
    control = SampleStats(n=3000, sum=1396.9, sum_sq=52378.0)
    result = compare(control, treatment, relative=True, method="sequential", tuning=5000)
    result.effect, result.ci_low, result.ci_high, result.p_value

See docs/statistics.md for the methods, their formulas and the reference they are checked
against (GrowthBook's gbstats).
"""

from .bayesian import GaussianPrior
from .compare import compare
from .multiple import Adjusted, CorrectedP, MetricRole, adjust_by_role, benjamini_hochberg, holm
from .power import Design, Duration, PowerMethod, proportion_variance
from .result import CompareResult, InsufficientDataError, Method
from .sample import SampleStats
from .sequential import DEFAULT_TUNING
from .srm import SrmCheck, srm_gate, srm_p_value

__all__ = [
    "DEFAULT_TUNING",
    "Adjusted",
    "CompareResult",
    "CorrectedP",
    "Design",
    "Duration",
    "GaussianPrior",
    "InsufficientDataError",
    "Method",
    "MetricRole",
    "PowerMethod",
    "SampleStats",
    "SrmCheck",
    "adjust_by_role",
    "benjamini_hochberg",
    "compare",
    "holm",
    "proportion_variance",
    "srm_gate",
    "srm_p_value",
]
