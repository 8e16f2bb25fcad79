"""Planning an experiment from its slot's analytics rollups: the figures are those of
`experiments.stats.Design` for the baseline and traffic computed by hand from the rows the
tests write (rows outside the window, of another slot, of the global holdout and of segments
do not count); defaults with notes when there is no data; the audience's share, coverage,
layer slice and unequal weights; the change page's Planning fieldset; the API (every role
reads, another site's experiment is a 404) and its OpenAPI entry."""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import pytest
import yaml
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from analytics.models import MetricDay, VariantDay
from analytics.services.metrics import metric_create
from experiments.models import Layer
from experiments.selectors.planning import (
    DEFAULT_BASELINE_RATE,
    DEFAULT_DAILY_UNITS,
    experiment_plan,
)
from experiments.services.experiments import experiment_create, experiment_start
from experiments.stats import Design, proportion_variance
from tenancy.roles import Role
from tests.content.factories import ContentVariantFactory, PlacementFactory, SegmentFactory
from tests.experiments.conftest import make_experiment, variant
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 1)
# The slot's last days: (days ago, visitors, exposures n, conversions).
TRAFFIC = [(10, 900, 1000, 40), (6, 1100, 1200, 66), (3, 800, 900, 45), (1, 1200, 1300, 61)]


def day(ago: int, today: date = TODAY) -> date:
    return today - timedelta(days=ago)


def write_rollups(site, metric, rows, *, slot="home_hero", today=TODAY, **dims):
    for ago, visitors, n, conversions in rows:
        keys = {
            "site": site,
            "day": day(ago, today),
            "slot": slot,
            "variant": "default",
            "reason": "default",
            **dims,
        }
        VariantDay.objects.create(**keys, impressions=visitors * 2, visitors=visitors)
        MetricDay.objects.create(
            **keys,
            metric=metric,
            n=n,
            converted=conversions,
            total=conversions,
            total_sq=conversions,
        )


@pytest.fixture
def traffic(site, metric):
    write_rollups(site, metric, TRAFFIC)
    # None of these count: outside the window (29 days ago, today), another slot, the
    # global holdout (never in an experiment), a segment's rows (a subset of everyone's).
    write_rollups(site, metric, [(29, 5000, 5000, 4000), (0, 5000, 5000, 4000)])
    write_rollups(site, metric, [(2, 7000, 7000, 10)], slot="other")
    write_rollups(site, metric, [(2, 7000, 7000, 10)], reason="holdout")
    write_rollups(site, metric, [(2, 300, 300, 200)], segment="everyone")


def by_hand(rows, *, since: int):
    n = sum(r[2] for r in rows)
    y = sum(r[3] for r in rows)
    mean = y / n
    variance = (y - n * mean**2) / (n - 1)  # Σy² = Σy for a conversion
    daily = sum(r[1] for r in rows) / since  # from the first day with traffic to yesterday
    return mean, variance, daily


def test_figures_are_designs_for_the_measured_baseline(site, placement, metric, traffic):
    experiment = make_experiment(site, placement, metric, coverage=0.5, tuning=4000)
    experiment.arms.filter(key="b").update(weight=3)  # control 1 : b 3
    plan = experiment_plan(experiment=experiment, today=TODAY)

    mean, variance, daily = by_hand(TRAFFIC, since=10)
    assert (plan.baseline_from, plan.traffic_from) == ("rollups", "rollups")
    assert plan.baseline_mean == pytest.approx(mean, rel=1e-12)
    assert plan.baseline_variance == pytest.approx(variance, rel=1e-12)
    assert plan.baseline_units == 4400
    assert plan.days_observed == 10
    assert plan.slot_units_per_day == pytest.approx(daily)
    assert plan.units_per_day == pytest.approx(daily * 0.5)
    control, b = daily * 0.5 * 0.25, daily * 0.5 * 0.75
    assert [(a.key, a.units_per_day) for a in plan.arms] == [
        ("control", pytest.approx(control)),
        ("b", pytest.approx(b)),
    ]
    compared = 2 / (1 / control + 1 / b)  # the equal split with the same standard error
    assert plan.compared_units_per_day == pytest.approx(compared)

    design = Design(
        baseline_mean=mean,
        baseline_variance=variance,
        alpha=0.05,
        method="sequential",
        tuning=2 * 4000,
    )
    assert plan.planned_as == "sequential" and plan.window == (day(28), day(1))
    for horizon, days in zip(plan.horizons, (14, 28), strict=True):
        assert horizon.days == days
        assert horizon.minimum_detectable_effect == pytest.approx(
            design.minimum_detectable_effect(units_per_arm=compared * days), rel=1e-9
        )
    for lift, target in zip(plan.lifts, (0.05, 0.10), strict=True):
        needed = design.units_per_arm(lift=target)
        assert (lift.lift, lift.units_per_arm) == (target, needed)
        assert lift.days == math.ceil(needed / compared)
    # More days detect smaller lifts; a larger lift needs fewer days.
    assert plan.horizons[1].minimum_detectable_effect < plan.horizons[0].minimum_detectable_effect
    assert plan.lifts[1].days < plan.lifts[0].days


@pytest.mark.parametrize("method", ["fixed", "bayesian"])
def test_fixed_and_bayesian_are_planned_as_fixed_horizon(site, placement, metric, traffic, method):
    experiment = make_experiment(site, placement, metric, method=method)
    plan = experiment_plan(experiment=experiment, today=TODAY)
    mean, variance, daily = by_hand(TRAFFIC, since=10)
    design = Design(baseline_mean=mean, baseline_variance=variance, method="fixed")
    assert plan.method == method and plan.planned_as == "fixed"
    assert plan.lifts[0].units_per_arm == design.units_per_arm(lift=0.05)
    assert plan.lifts[0].days == math.ceil(design.units_per_arm(lift=0.05) / (daily / 2))
    sequential = experiment_plan(
        experiment=make_experiment(site, placement, metric, key="seq"), today=TODAY
    )
    assert sequential.lifts[0].days > plan.lifts[0].days  # the price of peeking
    assert any("fixed-horizon" in note for note in plan.notes) == (method == "bayesian")


def test_no_data_falls_back_to_stated_defaults_with_notes(site, placement, metric):
    experiment = make_experiment(site, placement, metric)
    plan = experiment_plan(experiment=experiment, today=TODAY)
    assert (plan.baseline_from, plan.traffic_from) == ("default", "default")
    assert plan.baseline_mean == DEFAULT_BASELINE_RATE
    assert plan.baseline_variance == pytest.approx(proportion_variance(DEFAULT_BASELINE_RATE))
    assert plan.slot_units_per_day == DEFAULT_DAILY_UNITS
    design = Design(baseline_mean=0.05, baseline_variance=0.05 * 0.95, tuning=2 * experiment.tuning)
    per_arm = DEFAULT_DAILY_UNITS / 2
    assert plan.horizons[0].minimum_detectable_effect == pytest.approx(
        design.minimum_detectable_effect(units_per_arm=per_arm * 14)
    )
    assert plan.lifts[1].days == math.ceil(design.units_per_arm(lift=0.10) / per_arm)
    notes = " ".join(plan.notes)
    assert "No usable data on Signup" in notes and "5 %" in notes
    assert "No traffic recorded on this slot" in notes and "1,000 visitors a day" in notes


def test_a_metric_without_conversions_uses_the_default_baseline(site, placement, metric):
    write_rollups(site, metric, [(2, 500, 500, 0)])  # traffic, but a baseline of 0
    plan = experiment_plan(experiment=make_experiment(site, placement, metric), today=TODAY)
    assert plan.baseline_from == "default" and plan.traffic_from == "rollups"
    assert plan.slot_units_per_day == pytest.approx(500 / 2)


def test_a_ratio_metrics_variance_is_the_delta_methods(site, placement):
    orders = metric_create(site=site, key="orders", name="Orders", kind="count", event="order")
    revenue = metric_create(
        site=site, key="revenue", name="Revenue", kind="sum", event="order", property="amount"
    )
    aov = metric_create(
        site=site, key="aov", name="Revenue per order", kind="ratio", numerator=revenue,
        denominator=orders,
    )  # fmt: skip
    rng = np.random.default_rng(7)
    x = rng.integers(1, 4, size=400).astype(float)  # orders per unit
    y = x * rng.gamma(4.0, 10.0, size=400)  # revenue per unit
    MetricDay.objects.create(
        site=site,
        day=day(3),
        slot="home_hero",
        variant="default",
        reason="default",
        metric=aov,
        n=400,
        total=y.sum(),
        total_sq=(y**2).sum(),
        den_total=x.sum(),
        den_total_sq=(x**2).sum(),
        cross_total=(x * y).sum(),
    )
    experiment = experiment_create(
        site=site,
        key="aov",
        name="AOV",
        placement=placement,
        arms=[
            {"key": "control", "is_control": True},
            {"key": "b", "content_variant": variant(placement, "b")},
        ],
        metrics=[{"metric": aov, "role": "primary"}],
    )
    plan = experiment_plan(experiment=experiment, today=TODAY)
    ratio = y.sum() / x.sum()
    # The linearised unit values (y - R·x)/x̄: their variance is the ratio's per-unit one.
    linear = (y - ratio * x) / x.mean()
    assert plan.baseline_mean == pytest.approx(ratio)
    assert plan.baseline_variance == pytest.approx(linear.var(ddof=1), rel=1e-9)


def test_audience_share_coverage_and_layer_slice(site, placement, metric, segment, traffic):
    layer = Layer.objects.create(site=site, key="hero", name="Hero")
    experiment = make_experiment(
        site,
        placement,
        metric,
        audience=segment,
        coverage=0.8,
        layer=layer,
        layer_start=0.25,
        layer_end=0.75,
    )
    plan = experiment_plan(experiment=experiment, today=TODAY)
    _, _, daily = by_hand(TRAFFIC, since=10)
    share = 300 / sum(r[1] for r in TRAFFIC)  # the segment's rows over everyone's
    assert plan.audience_share == pytest.approx(share)
    assert plan.layer_share == pytest.approx(0.5)
    assert plan.units_per_day == pytest.approx(daily * share * 0.8 * 0.5)
    assert any("known members" in note for note in plan.notes)
    # An audience with no rows of its own: unknown, taken as everyone, said so.
    other = segment.__class__.objects.create(site=site, key="nobody-yet", name="Nobody yet")
    experiment.audience = other
    plan = experiment_plan(experiment=experiment, today=TODAY)
    assert plan.audience_share is None
    assert plan.units_per_day == pytest.approx(daily * 0.8 * 0.5)
    assert any("unknown" in note for note in plan.notes)


def test_a_bandit_is_planned_at_its_current_weights_with_a_note(site, placement, metric):
    experiment = make_experiment(site, placement, metric, mode="bandit", method="fixed")
    plan = experiment_plan(experiment=experiment, today=TODAY)
    assert plan.planned_as == "fixed"
    assert any("bandit" in note for note in plan.notes)


# --- the change page and the API ---------------------------------------------------------------


def live_traffic(site, metric):
    write_rollups(site, metric, TRAFFIC, today=timezone.now().date())


def test_the_change_page_shows_the_plan_in_plain_words(site, placement, metric):
    live_traffic(site, metric)
    experiment = make_experiment(site, placement, metric, method="bayesian")
    experiment_start(experiment=experiment)
    plan = experiment_plan(experiment=experiment)
    client = Client()
    client.force_login(user_with_role(site, Role.VIEWER, username="viewer"))
    page = client.get(reverse("admin:experiments_experiment_change", args=[experiment.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Planning" in html and 'id="pz-plan"' in html
    assert "80 % power with the fixed-horizon Welch t-test" in html
    assert f"±{plan.horizons[0].minimum_detectable_effect * 100:.1f} %" in html
    assert f"{plan.lifts[0].days:,} days" in html
    assert "planned as fixed-horizon tests" in html
    # The add page has no saved setup to plan.
    client.force_login(user_with_role(site, Role.MARKETER, username="marketer"))
    add = client.get(reverse("admin:experiments_experiment_add"))
    assert add.status_code == 200
    assert 'id="pz-plan"' not in add.content.decode()


def api(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


@pytest.mark.parametrize("role", [Role.VIEWER, Role.EDITOR, Role.MARKETER])
def test_every_role_reads_the_plan(site, placement, metric, role):
    live_traffic(site, metric)
    experiment = make_experiment(site, placement, metric)
    r = api(user_with_role(site, role, username="reader")).get(
        f"/api/v1/experiments/{experiment.pk}/plan/"
    )
    assert r.status_code == 200, r.content
    data = r.json()
    plan = experiment_plan(experiment=experiment)
    assert data["baseline_from"] == "rollups" and data["metric"] == "signup"
    assert data["horizons"][0] == {
        "days": 14,
        "units_per_arm": pytest.approx(plan.horizons[0].units_per_arm),
        "minimum_detectable_effect": pytest.approx(plan.horizons[0].minimum_detectable_effect),
    }
    assert [lift["days"] for lift in data["lifts"]] == [lift.days for lift in plan.lifts]
    assert [a["key"] for a in data["arms"]] == ["control", "b"]
    assert data["window"] == [plan.window[0].isoformat(), plan.window[1].isoformat()]


def test_another_sites_plan_is_a_404_and_anonymous_is_refused(site, other_site, metric):
    theirs = PlacementFactory(site=other_site, key="home_hero")
    ContentVariantFactory(placement=theirs, key="default")
    b = ContentVariantFactory(
        placement=theirs, key="b", segment=SegmentFactory(site=other_site, key="theirs")
    )
    experiment = experiment_create(
        site=other_site,
        key="theirs",
        name="Theirs",
        placement=theirs,
        arms=[{"key": "control", "is_control": True}, {"key": "b", "content_variant": b}],
    )
    url = f"/api/v1/experiments/{experiment.pk}/plan/"
    assert api(user_with_role(site, Role.MARKETER, username="m")).get(url).status_code == 404
    assert APIClient().get(url).status_code == 403


def test_openapi_documents_the_plan(client):
    schema = yaml.safe_load(client.get("/api/schema/").content)
    operation = schema["paths"]["/api/v1/experiments/{id}/plan/"]["get"]
    ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    plan = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
    for name in ("horizons", "lifts", "arms", "baseline_mean", "units_per_day", "notes"):
        assert name in plan["properties"], name
    method = schema["components"]["schemas"]["ExperimentMethodEnum"]
    assert method["enum"] == ["sequential", "fixed", "bayesian"]
