"""seed_demo's optimization: the deals banner, its simulated history and models, and a
report that shows the policy beating both the random holdout and the best single variant."""

from __future__ import annotations

import numpy as np
import pytest
from django.core.management import call_command

from experiments import demo_optimization as demo
from experiments.models import Optimization, PolicyDecision, PolicyVersion
from experiments.selectors.optimization_report import optimization_report
from tenancy.models import Site

pytestmark = pytest.mark.django_db


def test_demo_optimization_report_shows_the_policy_beating_random_and_the_best_variant(capsys):
    call_command("seed_demo", "--no-admin")
    assert "Optimization demo" in capsys.readouterr().out
    site = Site.objects.get(slug="demo")
    optimization = Optimization.objects.get(site=site, key=demo.KEY)
    assert optimization.status == "running" and optimization.placement.key == demo.SLOT
    assert optimization.goal.key == demo.GOAL and optimization.holdout_share == demo.HOLDOUT
    assert optimization.live_version is not None
    assert optimization.live_version.status == "live"
    decisions = PolicyDecision.objects.filter(optimization=optimization)
    assert 15_000 <= decisions.count() <= 30_000
    assert PolicyVersion.objects.filter(optimization=optimization).count() >= 5

    data = optimization_report(optimization=optimization)
    overall = data.report.overall
    assert overall.lift_over_holdout.ci_low > 0, overall
    assert overall.lift_over_best.ci_low > 0, overall
    assert overall.policy.ci_low > overall.best.value > 0
    assert data.report.by_day and len(data.report.periods) >= 14

    # The variant picked as the best single one is (nearly) the truly best on average.
    rows = list(decisions.values_list("features", flat=True)[:5000])
    truth = {
        arm: np.mean(
            [
                demo.true_rate(
                    arm,
                    f["context.device_type"],
                    int(f["hour:context.local_time"]),
                )
                for f in rows
            ]
        )
        for arm in data.report.arms
    }
    assert truth[data.report.best_arm] >= max(truth.values()) - 0.005, truth

    # The live model's groups, in words with the catalog's label and the variants' names.
    sentences = [leaf.sentence for leaf in data.leaves]
    assert len(sentences) >= 2 and all(s.startswith("Device type") for s in sentences)
    names = {a.name for leaf in data.leaves for a in leaf.arms}
    assert names == {"Commute deals", "Desk setup", "Evening deals", "Everyday deals"}
    tops = {leaf.top_arm for leaf in data.leaves}
    assert {"commute-deals", "desk-setup", "evening-deals"} <= tops

    # Idempotent: a second run adds nothing.
    count = decisions.count()
    call_command("seed_demo", "--no-admin")
    assert PolicyDecision.objects.filter(optimization=optimization).count() == count
