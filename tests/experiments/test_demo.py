"""seed_demo's experiment: running on a demo placement with two arms and a primary metric,
simulated assignments that pass the SRM check, a real effect, and no duplicates on a re-run."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from experiments.models import Assignment, Experiment, GlobalHoldout
from experiments.stats import SampleStats, compare, srm_p_value
from segments.models import Event
from tenancy.models import Site

pytestmark = pytest.mark.django_db


def test_demo_experiment_has_traffic_with_a_real_effect_and_is_idempotent(capsys):
    call_command("seed_demo", "--no-admin")
    assert "Experiments demo" in capsys.readouterr().out
    site = Site.objects.get(slug="demo")
    experiment = Experiment.objects.get(site=site, key="offers-free-checking")
    assert experiment.status == "running" and experiment.placement.key == "offers"
    assert experiment.arms.count() == 2 and experiment.arms.filter(is_control=True).count() == 1
    assert experiment.metrics.get(role="primary").metric.key == "checked-out"
    assert experiment.phases.get().started_at == experiment.started_at
    assert GlobalHoldout.objects.get(site=site).share == 0.05

    units = dict(Assignment.objects.filter(experiment=experiment).values_list("unit_id", "arm_key"))
    counts = [
        sum(1 for arm in units.values() if arm == key) for key in ("control", "free-checking")
    ]
    assert sum(counts) > 3000
    assert srm_p_value(counts, [0.5, 0.5]) > 0.001
    buyers = set(
        Event.objects.filter(site=site, name="checkout", visitor_id__in=units).values_list(
            "visitor_id", flat=True
        )
    )
    stats = {}
    for key, n in zip(("control", "free-checking"), counts, strict=True):
        converted = sum(1 for unit, arm in units.items() if arm == key and unit in buyers)
        stats[key] = SampleStats(n=n, sum=converted, sum_sq=converted)
    result = compare(stats["control"], stats["free-checking"], relative=False, method="fixed")
    assert result.ci_low > 0, result  # the free-checking arm really converts better

    events = Event.objects.filter(site=site).count()
    call_command("seed_demo", "--no-admin")
    assert Experiment.objects.filter(site=site).count() == 1
    assert Assignment.objects.filter(experiment=experiment).count() == len(units)
    assert Event.objects.filter(site=site).count() == events
