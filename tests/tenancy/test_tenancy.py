"""A user of site A can neither read nor change anything of site B, in the admin or the API."""

import pytest

from tenancy.models import ApiKey, Site, SiteRole
from tenancy.services import api_key_create, role_grant, role_revoke
from tests.factories import UserFactory, user_with_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(site):
    return user_with_role(site, "site_admin", username="alice")


@pytest.fixture
def beta_key(other_site):
    return api_key_create(site=other_site, kind="server", name="Beta server")[0]


def test_api_lists_only_own_sites(client, alice, site, other_site):
    client.force_login(alice)
    slugs = [s["slug"] for s in client.get("/api/v1/sites/").json()["results"]]
    assert slugs == ["alpha"]
    assert client.get(f"/api/v1/sites/{other_site.pk}/").status_code == 404


def test_api_cannot_change_other_site(client, alice, other_site):
    client.force_login(alice)
    response = client.patch(
        f"/api/v1/sites/{other_site.pk}/", {"name": "pwned"}, content_type="application/json"
    )
    assert response.status_code == 404
    assert Site.objects.get(pk=other_site.pk).name == "Beta"


def test_api_keys_of_other_site_are_invisible(client, alice, beta_key, other_site):
    client.force_login(alice)
    assert client.get("/api/v1/api-keys/").json()["results"] == []
    assert client.get(f"/api/v1/api-keys/{beta_key.pk}/").status_code == 404
    assert client.post(f"/api/v1/api-keys/{beta_key.pk}/revoke/").status_code == 404
    created = client.post(
        "/api/v1/api-keys/", {"site": other_site.pk, "kind": "server", "name": "x"}
    )
    assert created.status_code == 400
    assert created.json()["error"]["fields"][0]["path"] == "site"
    assert ApiKey.objects.filter(site=other_site).count() == 1


def test_api_roles_cannot_be_granted_on_other_site(client, alice, other_site):
    client.force_login(alice)
    response = client.post(
        "/api/v1/roles/", {"site": other_site.pk, "user": "alice", "role": "site_admin"}
    )
    assert response.status_code == 400
    assert not SiteRole.objects.filter(site=other_site).exists()


def test_viewer_cannot_change_site_settings(client, site):
    viewer = user_with_role(site, "viewer")
    client.force_login(viewer)
    assert client.get(f"/api/v1/sites/{site.pk}/").status_code == 200
    response = client.patch(
        f"/api/v1/sites/{site.pk}/", {"name": "x"}, content_type="application/json"
    )
    assert response.status_code == 403
    assert client.get("/api/v1/api-keys/").json()["results"] == []


def test_site_admin_grants_and_revokes_roles_through_api(client, alice, site):
    bob = UserFactory(username="bob")
    client.force_login(alice)
    created = client.post("/api/v1/roles/", {"site": site.pk, "user": "bob", "role": "editor"})
    assert created.status_code == 201, created.content
    assert bob.has_perm("tenancy.edit_content", site)
    assert client.delete(f"/api/v1/roles/{created.json()['id']}/").status_code == 204
    bob = type(bob).objects.get(pk=bob.pk)  # fresh permission cache
    assert not bob.has_perm("tenancy.edit_content", site)


def test_anonymous_management_api_is_refused(client, site):
    assert client.get("/api/v1/sites/").status_code in (401, 403)


def test_admin_changelists_show_only_own_site(client, alice, site, other_site, beta_key):
    api_key_create(site=site, kind="delivery", name="Alpha web")
    client.force_login(alice)
    sites_page = client.get("/admin/tenancy/site/").content.decode()
    assert "Alpha" in sites_page and "Beta" not in sites_page
    keys_page = client.get("/admin/tenancy/apikey/").content.decode()
    assert "Alpha web" in keys_page and "Beta server" not in keys_page


def test_admin_other_site_objects_are_unreachable(client, alice, other_site, beta_key):
    client.force_login(alice)
    for url in (
        f"/admin/tenancy/site/{other_site.pk}/change/",
        f"/admin/tenancy/apikey/{beta_key.pk}/change/",
    ):
        response = client.get(url)
        # Django's admin answers a missing object with a redirect to the index + message.
        assert response.status_code in (302, 404), url
    response = client.post(
        f"/admin/tenancy/site/{other_site.pk}/change/",
        {
            "name": "pwned",
            "slug": "beta",
            "timezone": "UTC",
            "default_language": "en",
            "allowed_origins": "[]",
        },
    )
    assert Site.objects.get(pk=other_site.pk).name == "Beta"


def test_admin_add_form_offers_only_own_sites(client, alice, site, other_site):
    client.force_login(alice)
    page = client.get("/admin/tenancy/apikey/add/").content.decode()
    assert f'value="{site.pk}"' in page and f'value="{other_site.pk}"' not in page
    client.post(
        "/admin/tenancy/apikey/add/",
        {"site": other_site.pk, "kind": "server", "name": "sneaky"},
    )
    assert not ApiKey.objects.filter(site=other_site, name="sneaky").exists()


def test_admin_creates_key_and_shows_it_once(client, alice, site):
    client.force_login(alice)
    response = client.post(
        "/admin/tenancy/apikey/add/",
        {"site": site.pk, "kind": "delivery", "name": "New"},
        follow=True,
    )
    key = ApiKey.objects.get(name="New")
    messages = [str(m) for m in response.context["messages"]]
    assert any(key.prefix in m and "not be shown again" in m for m in messages)


def test_staff_without_roles_sees_no_personalize_admin(client, site):
    nobody = UserFactory(username="nobody")
    client.force_login(nobody)
    assert client.get("/admin/tenancy/site/").status_code == 403


def test_role_revoke_keeps_other_roles_permissions(site):
    user = UserFactory()
    editor = role_grant(site=site, user=user, role="editor")
    role_grant(site=site, user=user, role="viewer")
    role_revoke(site_role=editor)
    user = type(user).objects.get(pk=user.pk)
    assert user.has_perm("tenancy.view_site_data", site)
    assert not user.has_perm("tenancy.edit_content", site)


def test_admin_grants_role(client, site):
    admin = UserFactory(username="root", is_superuser=True)
    bob = UserFactory(username="bob")
    client.force_login(admin)
    response = client.post(
        "/admin/tenancy/siterole/add/", {"site": site.pk, "user": bob.pk, "role": "publisher"}
    )
    assert response.status_code == 302, response.content[:2000]
    bob = type(bob).objects.get(pk=bob.pk)
    assert bob.has_perm("tenancy.publish_content", site)
