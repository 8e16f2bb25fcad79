"""A user of site A sees and changes nothing of site B, through the API or the admin."""

import pytest

from segments.models import Field, Segment
from segments.services.fields import field_catalog_seed
from segments.services.segments import segment_create
from tests.segments.factories import EventFactory, FieldFactory, ProfileFactory, SegmentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def beta(other_site):
    field_catalog_seed(site=other_site)
    return {
        "field": FieldFactory(site=other_site, path="profile.secret"),
        "segment": segment_create(site=other_site, key="beta-vip", name="Beta VIP"),
        "profile": ProfileFactory(site=other_site, user_id="beta-user", traits={"city": "Detroit"}),
    }


def test_api_lists_only_own_site(site, beta, marketer_client):
    SegmentFactory(site=site, key="alpha-seg")
    keys = [s["key"] for s in marketer_client.get("/api/v1/segments/").json()["results"]]
    assert keys == ["alpha-seg"]
    paths = [
        f["path"] for f in marketer_client.get("/api/v1/fields/", {"limit": 500}).json()["results"]
    ]
    assert "profile.secret" not in paths


def test_api_detail_of_other_site_is_404(beta, marketer_client):
    segment, field = beta["segment"], beta["field"]
    for url in (
        f"/api/v1/segments/{segment.pk}/",
        f"/api/v1/segments/{segment.pk}/count/",
        f"/api/v1/segments/{segment.pk}/members/",
        f"/api/v1/segments/{segment.pk}/export/",
        f"/api/v1/segments/{segment.pk}/history/",
        f"/api/v1/fields/{field.pk}/",
    ):
        assert marketer_client.get(url).status_code == 404, url
    assert (
        marketer_client.patch(
            f"/api/v1/segments/{segment.pk}/", {"name": "x"}, format="json"
        ).status_code
        == 404
    )
    assert marketer_client.delete(f"/api/v1/segments/{segment.pk}/").status_code == 404
    assert (
        marketer_client.post(
            f"/api/v1/segments/{segment.pk}/snapshot/", {}, format="json"
        ).status_code
        == 404
    )
    assert marketer_client.post(f"/api/v1/segments/{segment.pk}/archive/").status_code == 404
    assert (
        marketer_client.patch(
            f"/api/v1/fields/{field.pk}/", {"label": "x"}, format="json"
        ).status_code
        == 404
    )
    segment.refresh_from_db()
    assert segment.name == "Beta VIP"


def test_api_cannot_create_in_other_site(other_site, beta, marketer_client):
    body = {"site": other_site.pk, "key": "intruder", "name": "x", "criteria": {"all": []}}
    response = marketer_client.post("/api/v1/segments/", body, format="json")
    assert response.status_code == 400 and response.json()["error"]["fields"][0]["path"] == "site"
    body = {"site": other_site.pk, "path": "profile.intruder", "type": "string"}
    assert marketer_client.post("/api/v1/fields/", body, format="json").status_code == 400
    assert not Segment.objects.filter(key="intruder").exists()
    assert not Field.objects.filter(path="profile.intruder").exists()


def test_cannot_reference_other_sites_segment(site, beta, marketer_client):
    body = {
        "site": site.pk,
        "key": "sneaky",
        "name": "x",
        "criteria": {"all": [{"segment": "beta-vip"}]},
    }
    response = marketer_client.post("/api/v1/segments/", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"][0]["path"].startswith("criteria")


def test_cannot_use_other_sites_custom_field(site, beta, marketer_client):
    criteria = {"all": [{"field": "profile.secret", "op": "eq", "value": "x"}]}
    body = {"site": site.pk, "key": "sneaky", "name": "x", "criteria": criteria}
    assert marketer_client.post("/api/v1/segments/", body, format="json").status_code == 400


def test_counts_and_preview_never_include_other_site(site, beta, marketer_client):
    criteria = {"all": [{"field": "profile.city", "op": "eq", "value": "Detroit"}]}
    body = {"site": site.pk, "criteria": criteria, "sample": 10}
    assert (
        marketer_client.post("/api/v1/segments/audience", body, format="json").json()["count"] == 0
    )
    body = {"site": site.pk, "criteria": criteria, "user_id": "beta-user"}
    assert marketer_client.post("/api/v1/segments/preview", body, format="json").status_code == 400


def test_admin_hides_other_sites(site, beta, marketer, client):
    client.force_login(marketer)
    SegmentFactory(site=site, key="alpha-seg", name="Alpha seg")
    listing = client.get("/admin/segments/segment/")
    assert listing.status_code == 200
    assert b"Alpha seg" in listing.content and b"Beta VIP" not in listing.content
    for url in (
        f"/admin/segments/segment/{beta['segment'].pk}/change/",
        f"/admin/segments/field/{beta['field'].pk}/change/",
        f"/admin/segments/profile/{beta['profile'].pk}/change/",
    ):
        response = client.get(url)
        assert response.status_code in (302, 403, 404), url
        assert b"beta-user" not in response.content
    response = client.post(
        f"/admin/segments/segment/{beta['segment'].pk}/change/",
        {"name": "pwned", "status": "draft"},
    )
    assert response.status_code in (302, 403, 404)
    beta["segment"].refresh_from_db()
    assert beta["segment"].name == "Beta VIP"
    profiles = client.get("/admin/segments/profile/")
    assert b"beta-user" not in profiles.content
    EventFactory(profile=beta["profile"], name="secret_event")
    assert b"secret_event" not in client.get("/admin/segments/event/").content


def test_admin_site_filter_lists_only_own_sites(site, beta, marketer, client):
    client.force_login(marketer)
    for model in ("segment", "field", "profile", "event"):
        page = client.get(f"/admin/segments/{model}/")
        assert page.status_code == 200
        assert b"Alpha" in page.content and b"Beta" not in page.content, model
    page = client.get("/admin/segments/segment/", {"site": beta["segment"].site_id})
    assert b"Beta VIP" not in page.content
