"""The results of seed_demo's experiment, read from its rollups: the real effect (5 % against
8 % checkouts) is found, the split passes the sample-ratio check, and the daily series exist."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from experiments.models import Assignment, Experiment, ExperimentCohort
from experiments.selectors.results import experiment_report
from tenancy.models import Site

pytestmark = pytest.mark.django_db


def test_report_on_the_demo_finds_the_real_effect():
    call_command("seed_demo", "--no-admin")
    experiment = Experiment.objects.get(site__slug="demo", key="offers-free-checking")
    assert ExperimentCohort.objects.filter(experiment=experiment).exists()
    report = experiment_report(experiment=experiment)
    assert report.phase == 1 and report.phases == (1,)
    assert report.mode == "fixed" and report.excluded_units == 0
    units = {a.key: a.units for a in report.arms}
    assert sum(units.values()) == Assignment.objects.filter(experiment=experiment).count()
    analysis = report.analysis
    assert analysis.srm.status == "ok"
    cell = analysis.cell("free-checking", "checked-out")
    # The last week's cohorts are still inside their 7-day window (censored), so both
    # means sit below the simulated 5 % and 8 %; the lift (0.6) is what must be found.
    assert 0.03 < cell.control_mean < 0.06
    assert 0.045 < cell.treatment_mean < 0.09
    assert cell.effect > 0.1 and cell.chance_to_win > 0.9
    assert cell.ci_low < 0.6 < cell.ci_high
    assert report.daily_effects and report.daily_effects[-1].arm == "free-checking"
    assert report.daily_effects[-1].effect == pytest.approx(cell.effect)
    days = {a.day for a in report.daily_allocation}
    assert 13 <= len(days) <= 15
    assert report.computed_at is not None
    assert Site.objects.get(slug="demo")
