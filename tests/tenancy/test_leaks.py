"""No other tenant's names in admin filters; no existence oracles in API filters or roles."""

from __future__ import annotations

import pytest
from django.contrib import admin

from content.models import Placement
from segments.models import Segment
from tenancy.admin_scoping import SiteListFilter, SiteScopedAdminMixin
from tenancy.models import SiteRole
from tests.factories import SiteFactory, UserFactory, user_with_role

pytestmark = pytest.mark.django_db

SECRET_NAME = "Zeta Confidential Tenant"


@pytest.fixture
def zeta(db):
    return SiteFactory(slug="zeta", name=SECRET_NAME)


@pytest.fixture
def alice(site):
    return user_with_role(site, "site_admin", username="alice")


def _admins_with_site_filter():
    out = []
    for model, model_admin in admin.site._registry.items():
        if isinstance(model_admin, SiteScopedAdminMixin) and "site" in [
            f for f in model_admin.list_filter if isinstance(f, str)
        ] + ["site" for f in model_admin.list_filter if f is SiteListFilter]:
            out.append(model)
    return out


ADMINS = _admins_with_site_filter()


def test_every_site_owned_admin_list_is_covered():
    names = {m._meta.label for m in ADMINS}
    # the six found by the review, plus the segment admins that already had one
    assert {
        "tenancy.ApiKey",
        "tenancy.SiteRole",
        "content.Placement",
        "content.Screen",
        "content.PublishSchedule",
        "content.AuditEntry",
        "segments.Segment",
        "segments.Event",
    } <= names


@pytest.mark.parametrize("model", ADMINS, ids=lambda m: m._meta.label)
def test_by_site_filter_offers_only_own_sites(client, alice, site, zeta, model):
    client.force_login(alice)
    url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
    page = client.get(url)
    assert page.status_code == 200, url
    html = page.content.decode()
    assert "By site" in html and site.name in html
    assert SECRET_NAME not in html


def test_superuser_sees_every_site_in_the_filter(client, site, zeta):
    root = UserFactory(username="root", is_superuser=True)
    client.force_login(root)
    html = client.get("/admin/content/placement/").content.decode()
    assert SECRET_NAME in html and site.name in html


# --- API filters: a foreign id is an unknown id -------------------------------------------------


def _same_answer(client, url_for):
    foreign, unknown = client.get(url_for("foreign")), client.get(url_for("unknown"))
    assert (foreign.status_code, foreign.json()) == (unknown.status_code, unknown.json())
    return foreign


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/segments/",
        "/api/v1/fields/",
        "/api/v1/placements/",
        "/api/v1/screens/",
        "/api/v1/content-schedules/",
        "/api/v1/design-schemas/",
        "/api/v1/content-audit/",
        "/api/v1/api-keys/",
        "/api/v1/roles/",
    ],
)
def test_site_filter_is_no_existence_oracle(client, alice, zeta, path):
    client.force_login(alice)
    ids = {"foreign": zeta.pk, "unknown": 987654}
    answer = _same_answer(client, lambda which: f"{path}?site={ids[which]}")
    assert answer.status_code == 400


def test_foreign_object_filters_are_no_oracle(client, alice, site, zeta):
    from content.services.drafts import placement_create
    from segments.services.segments import segment_create

    theirs = placement_create(site=zeta, key="hero", name="Hero")
    their_segment = segment_create(site=zeta, key="s", name="S", criteria={"all": []})
    client.force_login(alice)
    for path, param, foreign in [
        ("/api/v1/placement-variants/", "placement", theirs.pk),
        ("/api/v1/placement-variants/", "segment", their_segment.pk),
        ("/api/v1/content-schedules/", "placement", theirs.pk),
        ("/api/v1/content-audit/", "placement", theirs.pk),
    ]:
        ids = {"foreign": foreign, "unknown": 987654}
        _same_answer(client, lambda which, p=path, q=param, i=ids: f"{p}?{q}={i[which]}")
    assert Placement.objects.filter(site=zeta).exists() and Segment.objects.filter(site=zeta)


def test_own_ids_still_filter(client, alice, site):
    from content.services.drafts import placement_create

    placement_create(site=site, key="hero", name="Hero")
    client.force_login(alice)
    r = client.get(f"/api/v1/placements/?site={site.pk}")
    assert r.status_code == 200 and [p["key"] for p in r.json()["results"]] == ["hero"]


# --- roles: no username oracle -----------------------------------------------------------------


def test_roles_tell_nobody_which_usernames_exist(client, alice, site, zeta):
    user_with_role(zeta, "viewer", username="zeta-ceo")  # another tenant's person
    client.force_login(alice)

    def grant(username):
        return client.post("/api/v1/roles/", {"site": site.pk, "user": username, "role": "viewer"})

    existing, missing = grant("zeta-ceo"), grant("nobody-by-this-name")
    assert existing.status_code == missing.status_code == 400
    strip = lambda body: str(body).replace("zeta-ceo", "X").replace("nobody-by-this-name", "X")  # noqa: E731
    assert strip(existing.json()) == strip(missing.json())
    assert not SiteRole.objects.filter(site=site, user__username="zeta-ceo").exists()


def test_roles_may_go_to_colleagues_and_unassigned_accounts(client, alice, site, other_site):
    colleague = user_with_role(site, "viewer", username="colleague")
    UserFactory(username="newcomer")
    client.force_login(alice)
    for username in ("colleague", "newcomer"):
        r = client.post("/api/v1/roles/", {"site": site.pk, "user": username, "role": "editor"})
        assert r.status_code == 201, r.content
    assert colleague.site_roles.count() == 2
