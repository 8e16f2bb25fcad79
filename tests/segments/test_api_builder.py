"""The two endpoints the visual builder calls live: preview and audience."""

import pytest
from django.test import Client

from tests.segments.factories import ProfileFactory

pytestmark = pytest.mark.django_db

WOMEN = {"all": [{"field": "profile.gender", "op": "eq", "value": "female"}]}


@pytest.mark.parametrize("url", ["/api/v1/segments/preview", "/api/v1/segments/preview/"])
def test_preview_document(site, viewer_client, url):
    body = {"site": site.pk, "criteria": WOMEN, "document": {"profile": {"gender": "female"}}}
    response = viewer_client.post(url, body, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["matches"] is True
    assert response.json()["explanation"]
    body["document"] = {"profile": {"gender": "male"}}
    assert viewer_client.post(url, body, format="json").json()["matches"] is False


def test_preview_stored_profile(site, viewer_client):
    ProfileFactory(site=site, user_id="u-42", traits={"gender": "female"})
    body = {"site": site.pk, "criteria": WOMEN, "user_id": "u-42"}
    assert (
        viewer_client.post("/api/v1/segments/preview", body, format="json").json()["matches"]
        is True
    )
    body["user_id"] = "ghost"
    response = viewer_client.post("/api/v1/segments/preview", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"][0]["path"] == "user_id"


def test_preview_needs_document_or_user(site, viewer_client):
    response = viewer_client.post(
        "/api/v1/segments/preview", {"site": site.pk, "criteria": WOMEN}, format="json"
    )
    assert response.status_code == 400


def test_preview_invalid_criteria_paths(site, viewer_client):
    criteria = {"any": [WOMEN, {"field": "profile.age", "op": "between", "value": "x"}]}
    body = {"site": site.pk, "criteria": criteria, "document": {}}
    response = viewer_client.post("/api/v1/segments/preview", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"][0]["path"].startswith("criteria.any[1]")


@pytest.mark.parametrize("url", ["/api/v1/segments/audience", "/api/v1/segments/audience/"])
def test_audience(site, other_site, viewer_client, url):
    for i in range(4):
        ProfileFactory(site=site, user_id=f"w-{i}", traits={"gender": "female"})
    ProfileFactory(site=site, user_id="m-1", traits={"gender": "male"})
    ProfileFactory(site=other_site, user_id="w-x", traits={"gender": "female"})
    response = viewer_client.post(
        url, {"site": site.pk, "criteria": WOMEN, "sample": 2}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == 4 and len(body["sample"]) == 2
    assert body["sample"][0]["traits"] == {"gender": "female"}
    none = viewer_client.post(
        url, {"site": site.pk, "criteria": WOMEN, "sample": 0}, format="json"
    ).json()
    assert none == {"count": 4, "sample": []}


def test_audience_limits(site, viewer_client):
    response = viewer_client.post(
        "/api/v1/segments/audience",
        {"site": site.pk, "criteria": WOMEN, "sample": 51},
        format="json",
    )
    assert response.status_code == 400 and response.json()["error"]["fields"][0]["path"] == "sample"
    big = {"any": [{"field": "profile.age", "op": "in", "value": list(range(20000))}]}
    response = viewer_client.post(
        "/api/v1/segments/audience", {"site": site.pk, "criteria": big}, format="json"
    )
    assert response.status_code == 400
    pad = "x" * 300_000
    huge = f'{{"site": {site.pk}, "criteria": {{"all": []}}, "pad": "{pad}"}}'
    response = viewer_client.post(
        "/api/v1/segments/audience", huge, content_type="application/json"
    )
    assert response.status_code == 413
    deep = '{"all": [' * 3000 + "]}" * 3000
    response = viewer_client.post(
        "/api/v1/segments/audience",
        f'{{"site": {site.pk}, "criteria": {deep}}}',
        content_type="application/json",
    )
    assert response.status_code == 400


def test_builder_endpoints_need_csrf_with_session(site, viewer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(viewer)
    response = client.post(
        "/api/v1/segments/audience",
        {"site": site.pk, "criteria": WOMEN},
        content_type="application/json",
    )
    assert response.status_code == 403
    client.get("/admin/")  # sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    response = client.post(
        "/api/v1/segments/audience",
        {"site": site.pk, "criteria": WOMEN},
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 200


def test_builder_endpoints_are_site_scoped(site, other_site, other_client):
    for url in ("/api/v1/segments/audience", "/api/v1/segments/preview"):
        response = other_client.post(
            url, {"site": site.pk, "criteria": WOMEN, "document": {}}, format="json"
        )
        assert response.status_code == 400
        assert response.json()["error"]["fields"][0]["path"] == "site"


def test_anonymous_cannot_preview(site, api_client):
    response = api_client.post(
        "/api/v1/segments/preview", {"site": site.pk, "criteria": WOMEN}, format="json"
    )
    assert response.status_code in (401, 403)


def test_segment_being_edited(site, marketer_client):
    """With `segment_key`, rollouts default their salt to it and self-references are cycles."""
    from segments.services.segments import segment_create

    for i in range(20):
        ProfileFactory(site=site, user_id=f"p-{i}")
    rollout = {"all": [{"rollout": 50}]}
    url = "/api/v1/segments/audience"
    response = marketer_client.post(url, {"site": site.pk, "criteria": rollout}, format="json")
    assert response.status_code == 400  # no salt and no segment to take it from
    body = {"site": site.pk, "criteria": rollout, "segment_key": "half"}
    response = marketer_client.post(url, body, format="json")
    assert response.status_code == 200 and 0 < response.json()["count"] < 20
    segment_create(site=site, key="half", name="Half", criteria=rollout)
    from segments.models import Segment

    assert (
        response.json()["count"]
        == marketer_client.get(
            f"/api/v1/segments/{Segment.objects.get(key='half').pk}/count/"
        ).json()["count"]
    )
    segment_create(site=site, key="outer", name="Outer", criteria={"all": [{"segment": "half"}]})
    body = {"site": site.pk, "criteria": {"all": [{"segment": "outer"}]}, "segment_key": "half"}
    response = marketer_client.post(url, body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"][0]["path"].startswith("criteria")
