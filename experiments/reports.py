"""The shape of an experiment's results as the results page, its CSV export and the API
read them. Pure data (no Django): `experiments.selectors.results.experiment_report()`
fills it from the experiment rollups, and `experiments.analysis` does the statistics.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from experiments.analysis import Analysis


@dataclass(frozen=True)
class ArmSummary:
    key: str
    name: str
    is_control: bool
    weight: float  # the configured share of the phase (current weights for a bandit)
    units: int  # units first exposed in this phase (multi-arm units excluded)


@dataclass(frozen=True)
class DailyEffect:
    """The primary metric's cumulative effect of one arm against control up to `day`,
    with the interval of the analysis method (a confidence sequence when sequential)."""

    day: date
    arm: str
    effect: float | None
    ci_low: float | None
    ci_high: float | None


@dataclass(frozen=True)
class DailyAllocation:
    day: date
    arm: str
    units: int  # units first exposed that day
    share: float  # of all the day's units


@dataclass(frozen=True)
class PersonalizationLift:
    """The site's global holdout (always defaults) against everyone else, on one metric."""

    metric: str
    holdout_units: int
    personalized_units: int
    holdout_mean: float | None
    personalized_mean: float | None
    effect: float | None  # relative lift of personalization
    ci_low: float | None
    ci_high: float | None
    p_value: float | None


@dataclass(frozen=True)
class ExperimentReport:
    experiment_key: str
    phase: int
    phases: tuple[int, ...]  # every phase that has data, oldest first
    status: str
    mode: str  # "fixed" | "bandit"
    arms: tuple[ArmSummary, ...]
    analysis: Analysis  # cells hidden while the sample-ratio check fires
    excluded_units: int  # seen in more than one arm: left out of every figure
    daily_effects: tuple[DailyEffect, ...] = ()
    daily_allocation: tuple[DailyAllocation, ...] = ()
    computed_at: datetime | None = None  # when the rollups were last brought up to date
    notes: tuple[str, ...] = field(default_factory=tuple)
