"""The optimization setup in the admin: a marketer creates one with its arms, bad setups are
form errors (never a 500), the status buttons and "Train now" work, the versions table
shows the gate's verdict, the choices never include another site's objects, and another
site's optimizations are out of reach."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from analytics.services.metrics import metric_create
from experiments.models import Optimization
from experiments.services.optimization import optimization_start
from tenancy.roles import Role
from tests.content.factories import SegmentFactory, placement_with_variants
from tests.experiments.conftest import variant
from tests.experiments.optimization.conftest import (
    FEATURES,
    TRUTH,
    log_decisions,
    make_optimization,
)
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db

ADD = reverse("admin:experiments_optimization_add")
LIST = reverse("admin:experiments_optimization_changelist")


def login(user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


@pytest.fixture
def marketer(site):
    return login(user_with_role(site, Role.MARKETER, username="marketer"))


def change_url(opt) -> str:
    return reverse("admin:experiments_optimization_change", args=[opt.pk])


def setup_post(site, placement, metric, *, arms=None, **fields) -> dict:
    arms = arms or [
        {"key": "b", "content_variant": str(variant(placement, "b").pk)},
        {"key": "c", "content_variant": str(variant(placement, "c").pk)},
    ]
    data = {
        "site": str(site.pk),
        "key": "hero-opt",
        "name": "Hero",
        "description": "",
        "placement": str(placement.pk),
        "goal": str(metric.pk),
        "features": json.dumps(FEATURES),
        "holdout_share": "0.1",
        "floor": "0.02",
        "seed": "",
        "training_window_days": "28",
        "retrain_every": "5000",
        "max_depth": "4",
        "min_leaf": "40",
        "promotion_rule": "not_worse",
        "promotion_margin": "0.02",
        "arms-TOTAL_FORMS": str(len(arms)),
        "arms-INITIAL_FORMS": "0",
        "versions-TOTAL_FORMS": "0",
        "versions-INITIAL_FORMS": "0",
        **fields,
    }
    for i, row in enumerate(arms):
        for name, value in row.items():
            data[f"arms-{i}-{name}"] = value
    return data


def test_marketer_creates_an_optimization(site, placement, metric, marketer):
    assert marketer.get(ADD).status_code == 200
    r = marketer.post(ADD, setup_post(site, placement, metric))
    assert r.status_code == 302, r.content.decode()[:3000]
    opt = Optimization.objects.get()
    assert opt.seed == "hero-opt" and opt.features == FEATURES
    assert sorted(opt.arms.values_list("key", flat=True)) == ["b", "c"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"features": "[{"}, "Enter a valid JSON"),
        ({"features": "[" * 5000 + "]" * 5000}, "nested too deeply"),
        (
            {"features": json.dumps([{"kind": "category", "field": "context.x", "top_k": 0}])},
            "features[0].top_k",
        ),
        (
            {"features": json.dumps([{"kind": "segment", "segment": "ghost"}])},
            "features[0].segment",
        ),
        ({"floor": "0.6"}, "floor"),
        ({"floor": "nan"}, "Enter a number"),
        ({"holdout_share": "0.9"}, "0.5"),
        ({"retrain_every": "9" * 30}, "retrain"),
        ({"promotion_margin": "0"}, "margin above 0"),
    ],
)
def test_bad_setups_are_form_errors(site, placement, metric, marketer, fields, message):
    r = marketer.post(ADD, setup_post(site, placement, metric, **fields))
    assert r.status_code == 200, r.content.decode()[:2000]
    assert message in r.content.decode()
    assert not Optimization.objects.exists()


def test_arms_must_be_variants_of_the_slot(site, placement, metric, marketer):
    other = placement_with_variants(site, key="footer")
    arms = [
        {"key": "b", "content_variant": str(variant(placement, "b").pk)},
        {"key": "x", "content_variant": str(variant(other, "default").pk)},
    ]
    r = marketer.post(ADD, setup_post(site, placement, metric, arms=arms))
    assert r.status_code == 200
    assert (
        "arm &#x27;x&#x27; content variant: Choose a variant of the optimization"
        in r.content.decode()
    )
    r = marketer.post(ADD, setup_post(site, placement, metric, arms=arms[:1]))
    assert "at least two eligible variants" in r.content.decode()
    assert not Optimization.objects.exists()


def test_status_buttons_train_now_and_the_versions_table(site, placement, metric, marketer):
    opt = make_optimization(site, placement, metric)
    page = marketer.get(change_url(opt)).content.decode()
    assert 'value="Start"' in page and "Train now" not in page
    lifecycle = reverse("admin:experiments_optimization_lifecycle", args=[opt.pk, "start"])
    assert marketer.get(lifecycle).status_code == 405  # POST only
    assert marketer.post(lifecycle).status_code == 302
    opt.refresh_from_db()
    assert opt.status == "running" and opt.started_at is not None
    page = marketer.get(change_url(opt)).content.decode()
    assert 'value="Pause"' in page and 'value="Stop"' in page and "Train now" in page
    log_decisions(opt, n=2000, start=timezone.now() - timedelta(days=3), rates=TRUTH)
    r = marketer.post(reverse("admin:experiments_optimization_train", args=[opt.pk]), follow=True)
    assert "Version 1 promoted" in r.content.decode()
    opt.refresh_from_db()
    assert opt.live_version.number == 1
    page = marketer.get(change_url(opt)).content.decode()
    assert "Promoted: candidate better than live" in page and "serving v1" in page
    listing = marketer.get(LIST).content.decode()
    assert "v1" in listing and "2000" in listing
    stop = reverse("admin:experiments_optimization_lifecycle", args=[opt.pk, "stop"])
    assert marketer.post(stop).status_code == 302
    assert Optimization.objects.get(pk=opt.pk).status == "stopped"


def test_a_refused_start_is_a_message(site, placement, metric, marketer):
    optimization_start(optimization=make_optimization(site, placement, metric))
    second = make_optimization(site, placement, metric, key="second")
    lifecycle = reverse("admin:experiments_optimization_lifecycle", args=[second.pk, "start"])
    r = marketer.post(lifecycle, follow=True)
    assert "already running or paused" in r.content.decode()
    assert Optimization.objects.get(pk=second.pk).status == "draft"


def test_a_viewer_reads_but_cannot_change(site, placement, metric):
    viewer = login(user_with_role(site, Role.VIEWER, username="viewer"))
    opt = make_optimization(site, placement, metric)
    page = viewer.get(change_url(opt))
    assert page.status_code == 200 and 'value="Start"' not in page.content.decode()
    lifecycle = reverse("admin:experiments_optimization_lifecycle", args=[opt.pk, "start"])
    assert viewer.post(lifecycle).status_code == 403
    train = reverse("admin:experiments_optimization_train", args=[opt.pk])
    assert viewer.post(train).status_code == 403
    assert Optimization.objects.get(pk=opt.pk).status == "draft"


def test_another_sites_optimizations_and_objects_are_out_of_reach(
    site, other_site, placement, metric, marketer
):
    segment = SegmentFactory(site=other_site, key="s")
    theirs_placement = placement_with_variants(
        other_site, key="hero", targeted=[("b", segment, 1), ("c", segment, 2)]
    )
    their_metric = metric_create(
        site=other_site, key="theirs", name="T", kind="conversion", event="t"
    )
    theirs = make_optimization(other_site, theirs_placement, their_metric)
    mine = make_optimization(site, placement, metric, key="mine")
    listing = marketer.get(LIST).content.decode()
    assert "mine" in listing and "hero-opt" not in listing
    assert marketer.get(change_url(theirs)).status_code in (302, 404)
    for url in (
        reverse("admin:experiments_optimization_lifecycle", args=[theirs.pk, "start"]),
        reverse("admin:experiments_optimization_train", args=[theirs.pk]),
    ):
        assert marketer.post(url).status_code == 404
    assert Optimization.objects.get(pk=theirs.pk).status == "draft"
    # The choices offered: this site's only; goals without ratios; arms of its own slot.
    add = marketer.get(ADD).content.decode()
    assert f'value="{their_metric.pk}"' not in add.split('name="goal"')[1].split("</select>")[0]
    page = marketer.get(change_url(mine)).content.decode()
    choices = page.split('name="arms-0-content_variant"')[1].split("</select>")[0]
    assert f'value="{variant(theirs_placement, "b").pk}"' not in choices
    assert f'value="{variant(placement, "b").pk}"' in choices
    # Posting another site's metric is a form error.
    r = marketer.post(ADD, setup_post(site, placement, their_metric, key="x"))
    assert r.status_code == 200 and not Optimization.objects.filter(key="x").exists()
