"""The optimization report from logged decisions and events (selector) and its admin page:
figures equal to a hand count, leaves named with the catalog and variant names, CSV,
site scoping and permissions."""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from experiments.models import (
    Optimization,
    OptimizationArm,
    OptimizationStatus,
    PolicyDecision,
    PolicyVersion,
    PolicyVersionStatus,
)
from experiments.selectors.optimization_report import optimization_report
from segments.models import Event, Field
from tenancy.roles import Role
from tests.experiments.conftest import variant
from tests.experiments.optimization.test_report_figures import hand_built
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db

DAYS = 6
PER_DAY = 100


@pytest.fixture
def optimization(site, placement, metric):
    now = timezone.now()
    opt = Optimization.objects.create(
        site=site,
        key="hero-opt",
        name="Hero optimization",
        placement=placement,
        goal=metric,
        features=[{"kind": "category", "field": "context.device_type"}],
        status=OptimizationStatus.RUNNING,
        started_at=now - timedelta(days=30),
    )
    for key in ("default", "b", "c"):
        OptimizationArm.objects.create(
            optimization=opt, key=key, content_variant=variant(placement, key)
        )
    policy = hand_built()
    data = policy.to_json()
    data["arms"] = ["default", "b", "c"]
    live = PolicyVersion.objects.create(
        optimization=opt,
        number=1,
        status=PolicyVersionStatus.LIVE,
        trained_at=now - timedelta(days=25),
        window_start=now - timedelta(days=30),
        window_end=now - timedelta(days=26),
        decisions=400,
        rewarded=40,
        held_out=100,
        policy=data,
        quality={"promote": True, "reason": "candidate shown better than live by +0.0100"},
    )
    opt.live_version = live
    opt.save()
    rng = random.Random(3)
    start = now - timedelta(days=20)
    decisions, events = [], []
    for day in range(DAYS):
        for n in range(PER_DAY):
            at = start + timedelta(days=day, minutes=10 * n)
            holdout = n % 5 == 0
            arm = rng.choice(["default", "b", "c"]) if holdout else ("b" if n % 3 else "c")
            unit = f"u{day}-{n}"
            decisions.append(
                PolicyDecision(
                    site=site,
                    optimization=opt,
                    version=1,
                    unit_id=unit,
                    arm_key=arm,
                    propensity=1 / 3 if holdout else (0.8 if arm == "b" else 0.1),
                    holdout=holdout,
                    features={"context.device_type": "mobile"},
                    decided_at=at,
                )
            )
            if rng.random() < (0.05 if holdout else 0.12):
                events.append(
                    Event(
                        site=site,
                        visitor_id=unit,
                        kind="conversion",
                        name="signup",
                        occurred_at=at + timedelta(hours=2),
                    )
                )
    # One decision still inside the goal window: reported as pending, not counted.
    decisions.append(
        PolicyDecision(
            site=site,
            optimization=opt,
            version=1,
            unit_id="fresh",
            arm_key="b",
            propensity=0.8,
            holdout=False,
            decided_at=now - timedelta(hours=1),
        )
    )
    PolicyDecision.objects.bulk_create(decisions)
    Event.objects.bulk_create(events)
    Field.objects.update_or_create(
        site=site, path="context.device_type", defaults={"type": "enum", "label": "Device type"}
    )
    return opt


def test_report_figures_match_a_hand_count(optimization) -> None:
    data = optimization_report(optimization=optimization)
    converted = set(Event.objects.filter(name="signup").values_list("visitor_id", flat=True))
    rows = PolicyDecision.objects.filter(optimization=optimization).exclude(unit_id="fresh")
    policy = [r.unit_id in converted for r in rows if not r.holdout]
    holdout = [r.unit_id in converted for r in rows if r.holdout]
    overall = data.report.overall
    assert overall.policy.n == len(policy) == DAYS * PER_DAY * 4 // 5
    assert overall.policy.value == pytest.approx(sum(policy) / len(policy))
    assert overall.holdout.value == pytest.approx(sum(holdout) / len(holdout))
    assert data.pending == 1
    assert data.report.by_day and 6 <= len(data.report.periods) <= 7
    assert data.report.best_arm in ("default", "b", "c")
    assert data.live_number == 1
    assert data.arm_names == {"b": "b", "c": "c", "default": "default"}
    assert data.leaves[1].sentence == "Device type is not one of the known values"
    assert [v.number for v in data.versions] == [1] and data.versions[0].promoted is True


def test_report_page_shows_cards_leaves_versions_and_chart(optimization, site) -> None:
    client = Client()
    client.force_login(user_with_role(site, Role.VIEWER, username="viewer"))
    url = reverse("admin:experiments_optimization_report", args=[optimization.pk])
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    for fragment in (
        'id="pz-card-policy"',
        'id="pz-card-holdout"',
        'id="pz-card-best"',
        'id="pz-card-lift-best"',
        "Device type is mobile and local hour is below 18",
        "promoted",
        'data-chart="optimization-chart"',
        "experiments/results.js",
    ):
        assert fragment in html, fragment
    assert "<script>" not in html.replace('<script type="application/json"', "")
    chart = response.context["charts"][0]
    assert [s["label"] for s in chart["series"]][:2] == ["Policy", "Random holdout"]
    assert len(chart["labels"]) == len(chart["series"][0]["data"])
    json.dumps(chart)  # what json_script embeds

    csv_response = client.get(url, {"format": "csv"})
    assert csv_response.status_code == 200
    assert csv_response["Content-Disposition"].endswith('alpha-hero-opt-report.csv"')
    rows = list(csv.DictReader(io.StringIO(csv_response.content.decode())))
    assert len(rows) == len(response.context["data"].report.periods)
    assert sum(int(r["decisions"]) for r in rows) == DAYS * PER_DAY
    last = rows[-1]
    overall = response.context["data"].report.overall
    assert float(last["cumulative_policy_rate"]) == pytest.approx(overall.policy.value)


def test_another_sites_optimization_is_a_404_and_login_is_required(
    optimization, other_site
) -> None:
    url = reverse("admin:experiments_optimization_report", args=[optimization.pk])
    client = Client()
    assert client.get(url).status_code == 302  # to the login page
    client.force_login(user_with_role(other_site, Role.SITE_ADMIN, username="other"))
    assert client.get(url).status_code == 404
    assert client.get(url, {"format": "csv"}).status_code == 404


def test_an_optimization_without_decisions_says_so(optimization, site) -> None:
    PolicyDecision.objects.filter(optimization=optimization).delete()
    Optimization.objects.filter(pk=optimization.pk).update(live_version=None)
    client = Client()
    client.force_login(user_with_role(site, Role.VIEWER, username="viewer"))
    response = client.get(reverse("admin:experiments_optimization_report", args=[optimization.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="pz-opt-empty"' in html and 'id="pz-opt-no-model"' in html
    assert "data-chart" not in html
