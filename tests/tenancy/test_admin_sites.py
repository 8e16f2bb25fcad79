"""The site admin: a site added there is created by the site service (field catalog and design
schema seeded; bug 2), and allowed origins are edited one per line, not as raw JSON."""

import pytest
from django.test import Client

from content.models import DesignSchema
from segments.models import Field
from tenancy.models import Site
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client():
    client = Client()
    client.force_login(UserFactory(username="root", is_superuser=True))
    return client


def _site_data(**overrides):
    data = {
        "name": "Gamma",
        "slug": "gamma",
        "timezone": "Europe/Paris",
        "default_language": "fr",
        "allowed_origins": "https://www.gamma.test\nhttps://app.gamma.test\n",
    }
    data.update(overrides)
    return data


def test_site_added_in_the_admin_gets_a_field_catalog_and_a_design_schema(superuser_client):
    res = superuser_client.post("/admin/tenancy/site/add/", _site_data())
    assert res.status_code == 302, res.context["adminform"].form.errors
    site = Site.objects.get(slug="gamma")
    assert Field.objects.filter(site=site, builtin=True).count() > 5
    assert DesignSchema.objects.filter(site=site).exists()
    assert site.allowed_origins == ["https://www.gamma.test", "https://app.gamma.test"]
    assert site.timezone == "Europe/Paris"


def test_allowed_origins_are_edited_one_per_line_with_errors_per_origin(superuser_client):
    page = superuser_client.get("/admin/tenancy/site/add/").content.decode()
    assert '<textarea name="allowed_origins"' in page
    res = superuser_client.post(
        "/admin/tenancy/site/add/",
        _site_data(allowed_origins="https://ok.test\nhttps://bad.test/path"),
    )
    assert res.status_code == 200
    errors = res.context["adminform"].form.errors["allowed_origins"]
    assert any("https://bad.test/path" in e for e in errors)
    assert not Site.objects.filter(slug="gamma").exists()


def test_changing_a_site_shows_its_origins_one_per_line(superuser_client):
    site = Site.objects.create(name="Delta", slug="delta", allowed_origins=["https://a.test"])
    page = superuser_client.get(f"/admin/tenancy/site/{site.pk}/change/").content.decode()
    assert ">\nhttps://a.test</textarea>" in page
    res = superuser_client.post(
        f"/admin/tenancy/site/{site.pk}/change/",
        _site_data(name="Delta", slug="delta", allowed_origins="https://b.test"),
    )
    assert res.status_code == 302
    site.refresh_from_db()
    assert site.allowed_origins == ["https://b.test"]


def test_admin_index_promises_only_what_exists(superuser_client):
    """Bug 8: the admin's titles announced experiments before they existed. Every app the
    index names now has its models there, experiments included."""
    page = superuser_client.get("/admin/").content.decode()
    assert "Personalize" in page
    for app in ("segments", "content", "analytics", "experiments"):
        assert f'href="/admin/{app}/"' in page, app
