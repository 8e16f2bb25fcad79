"""The analysis method of an experiment: sequential by default, fixed or bayesian; bandits
take sequential or fixed only (a 400 at `method` in the API, a form error in the admin); it
is fixed once the experiment has started; and the report analyses the rollups with it (the
Bayesian chance to win on the results page), with `tuning` read per arm (twice it for a
comparison of two arms, times the number of arms for a bandit)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from experiments import ipw
from experiments.models import (
    Experiment,
    ExperimentArmDay,
    ExperimentCohort,
    ExperimentMetricDay,
)
from experiments.selectors.results import experiment_report
from experiments.services.experiments import experiment_create, experiment_start
from experiments.stats import SampleStats, compare
from tenancy.roles import Role
from tests.experiments.conftest import make_experiment, variant
from tests.experiments.test_admin import ADD, setup_post
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db

URL = "/api/v1/experiments/"
TODAY = timezone.now().date()
# Per arm: (units, conversions) of a conversion metric, on two cohort days.
DATA = {"control": [(1000, 50), (1000, 52)], "b": [(1000, 61), (1000, 70)]}


def api(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


@pytest.fixture
def marketer(site):
    return api(user_with_role(site, Role.MARKETER, username="marketer"))


def body(site, placement, metric, **overrides):
    return {
        "site": site.pk,
        "key": "hero-copy",
        "name": "Hero copy",
        "placement": placement.pk,
        "arms": [
            {"key": "control", "is_control": True},
            {"key": "b", "content_variant": variant(placement, "b").pk},
            {"key": "c", "content_variant": variant(placement, "c").pk},
        ],
        "metrics": [{"metric": metric.pk, "role": "primary"}],
        **overrides,
    }


def rollups(experiment, metric, data, *, propensity=0.5):
    """Experiment rollups as `experiments.services.rollups` writes them: one cohort per day,
    each arm's units and the metric's sums (a conversion: Σy² = Σy)."""
    for day_index in range(len(next(iter(data.values())))):
        cohort = ExperimentCohort.objects.create(
            site_id=experiment.site_id,
            experiment=experiment,
            phase=experiment.phase,
            day=TODAY - timedelta(days=2 - day_index),
            computed_at=timezone.now(),
        )
        for arm, rows in data.items():
            units, conversions = rows[day_index]
            ExperimentArmDay.objects.create(
                cohort=cohort, arm_key=arm, propensity=propensity, units=units
            )
            ExperimentMetricDay.objects.create(
                cohort=cohort,
                arm_key=arm,
                metric=metric,
                n=units,
                total=conversions,
                total_sq=conversions,
            )


def summed(rows) -> SampleStats:
    n = sum(u for u, _ in rows)
    y = sum(c for _, c in rows)
    return SampleStats(n=n, sum=float(y), sum_sq=float(y))


def test_default_is_sequential_and_the_api_stores_the_choice(site, placement, metric, marketer):
    r = marketer.post(URL, body(site, placement, metric), format="json")
    assert r.status_code == 201, r.content
    assert r.json()["method"] == "sequential"
    r = marketer.post(
        URL, body(site, placement, metric, key="bayes", method="bayesian"), format="json"
    )
    assert r.status_code == 201, r.content
    assert Experiment.objects.get(key="bayes").method == "bayesian"
    r = marketer.post(URL, body(site, placement, metric, key="x", method="magic"), format="json")
    assert r.status_code == 400
    assert [f["path"] for f in r.json()["error"]["fields"]] == ["method"]


def test_a_bandit_is_sequential_or_fixed(site, placement, metric, marketer):
    r = marketer.post(
        URL, body(site, placement, metric, mode="bandit", method="bayesian"), format="json"
    )
    assert r.status_code == 400
    fields = {f["path"]: f["message"] for f in r.json()["error"]["fields"]}
    assert "sequential or the fixed-horizon" in fields["method"]
    assert not Experiment.objects.exists()
    for method in ("sequential", "fixed"):
        r = marketer.post(
            URL,
            body(site, placement, metric, key=f"b-{method}", mode="bandit", method=method),
            format="json",
        )
        assert r.status_code == 201, r.content


def test_the_admin_form_refuses_a_bayesian_bandit(site, placement, metric):
    client = Client()
    client.force_login(user_with_role(site, Role.MARKETER, username="admin-marketer"))
    r = client.post(ADD, setup_post(site, placement, metric, mode="bandit", method="bayesian"))
    assert r.status_code == 200
    assert r.context["adminform"].form.errors["method"] == [
        "A bandit is analysed with the sequential or the fixed-horizon method."
    ]
    assert not Experiment.objects.exists()
    r = client.post(ADD, setup_post(site, placement, metric, method="bayesian"))
    assert r.status_code == 302
    assert Experiment.objects.get().method == "bayesian"


def test_the_method_is_fixed_once_started(site, placement, metric, marketer):
    experiment = make_experiment(site, placement, metric)
    r = marketer.patch(f"{URL}{experiment.pk}/", {"method": "fixed"}, format="json")
    assert r.status_code == 200 and r.json()["method"] == "fixed"
    experiment_start(experiment=experiment)
    r = marketer.patch(f"{URL}{experiment.pk}/", {"method": "bayesian"}, format="json")
    assert r.status_code == 400
    assert [f["path"] for f in r.json()["error"]["fields"]] == ["method"]
    experiment.refresh_from_db()
    assert experiment.method == "fixed"


@pytest.mark.parametrize("method", ["sequential", "fixed", "bayesian"])
def test_the_report_analyses_the_rollups_with_the_method(site, placement, metric, method):
    experiment = make_experiment(site, placement, metric, method=method, tuning=3000)
    experiment_start(experiment=experiment)
    rollups(experiment, metric, DATA)
    report = experiment_report(experiment=experiment)
    expected = compare(
        summed(DATA["control"]),
        summed(DATA["b"]),
        relative=True,
        method=method,
        alpha=experiment.alpha,
        tuning=2 * 3000,  # tuning is per arm: a comparison of two arms plans for twice it
    )
    cell = report.analysis.cell("b", metric.key)
    assert report.analysis.method == method
    assert cell.effect == pytest.approx(expected.effect, rel=1e-12)
    assert (cell.ci_low, cell.ci_high) == pytest.approx((expected.ci_low, expected.ci_high))
    last = [e for e in report.daily_effects if e.arm == "b"][-1]
    assert (last.ci_low, last.ci_high) == pytest.approx((expected.ci_low, expected.ci_high))
    if method == "bayesian":
        assert cell.p_value is None
        assert cell.chance_to_win == pytest.approx(expected.chance_to_win)
        assert 0.5 < cell.chance_to_win < 1
    else:
        assert cell.p_value == pytest.approx(expected.p_value)


def test_the_results_page_shows_the_chance_to_win_on_real_rollups(site, placement, metric):
    experiment = make_experiment(site, placement, metric, method="bayesian")
    experiment_start(experiment=experiment)
    rollups(experiment, metric, DATA)
    cell = experiment_report(experiment=experiment).analysis.cell("b", metric.key)
    client = Client()
    client.force_login(user_with_role(site, Role.VIEWER, username="viewer"))
    page = client.get(reverse("admin:experiments_experiment_results", args=[experiment.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Chance to win" in html and "Expected loss" in html
    assert f"{cell.chance_to_win * 100:.1f} %" in html
    assert "the Bayesian model" in html


def test_a_bandit_plans_its_sequences_for_tuning_times_its_arms(site, placement, metric):
    experiment = experiment_create(
        site=site,
        key="bandit",
        name="Bandit",
        placement=placement,
        mode="bandit",
        tuning=2000,
        arms=[
            {"key": "control", "is_control": True},
            {"key": "b", "content_variant": variant(placement, "b")},
            {"key": "c", "content_variant": variant(placement, "c")},
        ],
        metrics=[{"metric": metric, "role": "primary"}],
    )
    experiment_start(experiment=experiment)
    data = {**DATA, "c": [(1000, 49), (1000, 55)]}
    rollups(experiment, metric, data, propensity=1 / 3)
    report = experiment_report(experiment=experiment)
    moments = ipw.moments_from_strata(
        [ipw.Stratum(arm=arm, propensity=1 / 3, stats=summed(rows)) for arm, rows in data.items()]
    )
    expected = ipw.ipw_effects(moments, control="control", tuning=3 * 2000)
    for arm in ("b", "c"):
        cell = report.analysis.cell(arm, metric.key)
        assert (cell.ci_low, cell.ci_high) == pytest.approx(
            (expected[arm].ci_low, expected[arm].ci_high)
        )
    # Planning for twice the tuning (the old reading) gives another interval: the test bites.
    other = ipw.ipw_effects(moments, control="control", tuning=2 * 2000)["b"]
    assert report.analysis.cell("b", metric.key).ci_low != pytest.approx(other.ci_low)
