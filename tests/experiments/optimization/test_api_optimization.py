"""/api/v1/optimizations/: set up, run, train and read versions; 400s with field paths for
hostile input; another site's optimizations and objects are out of reach; roles."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import yaml
from django.utils import timezone
from rest_framework.test import APIClient

from analytics.services.metrics import metric_create
from experiments.models import Optimization
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

URL = "/api/v1/optimizations/"


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


@pytest.fixture
def marketer(site):
    return client_for(user_with_role(site, Role.MARKETER, username="marketer"))


@pytest.fixture
def viewer(site):
    return client_for(user_with_role(site, Role.VIEWER, username="viewer"))


def body(site, placement, metric, **overrides):
    return {
        "site": site.pk,
        "key": "hero-opt",
        "name": "Hero",
        "placement": placement.pk,
        "goal": metric.pk,
        "features": FEATURES,
        "min_leaf": 20,
        "arms": [
            {"key": "b", "content_variant": variant(placement, "b").pk},
            {"key": "c", "content_variant": variant(placement, "c").pk},
        ],
        **overrides,
    }


def fields_of(response) -> dict[str, str]:
    assert response.status_code == 400, response.content
    return {f["path"]: f["message"] for f in response.json()["error"]["fields"]}


def test_set_up_run_train_and_read_versions(site, placement, metric, marketer):
    r = marketer.post(URL, body(site, placement, metric), format="json")
    assert r.status_code == 201, r.content
    data = r.json()
    assert data["status"] == "draft" and data["live_version"] == 0 and data["seed"] == "hero-opt"
    assert [a["key"] for a in data["arms"]] == ["b", "c"]
    pk = data["id"]
    r = marketer.post(f"{URL}{pk}/start/")
    assert r.status_code == 200 and r.json()["status"] == "running" and r.json()["started_at"]
    r = marketer.patch(f"{URL}{pk}/", {"features": [{"kind": "recency"}]}, format="json")
    assert "features" in fields_of(r)
    r = marketer.patch(f"{URL}{pk}/", {"holdout_share": 0.2}, format="json")
    assert r.status_code == 200 and r.json()["holdout_share"] == 0.2
    opt = Optimization.objects.get(pk=pk)
    now = timezone.now()
    log_decisions(opt, n=2000, start=now - timedelta(days=3), rates=TRUTH)
    r = marketer.post(f"{URL}{pk}/train/")
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "promoted" and r.json()["version"] == 1
    assert marketer.get(f"{URL}{pk}/").json()["live_version"] == 1
    r = marketer.get(f"{URL}{pk}/versions/")
    assert r.status_code == 200
    rows = r.json()["results"] if isinstance(r.json(), dict) else r.json()
    assert [v["number"] for v in rows] == [1] and rows[0]["status"] == "live"
    assert rows[0]["quality"]["promote"] is True and rows[0]["held_out"] > 0
    assert marketer.post(f"{URL}{pk}/pause/").json()["status"] == "paused"
    assert marketer.post(f"{URL}{pk}/resume/").json()["status"] == "running"
    assert marketer.delete(f"{URL}{pk}/").status_code == 400  # running
    assert marketer.post(f"{URL}{pk}/stop/").json()["status"] == "stopped"
    assert marketer.post(f"{URL}{pk}/resume/").status_code == 400
    assert marketer.delete(f"{URL}{pk}/").status_code == 204
    assert not Optimization.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "path"),
    [
        (
            {"features": [{"kind": "category", "field": "context.x", "top_k": 99}]},
            "features[0].top_k",
        ),
        ({"features": [{"kind": "segment", "segment": "ghost"}]}, "features[0].segment"),
        ({"features": {"kind": "hour"}}, "features"),
        ({"floor": 0.7}, "floor"),
        ({"holdout_share": 0.9}, "holdout_share"),
        ({"retrain_every": 10**30}, "retrain_every"),
        ({"min_leaf": 10**15}, "min_leaf"),
        ({"max_depth": -1}, "max_depth"),
        ({"promotion_rule": "best"}, "promotion_rule"),
        ({"key": "not a slug"}, "key"),
        ({"arms": []}, "arms"),
    ],
)
def test_bad_setups_are_400s_with_paths(site, placement, metric, marketer, overrides, path):
    r = marketer.post(URL, body(site, placement, metric, **overrides), format="json")
    assert path in fields_of(r), r.json()
    assert not Optimization.objects.exists()


def test_nan_and_deep_json_are_400s(site, placement, metric, marketer):
    raw = json.dumps(body(site, placement, metric)).replace('"min_leaf": 20', '"floor": NaN')
    r = marketer.generic("POST", URL, raw, content_type="application/json")
    assert r.status_code == 400, r.content
    deep = '{"x": ' * 5000 + "1" + "}" * 5000
    raw = json.dumps(body(site, placement, metric)).replace(
        '"min_leaf": 20', f'"features": [{deep}]'
    )
    raw = raw.replace('"features": [{"kind"', '"_": [{"kind"', 1)
    r = marketer.generic("POST", URL, raw, content_type="application/json")
    assert r.status_code == 400, r.content
    assert not Optimization.objects.exists()


def their_world(other_site):
    segment = SegmentFactory(site=other_site, key="s")
    placement = placement_with_variants(
        other_site, key="home_hero", targeted=[("b", segment, 1), ("c", segment, 2)]
    )
    metric = metric_create(site=other_site, key="signup", name="S", kind="conversion", event="s")
    return placement, metric


def test_other_sites_objects_are_unusable(site, other_site, placement, metric, marketer):
    theirs, their_metric = their_world(other_site)
    r = marketer.post(URL, body(site, placement, their_metric), format="json")
    assert "goal" in fields_of(r)
    r = marketer.post(URL, body(site, theirs, metric), format="json")
    assert "placement" in fields_of(r)
    arms = [
        {"key": "b", "content_variant": variant(placement, "b").pk},
        {"key": "x", "content_variant": variant(theirs, "b").pk},
    ]
    r = marketer.post(URL, body(site, placement, metric, arms=arms), format="json")
    assert "arms[1].content_variant" in fields_of(r)
    r = marketer.post(URL, body(other_site, placement, metric), format="json")
    assert "site" in fields_of(r)
    assert not Optimization.objects.exists()


def listed(client) -> list[dict]:
    data = client.get(URL).json()
    return data["results"] if isinstance(data, dict) else data


def test_another_sites_optimizations_are_invisible(site, other_site, placement, metric, marketer):
    mine = make_optimization(site, placement, metric)
    theirs = make_optimization(other_site, *their_world(other_site))
    assert [o["id"] for o in listed(marketer)] == [mine.pk]
    for suffix in ("", "versions/"):
        assert marketer.get(f"{URL}{theirs.pk}/{suffix}").status_code == 404
    for verb in ("start", "train", "stop"):
        assert marketer.post(f"{URL}{theirs.pk}/{verb}/").status_code == 404
    assert marketer.patch(f"{URL}{theirs.pk}/", {"name": "x"}, format="json").status_code == 404
    assert marketer.delete(f"{URL}{theirs.pk}/").status_code == 404
    assert Optimization.objects.get(pk=theirs.pk).status == "draft"


def test_a_viewer_reads_but_does_not_write(site, placement, metric, viewer):
    opt = make_optimization(site, placement, metric)
    assert viewer.get(f"{URL}{opt.pk}/").status_code == 200
    assert viewer.get(f"{URL}{opt.pk}/versions/").status_code == 200
    assert viewer.post(f"{URL}{opt.pk}/start/").status_code == 403
    assert viewer.post(f"{URL}{opt.pk}/train/").status_code == 403
    assert (
        viewer.post(URL, body(site, placement, metric, key="x"), format="json").status_code == 403
    )
    assert Optimization.objects.get(pk=opt.pk).status == "draft"


def test_the_schema_documents_the_endpoints(client):
    schema = yaml.safe_load(client.get("/api/schema/").content)
    for path in (
        "/api/v1/optimizations/",
        "/api/v1/optimizations/{id}/",
        "/api/v1/optimizations/{id}/start/",
        "/api/v1/optimizations/{id}/train/",
        "/api/v1/optimizations/{id}/versions/",
    ):
        assert path in schema["paths"], path
