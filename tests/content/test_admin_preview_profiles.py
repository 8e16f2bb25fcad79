"""Bug 4: the preview's "Stored profile" is an autocomplete scoped to the chosen site (no
select of every profile of every site), and profiles are searchable by their traits."""

import pytest
from django.urls import reverse

from tests.content.test_admin import login
from tests.segments.factories import ProfileFactory

pytestmark = pytest.mark.django_db


def _search(client, **params):
    res = client.get(reverse("admin:content_preview_profiles"), params)
    assert res.status_code == 200
    return res.json()


def test_preview_page_renders_no_list_of_profiles(site, other_site):
    for i in range(30):
        ProfileFactory(site=site, user_id=f"ours-{i}")
        ProfileFactory(site=other_site, user_id=f"theirs-{i}")
    client = login(site, "viewer")
    page = client.get(reverse("admin:content_preview_visitor")).content.decode()
    assert "ours-1" not in page and "theirs-1" not in page
    assert 'data-url="' + reverse("admin:content_preview_profiles") in page


def test_profile_autocomplete_is_limited_to_the_chosen_site_and_the_users_sites(site, other_site):
    ProfileFactory(site=site, user_id="ana", traits={"city": "Detroit"})
    ProfileFactory(site=site, user_id="bob", traits={"city": "Boston"})
    ProfileFactory(site=other_site, user_id="ann", traits={"city": "Detroit"})
    client = login(site, "viewer")
    found = _search(client, site=site.pk, term="an")
    assert [r["text"] for r in found["results"]] == ["ana"]
    assert found["pagination"] == {"more": False}
    assert _search(client, site=other_site.pk, term="an")["results"] == []  # not their site
    assert _search(client, site="", term="an")["results"] == []
    by_trait = _search(client, site=site.pk, term="detroit")
    assert [r["text"] for r in by_trait["results"]] == ["ana"]
    by_key = _search(client, site=site.pk, term="city:boston")
    assert [r["text"] for r in by_key["results"]] == ["bob"]


def test_profile_autocomplete_pages_results(site):
    for i in range(45):
        ProfileFactory(site=site, user_id=f"p-{i:02d}")
    client = login(site, "viewer")
    first = _search(client, site=site.pk, term="p-")
    assert len(first["results"]) == 20 and first["pagination"]["more"] is True
    third = _search(client, site=site.pk, term="p-", page=3)
    assert [r["text"] for r in third["results"]] == [f"p-{i}" for i in range(40, 45)]


def test_posting_a_profile_of_another_site_is_refused(site, other_site):
    theirs = ProfileFactory(site=other_site, user_id="theirs")
    client = login(site, "viewer")
    res = client.post(
        reverse("admin:content_preview_visitor"),
        {"site": site.pk, "source": "published", "profile": theirs.pk},
    )
    assert res.status_code == 200
    assert res.context["form"].errors["profile"]
    assert res.context["result"] is None


def test_profile_admin_searches_traits(site, other_site):
    ProfileFactory(site=site, user_id="ana", traits={"city": "Detroit", "tier": "gold"})
    ProfileFactory(site=site, user_id="bob", traits={"city": "Boston"})
    ProfileFactory(site=other_site, user_id="cid", traits={"city": "Detroit"})
    client = login(site, "marketer")
    url = reverse("admin:segments_profile_changelist")
    for term, expected in [("detroit", ["ana"]), ("tier:gold", ["ana"]), ("bo", ["bob"])]:
        page = client.get(url, {"q": term})
        assert page.status_code == 200
        assert [p.user_id for p in page.context["cl"].result_list] == expected, term
