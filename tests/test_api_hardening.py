"""The management API under hostile input: a clear 4xx in the error envelope, never a 500,
and every unexpected error (500 included) in the same JSON envelope."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from content.services.drafts import content_variant_create
from segments.models import Segment
from segments.services.segments import segment_create
from tenancy.roles import Role
from tests.content.factories import placement_with_variants
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_api(site):
    client = APIClient()
    client.force_login(user_with_role(site, Role.SITE_ADMIN, username="siteadmin"))
    return client


def send(client, method: str, url: str, raw: bytes | str):
    return client.generic(method, url, raw, content_type="application/json")


def assert_400(response, path: str | None = None) -> dict:
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    if path is not None:
        assert path in [f["path"] for f in error.get("fields", [])], error
    return error


def test_put_of_a_field_repeats_site_and_path(site, admin_api):
    created = admin_api.post(
        "/api/v1/fields/",
        {"site": site.pk, "path": "profile.plan", "type": "string"},
        format="json",
    ).json()
    r = admin_api.put(
        f"/api/v1/fields/{created['id']}/",
        {**created, "label": "Plan name", "site": site.pk},
        format="json",
    )
    assert r.status_code == 200, r.content
    assert r.json()["label"] == "Plan name"
    assert r.json()["site"] == site.pk and r.json()["path"] == "profile.plan"


def test_deleting_a_segment_in_use_is_a_409_that_says_where(site, admin_api):
    segment = segment_create(
        site=site,
        key="vip",
        name="VIP",
        criteria={"all": [{"field": "profile.age", "op": "gte", "value": 30}]},
    )
    placement = placement_with_variants(site, key="hero")
    content_variant_create(
        placement=placement,
        key="vip-hero",
        name="VIP hero",
        segment=segment,
        body={"html": "<p>VIP</p>"},
    )
    r = admin_api.delete(f"/api/v1/segments/{segment.pk}/")
    assert r.status_code == 409, r.content
    error = r.json()["error"]
    assert error["code"] == "conflict"
    assert "VIP hero" in error["message"] and "vip" in error["message"]
    assert Segment.objects.filter(pk=segment.pk).exists()


@pytest.mark.parametrize(
    ("value", "path"),
    [
        ("10" + "0" * 400, None),
        ("NaN", None),
        ("Infinity", None),
        ("1e400", None),
        ('"\\u0000"', "criteria.all[0].value"),
        ('"\\ud800"', "criteria.all[0].value"),
        (str(2**60), "criteria.all[0].value"),
    ],
)
def test_criteria_numbers_and_text_must_be_storable(site, admin_api, value, path):
    raw = (
        f'{{"site": {site.pk}, "key": "s", "name": "S", '
        f'"criteria": {{"all": [{{"field": "profile.age", "op": "eq", "value": {value}}}]}}}}'
    )
    if "\\u" in value:
        raw = raw.replace('"profile.age"', '"profile.city"')
    error = assert_400(send(admin_api, "POST", "/api/v1/segments/", raw), path)
    assert error["code"] in ("invalid", "parse_error")
    assert not Segment.objects.filter(site=site, key="s").exists()


def test_within_days_is_bounded(site, admin_api):
    r = admin_api.post(
        "/api/v1/segments/",
        {
            "site": site.pk,
            "key": "s",
            "name": "S",
            "criteria": {"all": [{"event": "purchase", "within_days": 10**12}]},
        },
        format="json",
    )
    assert_400(r, "criteria.all[0].within_days")


@pytest.mark.parametrize(
    ("url", "raw"),
    [
        ("/api/v1/segments/", '{"key": "a\\u0000", "name": "n"}'),
        ("/api/v1/segments/", '{"key": "a", "name": "\\ud800"}'),
        ("/api/v1/roles/", '{"user": "x\\u0000", "role": "viewer"}'),
        ("/api/v1/design-schemas/", '{"name": "d", "schema": {"type": "\\u0000"}}'),
        ("/api/v1/placements/", '{"key": "p", "name": "\\udfff"}'),
    ],
)
def test_unstorable_text_anywhere_in_a_body_is_a_400_with_its_path(site, admin_api, url, raw):
    body = json.loads(raw)
    body["site"] = site.pk
    encoded = json.dumps(body)  # keeps the \u escapes
    error = assert_400(send(admin_api, "POST", url, encoded))
    assert error["fields"][0]["path"]


def test_role_username_with_nul_in_a_form_is_a_400(site, admin_api):
    r = admin_api.post("/api/v1/roles/", {"site": site.pk, "user": "x\x00y", "role": "viewer"})
    assert r.status_code == 400, r.content


@pytest.mark.parametrize("url", ["/api/v1/segments/", "/api/v1/fields/", "/api/v1/placements/"])
def test_huge_limits_are_capped(site, admin_api, url):
    segment_create(site=site, key="a", name="A", criteria={"all": []})
    placement_with_variants(site, key="hero")
    for limit in (2**63, 2**64 + 5, 10**30):
        r = admin_api.get(url, {"limit": limit})
        assert r.status_code == 200, r.content
    assert "limit=500" in (admin_api.get(url, {"limit": 10**30}).json()["next"] or "limit=500")


@pytest.mark.parametrize(
    "since",
    [
        "2026-01-01T00:00:00+01:00",
        "2026-01-01T00:00:00 01:00",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00",
    ],
)
def test_since_filter_with_a_time_zone(site, admin_api, since):
    r = admin_api.get("/api/v1/content-audit/", {"since": since})
    assert r.status_code in (200, 400), r.content
    assert r.headers["Content-Type"].startswith("application/json")


def test_an_unexpected_exception_is_a_500_in_the_envelope(site, admin_api, monkeypatch):
    from segments.api import views

    def boom(**kwargs):
        raise RuntimeError("kaput")

    monkeypatch.setattr(views, "segment_count", boom)
    segment = segment_create(site=site, key="a", name="A", criteria={"all": []})
    r = admin_api.get(f"/api/v1/segments/{segment.pk}/count/")
    assert r.status_code == 500
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.json() == {
        "error": {"code": "server_error", "message": "An unexpected error occurred."}
    }


def test_unknown_api_routes_are_a_json_404(admin_api):
    for url in ("/api/v1/fields/not-a-number/", "/api/v1/nothing-here/"):
        r = admin_api.get(url)
        assert r.status_code == 404
        assert r.json()["error"]["code"] == "not_found"
    assert admin_api.get("/not-the-api/").headers["Content-Type"].startswith("text/html")
