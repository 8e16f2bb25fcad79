"""Placeholder of the results selectors (the real ones come from the rollups branch): only
the signatures the results page calls. Replaced wholesale when that branch is merged."""

from __future__ import annotations

from analytics.models import Metric
from experiments.models import Experiment
from experiments.reports import ExperimentReport, PersonalizationLift
from tenancy.models import Site


def experiment_report(*, experiment: Experiment, phase: int | None = None) -> ExperimentReport:
    raise NotImplementedError("experiment results are not computed yet")


def site_personalization_lift(
    *, site: Site, metric: Metric | None = None
) -> PersonalizationLift | None:
    return None
