"""Assignments and logged policy decisions name visitors: they age out with the site's
retention, as events and profiles do."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from experiments.models import Assignment, Optimization, PolicyDecision
from experiments.services.retention import experiments_retention_purge
from experiments.tasks import purge_expired
from tests.experiments.conftest import make_experiment

pytestmark = pytest.mark.django_db


def test_old_assignments_and_decisions_are_purged(site, placement, metric):
    now = timezone.now()
    site.retention_days = 30
    site.save()
    experiment = make_experiment(site, placement, metric)
    optimization = Optimization.objects.create(
        site=site, key="opt", name="Opt", placement=placement, goal=metric
    )
    for days, unit in ((40, "old"), (29, "recent")):
        Assignment.objects.create(
            site=site,
            experiment=experiment,
            phase=1,
            unit_id=unit,
            arm_key="control",
            probability=0.5,
            first_exposed_at=now - timedelta(days=days),
        )
        PolicyDecision.objects.create(
            site=site,
            optimization=optimization,
            version=1,
            unit_id=unit,
            arm_key="a",
            propensity=0.5,
            decided_at=now - timedelta(days=days),
        )
    purge = experiments_retention_purge(site=site, now=now)
    assert (purge.assignments, purge.decisions) == (1, 1)
    assert list(Assignment.objects.values_list("unit_id", flat=True)) == ["recent"]
    assert list(PolicyDecision.objects.values_list("unit_id", flat=True)) == ["recent"]
    assert purge_expired() == 0  # nothing left that is old enough


def test_the_purge_is_scheduled():
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "experiments.purge_expired" in tasks
