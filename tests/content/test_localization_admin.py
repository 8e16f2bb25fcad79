"""Content localization in the admin (translation inline, missing translations, preview by
language) and in the management API (translations nested in variants)."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from content.models import ContentVariant
from content.services.drafts import content_variant_create, placement_create
from content.services.publishing import slot_publish
from tests.content.factories import SegmentFactory, localized_hero
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def hero(site):
    return localized_hero(site)


def login(site, role):
    client = Client()
    client.force_login(user_with_role(site, role))
    return client


def inline_data(variant, rows):
    """The variant page's POST: existing translations first, then new rows."""
    existing = list(variant.translations.all())
    data = {
        "translations-TOTAL_FORMS": str(len(rows)),
        "translations-INITIAL_FORMS": str(len(existing)),
        "translations-MIN_NUM_FORMS": "0",
        "translations-MAX_NUM_FORMS": "1000",
    }
    for i, (language, body) in enumerate(rows):
        if i < len(existing):
            data[f"translations-{i}-id"] = str(existing[i].pk)
        data[f"translations-{i}-variant"] = str(variant.pk)
        data[f"translations-{i}-language"] = language
        data[f"translations-{i}-body"] = body
    return data


def test_changelist_and_change_page_show_missing_translations(site, hero):
    client = login(site, "viewer")
    listing = client.get(reverse("admin:content_placement_changelist"))
    assert listing.status_code == 200
    assert "missing: fr (1), es (1)" in listing.content.decode()

    page = client.get(reverse("admin:content_placement_change", args=[hero.pk]))
    html = page.content.decode()
    assert page.status_code == 200 and "translations-matrix" in html
    vip = hero.variants.get(key="vip")
    assert reverse("admin:content_contentvariant_change", args=[vip.pk]) in html
    assert html.count('class="missing"') == 2 and html.count('class="translated"') == 2


def test_changelist_cost_does_not_grow_with_rows(site, hero, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = login(site, "viewer")
    url = reverse("admin:content_placement_changelist")
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for n in range(5):
        placement = placement_create(site=site, key=f"more-{n}", name=f"More {n}")
        content_variant_create(placement=placement, key="default", name="D", body="x")
    with CaptureQueriesContext(connection) as many:
        assert client.get(url).content.decode().count("missing: fr (1), es (1)") == 6
    assert len(many.captured_queries) == len(few.captured_queries)


def test_translation_inline_prefills_missing_languages_and_saves(site, hero):
    vip = hero.variants.get(key="vip")
    url = reverse("admin:content_contentvariant_change", args=[vip.pk])
    editor = login(site, "editor")
    page = editor.get(url)
    assert page.status_code == 200
    formset = page.context["inline_admin_formsets"][0].formset
    assert [form.initial.get("language") for form in formset.forms] == ["fr", "es"]

    res = editor.post(
        url, inline_data(vip, [("fr", "<p>VIP fr</p><script>x</script>"), ("es", "")])
    )
    assert res.status_code == 302, res.context["errors"] if res.context else res
    assert [(t.language, t.body) for t in vip.translations.all()] == [("fr", "<p>VIP fr</p>")]

    listing = editor.get(reverse("admin:content_placement_changelist")).content.decode()
    assert "missing: es (1)" in listing


def test_translation_inline_errors_are_form_errors(site):
    from content.models.slots import PlacementKind

    site.languages = ["fr"]
    site.save()
    image = placement_create(site=site, key="banner", name="Banner", kind=PlacementKind.IMAGE)
    variant = content_variant_create(
        placement=image,
        key="default",
        name="D",
        body=json.dumps({"src": "/a.png", "href": "/b"}),
    )
    url = reverse("admin:content_contentvariant_change", args=[variant.pk])
    editor = login(site, "editor")
    bad_link = json.dumps({"src": "javascript:alert(1)", "href": "/b"})
    res = editor.post(url, inline_data(variant, [("fr", bad_link)]))
    assert res.status_code == 200  # the form again, with the error, never a 500
    assert not variant.translations.exists()
    errors = res.context["inline_admin_formsets"][0].formset.errors
    assert errors[0] == {"body": ["body.src: Use an http(s) URL or a path starting with /."]}
    twice = editor.post(url, inline_data(variant, [("fr", "{}"), ("fr", "{}")]))
    assert twice.status_code == 200 and not variant.translations.exists()


def test_viewer_cannot_change_translations_and_other_sites_are_hidden(site, other_site, hero):
    vip = hero.variants.get(key="vip")
    url = reverse("admin:content_contentvariant_change", args=[vip.pk])
    viewer = login(site, "viewer")
    assert viewer.get(url).status_code == 200
    assert viewer.post(url, inline_data(vip, [("fr", "<p>x</p>")])).status_code == 403
    assert not vip.translations.exists()
    stranger = login(other_site, "site_admin")
    assert stranger.get(url).status_code in (302, 404)


VISITOR = '{"visitor": {"id": "preview"}}'


def test_preview_as_visitor_in_a_language(site, hero):
    slot_publish(slot=hero)
    client = login(site, "viewer")
    url = reverse("admin:content_preview_visitor")
    page = client.get(url).content.decode()
    assert '<option value="fr">fr</option>' in page and '<option value="es">es</option>' in page

    def preview(**extra):
        data = {"site": site.pk, "source": "published", "document": VISITOR, **extra}
        res = client.post(url, data)
        assert res.context["result"] is not None, res.context["form"].errors
        return {r.slot_key: r for r in res.context["result"].rows}

    french = preview(language="fr")["hero"]
    assert (french.language, french.content) == ("fr", "<p>Salut</p>")
    from_document = preview(document='{"context": {"language": "es-MX"}}')["hero"]
    assert (from_document.language, from_document.content) == ("es", "<p>Hola</p>")
    default = preview()["hero"]
    assert (default.language, default.content) == ("en", "<p>Hi</p>")
    res = client.post(
        url, {"site": site.pk, "source": "published", "document": "{}", "language": "de"}
    )
    assert "de" not in dict(res.context["form"].fields["language"].choices)
    assert res.context["form"].errors["language"]


# --- API ------------------------------------------------------------------------------------------


def test_api_creates_reads_and_replaces_translations(api_client, site, hero):
    api_client.force_authenticate(user_with_role(site, "editor"))
    res = api_client.post(
        "/api/v1/placement-variants/",
        {
            "placement": hero.pk,
            "key": "summer",
            "name": "Summer",
            "segment": SegmentFactory(site=site, key="summer").pk,
            "body": "<p>Summer</p>",
            "translations": {"FR": {"body": "<p>Été</p>"}},
        },
        format="json",
    )
    assert res.status_code == 201, res.json()
    assert res.json()["translations"] == {"fr": {"body": "<p>Été</p>"}}
    pk = res.json()["id"]
    patched = api_client.patch(
        f"/api/v1/placement-variants/{pk}/",
        {"translations": {"es": {"body": "<p>Verano</p>"}}},
        format="json",
    )
    assert patched.status_code == 200 and patched.json()["translations"] == {
        "es": {"body": "<p>Verano</p>"}
    }
    untouched = api_client.patch(f"/api/v1/placement-variants/{pk}/", {"name": "S"}, format="json")
    assert untouched.json()["translations"] == {"es": {"body": "<p>Verano</p>"}}
    listed = api_client.get(f"/api/v1/placements/{hero.pk}/").json()
    by_key = {v["key"]: v for v in listed["variants"]}
    assert by_key["default"]["translations"] == {
        "es": {"body": "<p>Hola</p>"},
        "fr": {"body": "<p>Salut</p>"},
    }


def test_api_translation_errors_have_paths(api_client, site):
    from content.models.slots import PlacementKind

    site.languages = ["fr", "es"]
    site.save()
    api_client.force_authenticate(user_with_role(site, "editor"))
    offers = api_client.post(
        "/api/v1/placements/",
        {
            "site": site.pk,
            "key": "offers",
            "name": "Offers",
            "kind": PlacementKind.JSON,
            "json_schema": {"type": "object", "properties": {"items": {"type": "array"}}},
        },
        format="json",
    ).json()

    def create(translations):
        body = {"placement": offers["id"], "key": "default", "name": "D", "body": {"items": []}}
        res = api_client.post(
            "/api/v1/placement-variants/", {**body, "translations": translations}, format="json"
        )
        paths = (
            {f["path"] for f in res.json()["error"]["fields"]} if res.status_code == 400 else set()
        )
        return res, paths

    res, paths = create({"fr": {"body": {"items": []}}, "es": "not an object"})
    assert res.status_code == 400 and paths == {"translations.es"}
    res, paths = create({"fr": {"body": {"items": "none"}}, "de": {"body": {"items": []}}})
    assert res.status_code == 400
    assert paths == {"translations.fr.body.items", "translations.de.language"}
    assert not ContentVariant.objects.filter(placement_id=offers["id"]).exists()
    ok, _ = create({"fr": {"body": {"items": [1]}}})
    assert ok.status_code == 201 and ok.json()["translations"] == {"fr": {"body": {"items": [1]}}}


def test_api_screen_variant_translations(api_client, site):
    site.languages = ["fr"]
    site.save()
    api_client.force_authenticate(user_with_role(site, "editor"))
    screen = api_client.post(
        "/api/v1/screens/", {"site": site.pk, "key": "home", "name": "Home"}, format="json"
    ).json()
    design = {"root": {"type": "Screen"}}

    def create_default(french_design):
        return api_client.post(
            "/api/v1/screen-variants/",
            {
                "screen": screen["id"],
                "key": "default",
                "name": "D",
                "design": design,
                "translations": {"fr": {"design": french_design}},
            },
            format="json",
        )

    res = create_default({"root": {"type": 3}})
    assert res.status_code == 400
    assert {f["path"] for f in res.json()["error"]["fields"]} == {
        "translations.fr.design.root.type"
    }
    fr = {"root": {"type": "Ecran"}}
    res = create_default(fr)
    assert res.status_code == 201 and res.json()["translations"] == {"fr": {"design": fr}}
