"""/api/v1/experiments/, /layers/, /holdout/: roles (marketer writes, viewer and editor read),
site isolation (another site's objects are 404 and never usable), 400s with field paths, and
the lifecycle actions."""

from __future__ import annotations

import pytest
import yaml
from openapi_spec_validator import validate
from rest_framework.test import APIClient

from experiments.models import Experiment, ExperimentPhase, GlobalHoldout, Layer
from experiments.services.experiments import experiment_create
from tenancy.roles import Role
from tests.content.factories import ContentVariantFactory, PlacementFactory, SegmentFactory
from tests.experiments.conftest import make_experiment, variant
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db

URL = "/api/v1/experiments/"


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


@pytest.fixture
def marketer(site):
    return client_for(user_with_role(site, Role.MARKETER, username="marketer"))


@pytest.fixture
def editor(site):
    return client_for(user_with_role(site, Role.EDITOR, username="editor"))


def body(site, slot, metric, **overrides):
    return {
        "site": site.pk,
        "key": "hero-copy",
        "name": "Hero copy",
        "placement": slot.pk,
        "arms": [
            {"key": "control", "is_control": True},
            {"key": "b", "content_variant": variant(slot, "b").pk, "weight": 2},
        ],
        "metrics": [{"metric": metric.pk, "role": "primary", "cuped_days": 7}],
        **overrides,
    }


def fields_of(response) -> dict[str, str]:
    return {f["path"]: f["message"] for f in response.json()["error"]["fields"]}


def test_marketer_sets_up_and_runs_an_experiment(site, placement, metric, marketer):
    r = marketer.post(URL, body(site, placement, metric), format="json")
    assert r.status_code == 201, r.content
    data = r.json()
    assert data["status"] == "draft" and data["seed"] == "hero-copy"
    assert [a["key"] for a in data["arms"]] == ["control", "b"]
    assert data["metrics"] == [{"metric": metric.pk, "role": "primary", "cuped_days": 7}]
    pk = data["id"]
    r = marketer.post(f"{URL}{pk}/start/")
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "running" and r.json()["phases"][0]["number"] == 1
    r = marketer.post(f"{URL}{pk}/weights/", {"weights": {"control": 1, "b": 1}}, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["phase"] == 2 and len(r.json()["phases"]) == 2
    r = marketer.patch(f"{URL}{pk}/", {"coverage": 0.5}, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["phase"] == 2 and r.json()["phases"][1]["coverage"] == 0.5
    assert marketer.post(f"{URL}{pk}/pause/").json()["status"] == "paused"
    assert marketer.post(f"{URL}{pk}/resume/").json()["status"] == "running"
    r = marketer.post(f"{URL}{pk}/stop/", {"winner": "control"}, format="json")
    assert r.status_code == 400 and "winner" in fields_of(r)
    r = marketer.post(f"{URL}{pk}/stop/", {}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "stopped"
    r = marketer.post(f"{URL}{pk}/start/")
    assert r.status_code == 400 and "status" in fields_of(r)


@pytest.mark.parametrize(
    ("overrides", "path"),
    [
        ({"arms": [{"key": "control", "is_control": True}]}, "arms"),
        ({"arms": [{"key": "a", "is_control": True}, {"key": "b", "weight": 0}]}, "arms[1].weight"),
        ({"coverage": 3}, "coverage"),
        ({"placement": None}, "placement"),
        ({"layer_start": 0.5}, "layer"),
        ({"mode": "nope"}, "mode"),
        ({"arms": [{"key": "a b"}]}, "arms[0].key"),
    ],
)
def test_bad_setups_are_400_with_paths(site, placement, metric, marketer, overrides, path):
    r = marketer.post(URL, body(site, placement, metric, **overrides), format="json")
    assert r.status_code == 400, r.content
    assert path in fields_of(r), r.json()
    assert not Experiment.objects.exists()


def test_variant_of_another_placement_is_a_400_at_its_path(site, placement, metric, marketer):
    other = ContentVariantFactory(placement=PlacementFactory(site=site, key="footer"), key="x")
    assert other.placement.site_id == site.pk
    arms = [{"key": "control", "is_control": True}, {"key": "b", "content_variant": other.pk}]
    r = marketer.post(URL, body(site, placement, metric, arms=arms), format="json")
    assert r.status_code == 400
    assert "arms[1].content_variant" in fields_of(r)


def test_roles(site, placement, metric, editor):
    experiment = make_experiment(site, placement, metric)
    assert editor.get(URL).json()["count"] == 1
    assert (
        editor.post(URL, body(site, placement, metric, key="x"), format="json").status_code == 403
    )
    assert editor.post(f"{URL}{experiment.pk}/start/").status_code == 403
    r = editor.patch(f"{URL}{experiment.pk}/", {"name": "Mine"}, format="json")
    assert r.status_code == 403
    assert editor.delete(f"{URL}{experiment.pk}/").status_code == 403
    assert Experiment.objects.get().status == "draft"
    assert APIClient().get(URL).status_code == 403


def test_other_sites_are_invisible_and_unusable(site, other_site, placement, metric, marketer):
    theirs_placement = PlacementFactory(site=other_site, key="home_hero")
    ContentVariantFactory(placement=theirs_placement, key="default")
    their_variant = ContentVariantFactory(
        placement=theirs_placement, key="b", segment=SegmentFactory(site=other_site, key="s")
    )
    foreign = experiment_create(
        site=other_site,
        key="theirs",
        name="Theirs",
        placement=theirs_placement,
        arms=[
            {"key": "control", "is_control": True},
            {"key": "b", "content_variant": their_variant},
        ],
    )
    assert marketer.get(URL).json()["count"] == 0
    for method, suffix in (("get", ""), ("patch", ""), ("delete", ""), ("post", "start/")):
        r = getattr(marketer, method)(f"{URL}{foreign.pk}/{suffix}", {}, format="json")
        assert r.status_code == 404, (method, suffix, r.status_code)
    # their site, placement and variants cannot be named in our setups
    r = marketer.post(URL, body(other_site, theirs_placement, metric), format="json")
    assert r.status_code == 400 and "site" in fields_of(r)
    r = marketer.post(URL, body(site, theirs_placement, metric), format="json")
    assert r.status_code == 400 and "placement" in fields_of(r)
    arms = [
        {"key": "control", "is_control": True},
        {"key": "b", "content_variant": their_variant.pk},
    ]
    r = marketer.post(URL, body(site, placement, metric, arms=arms), format="json")
    assert r.status_code == 400 and "arms[1].content_variant" in fields_of(r)
    assert Experiment.objects.get(pk=foreign.pk).status == "draft"


def test_layers(site, other_site, marketer, editor):
    r = marketer.post(
        "/api/v1/layers/", {"site": site.pk, "key": "hero", "name": "Hero"}, format="json"
    )
    assert r.status_code == 201, r.content
    assert r.json()["seed"] == "hero"
    pk = r.json()["id"]
    r = marketer.post(
        "/api/v1/layers/", {"site": site.pk, "key": "hero", "name": "Again"}, format="json"
    )
    assert r.status_code == 400
    assert editor.patch(f"/api/v1/layers/{pk}/", {"name": "X"}, format="json").status_code == 403
    r = marketer.patch(f"/api/v1/layers/{pk}/", {"name": "Renamed"}, format="json")
    assert r.status_code == 200 and r.json()["name"] == "Renamed"
    theirs = Layer.objects.create(site=other_site, key="theirs", name="Theirs")
    assert marketer.get(f"/api/v1/layers/{theirs.pk}/").status_code == 404
    assert marketer.delete(f"/api/v1/layers/{pk}/").status_code == 204


def test_layer_in_use_cannot_be_deleted(site, placement, marketer):
    layer = Layer.objects.create(site=site, key="hero", name="Hero")
    make_experiment(site, placement, layer=layer)
    r = marketer.delete(f"/api/v1/layers/{layer.pk}/")
    assert r.status_code == 400
    assert Layer.objects.filter(pk=layer.pk).exists()


def test_holdout(site, other_site, marketer, editor):
    r = marketer.get("/api/v1/holdout/")
    assert r.status_code == 200
    assert r.json()["results"] == [
        {"site": site.pk, "enabled": False, "share": 0.0, "seed": "holdout", "updated_at": None}
    ]
    url = f"/api/v1/holdout/{site.pk}/"
    r = marketer.put(url, {"enabled": True, "share": 0.1, "seed": "h1"}, format="json")
    assert r.status_code == 200, r.content
    assert GlobalHoldout.objects.get(site=site).share == 0.1
    r = marketer.patch(url, {"share": 0.9}, format="json")
    assert r.status_code == 400 and "share" in fields_of(r)
    assert editor.patch(url, {"share": 0.2}, format="json").status_code == 403
    assert editor.get(url).json()["share"] == 0.1
    assert marketer.get(f"/api/v1/holdout/{other_site.pk}/").status_code == 404
    assert marketer.patch(f"/api/v1/holdout/{other_site.pk}/", {}, format="json").status_code == 404


def test_deleting_what_an_experiment_uses_is_a_conflict(site, placement, metric):
    make_experiment(site, placement, metric)
    admin = client_for(user_with_role(site, Role.SITE_ADMIN, username="admin"))
    b = variant(placement, "b")
    for url in (
        f"/api/v1/placement-variants/{b.pk}/",
        f"/api/v1/placements/{placement.pk}/",
        f"/api/v1/metrics/{metric.pk}/",
    ):
        r = admin.delete(url)
        assert r.status_code in (400, 409), (url, r.status_code, r.content)
        assert r.json()["error"]["message"]
    assert variant(placement, "b").pk == b.pk


def test_schema_documents_the_endpoints(client):
    schema = yaml.safe_load(client.get("/api/schema/").content)
    validate(schema)
    for path in (
        "/api/v1/experiments/",
        "/api/v1/experiments/{id}/",
        "/api/v1/experiments/{id}/start/",
        "/api/v1/experiments/{id}/pause/",
        "/api/v1/experiments/{id}/resume/",
        "/api/v1/experiments/{id}/stop/",
        "/api/v1/experiments/{id}/weights/",
        "/api/v1/layers/",
        "/api/v1/layers/{id}/",
        "/api/v1/holdout/",
        "/api/v1/holdout/{site}/",
    ):
        assert path in schema["paths"], path
    assert ExperimentPhase.objects.count() == 0
