"""Bandit batches move traffic toward the better arm with the floor respected, record the
batch, and the weights delivery draws with (the logged propensities) are the batch's; the
bandit's report is inverse-propensity weighted. The results API: every role reads, another
site's experiment is 404, a bad phase is 400."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from experiments.models import Assignment, BanditBatch, ExperimentPhase
from experiments.selectors.results import experiment_report
from experiments.services.bandits import bandit_batch_run, bandit_batches_run
from experiments.services.experiments import experiment_create, experiment_start
from experiments.services.rollups import experiment_rollups_rebuild
from segments.models import Event
from tenancy.models import Site
from tenancy.roles import Role
from tests.content.factories import PlacementFactory
from tests.experiments.conftest import make_experiment, variant
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db

NOW = timezone.now()
RATES = {"control": 0.05, "b": 0.25, "c": 0.05}
ARMS = ("control", "b", "c")


def traffic(site, experiment, n=600, seed=3, arms=("control", "b")):
    rng = random.Random(seed)
    for i in range(n):
        arm = arms[i % len(arms)]
        at = NOW - timedelta(days=2, seconds=i)
        Assignment.objects.create(
            site=site,
            experiment=experiment,
            phase=experiment.phase,
            unit_id=f"u{i}",
            arm_key=arm,
            probability=1 / len(arms),
            first_exposed_at=at,
        )
        if rng.random() < RATES[arm]:
            Event.objects.create(
                site=site, visitor_id=f"u{i}", name="signup", occurred_at=at + timedelta(hours=1)
            )


@pytest.fixture
def bandit(site, placement, metric):
    # Top-two Thompson sampling keeps measuring the runner-up: with two arms it stays near
    # 50/50 by design, so the bandit has three.
    experiment = experiment_create(
        site=site,
        key="hero-bandit",
        name="Hero bandit",
        placement=placement,
        mode="bandit",
        bandit_floor=0.1,
        arms=[
            {"key": "control", "is_control": True},
            {"key": "b", "content_variant": variant(placement, "b")},
            {"key": "c", "content_variant": variant(placement, "c")},
        ],
        metrics=[{"metric": metric, "role": "primary"}],
    )
    experiment_start(experiment=experiment)
    ExperimentPhase.objects.filter(experiment=experiment).update(started_at=NOW - timedelta(days=3))
    experiment.refresh_from_db()
    return experiment


def test_bandit_batch_moves_weights_toward_the_better_arm(site, bandit):
    traffic(site, bandit, arms=ARMS)
    version = Site.objects.get(pk=site.pk).config_version
    result = bandit_batch_run(experiment=bandit, now=NOW)
    assert result is not None and result.batch == 1 and not result.kept_previous
    weights = result.weights
    # Top-two: the leader keeps about half and the challengers share the rest, above the floor.
    assert weights["b"] > 0.4 and min(weights.values()) >= 0.1 - 1e-9
    assert sum(weights.values()) == pytest.approx(1.0)
    batches = list(BanditBatch.objects.filter(experiment=bandit).order_by("number"))
    assert [b.number for b in batches] == [0, 1]
    assert batches[0].weights == pytest.approx({k: 1 / 3 for k in ARMS})
    assert batches[1].weights == pytest.approx(weights)
    # Delivery draws new units with the arms' normalised weights: the batch's propensities.
    bandit.refresh_from_db()
    arms = {a.key: a.weight for a in bandit.arms.all()}
    total = sum(arms.values())
    assert {k: w / total for k, w in arms.items()} == pytest.approx(weights)
    phase = ExperimentPhase.objects.get(experiment=bandit)
    assert phase.number == 1 and phase.weights == pytest.approx(weights)  # same phase
    assert Site.objects.get(pk=site.pk).config_version > version

    # Units of batch 1 are drawn with its propensities; the report weights them by 1/π.
    rng = random.Random(5)
    for i in range(200):
        arm = rng.choices(ARMS, [weights[k] for k in ARMS])[0]
        Assignment.objects.create(
            site=site,
            experiment=bandit,
            phase=1,
            unit_id=f"n{i}",
            arm_key=arm,
            probability=weights[arm],
            first_exposed_at=NOW + timedelta(seconds=i + 1),
        )
    experiment_rollups_rebuild(experiment=bandit)
    report = experiment_report(experiment=bandit)
    assert report.mode == "bandit" and report.analysis.estimator == "hajek"
    assert report.arms[1].weight == pytest.approx(weights["b"])
    assert report.analysis.cell("b", "signup").effect > 0.5
    assert sum(a.units for a in report.arms) == 800
    assert report.analysis.srm.status == "ok"
    assert report.daily_effects


def test_bandit_keeps_weights_until_every_arm_has_enough_units(site, bandit):
    traffic(site, bandit, n=60, arms=ARMS)
    result = bandit_batch_run(experiment=bandit, now=NOW)
    assert result.kept_previous and result.batch is None
    assert not BanditBatch.objects.exists()


def test_bandit_task_skips_fixed_experiments(site, placement, metric):
    experiment = make_experiment(site, placement, metric)
    experiment_start(experiment=experiment)
    traffic(site, experiment)
    assert bandit_batches_run(now=NOW) == []
    assert not BanditBatch.objects.exists()


# --- API ----------------------------------------------------------------------------------


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def test_results_api_reads_for_every_role_and_scopes_by_site(site, other_site, placement, metric):
    experiment = make_experiment(site, placement, metric)
    experiment_start(experiment=experiment)
    ExperimentPhase.objects.filter(experiment=experiment).update(started_at=NOW - timedelta(days=3))
    traffic(site, experiment, n=100)
    experiment_rollups_rebuild(experiment=experiment)
    url = f"/api/v1/experiments/{experiment.pk}/results/"
    for role in (Role.VIEWER, Role.MARKETER):
        r = client_for(user_with_role(site, role, username=f"u-{role}")).get(url)
        assert r.status_code == 200, r.content
        data = r.json()
        assert data["experiment_key"] == "hero-test" and data["phase"] == 1
        assert {a["key"]: a["units"] for a in data["arms"]} == {"control": 50, "b": 50}
        assert data["analysis"]["hidden"] is False
        assert data["analysis"]["cells"][0]["metric"] == "signup"
        assert data["daily_allocation"][0]["day"]
    viewer = client_for(user_with_role(site, Role.VIEWER, username="viewer2"))
    assert viewer.get(url + "?phase=1").status_code == 200
    for bad in ("2", "x", "-1"):
        r = viewer.get(url + f"?phase={bad}")
        assert r.status_code == 400, r.content
        assert r.json()["error"]["fields"][0]["path"] == "phase"
    outsider = client_for(user_with_role(other_site, Role.MARKETER, username="outsider"))
    assert outsider.get(url).status_code == 404
    assert APIClient().get(url).status_code in (401, 403)
    other_placement = PlacementFactory(site=other_site, key="x")
    assert other_placement.site_id != experiment.site_id
