"""Content localization: site languages, variant translations (validation, services,
publishing, rollback), the language fallback chain, and resolution in the visitor's language."""

import json
from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError

from content.models import ContentVariantTranslation, ScreenVariantTranslation
from content.models.slots import PlacementKind
from content.published import site_from_slots, slot_from_snapshot
from content.resolution import language_chain, preferred_languages, resolve_all
from content.selectors.configuration import draft_site_load, published_site_load
from content.selectors.translations import slot_missing_translations, slot_translations_status
from content.services.drafts import (
    content_variant_create,
    content_variant_update,
    design_schema_update,
    placement_create,
    placement_update,
    screen_create,
    screen_variant_create,
    variant_translations_set,
)
from content.services.publishing import slot_publish, slot_rollback, slot_validate
from tenancy.models import Site, language_tag_canonical
from tests.content.factories import ContentVariantFactory, PlacementFactory, SegmentFactory

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
IMAGE = {"src": "/img/hero.png", "href": "/sale", "alt": "Sale"}


@pytest.fixture
def fr_site(site):
    site.default_language = "en"
    site.languages = ["fr", "es"]
    site.save()
    return site


def hero(site, body="<p>Hi</p>", translations=None):
    """A placement `hero` with its default variant (and its translations)."""
    placement = placement_create(site=site, key="hero", name="Hero")
    variant = content_variant_create(
        placement=placement, key="default", name="D", body=body, translations=translations
    )
    return placement, variant


# --- site languages ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "canonical"),
    [
        ("en", "en"),
        ("FR-ca", "fr-CA"),
        ("fr_CA", "fr-CA"),
        ("zh-hant-tw", "zh-Hant-TW"),
        ("es-419", "es-419"),
        ("de-CH-1996", "de-CH-1996"),
        ("en-US-x-twain", "en-US-x-twain"),
        ("sl-rozaj-biske", "sl-rozaj-biske"),
        ("", None),
        ("english", "english"),  # 5-8 letters: well-formed (registered or not)
        ("e", None),
        ("en-", None),
        ("fr-CA,fr;q=0.9", None),
        ("fr-ÇA", None),
        ("\ud800", None),
        ("x" * 40, None),
        (42, None),
    ],
)
def test_language_tags_are_checked_and_canonicalised(tag, canonical):
    assert language_tag_canonical(tag) == canonical


def test_site_languages_are_validated_and_normalised(site):
    site.default_language = "en-us"
    site.languages = ["FR", "es", "EN-US"]
    site.full_clean()
    assert site.default_language == "en-US"
    assert site.languages == ["fr", "es"]  # the default is the base, never a translation
    assert site.all_languages == ["en-US", "fr", "es"]

    site.languages = ["fr", "FR-"]
    with pytest.raises(ValidationError) as exc:
        site.full_clean()
    assert "languages" in exc.value.message_dict
    site.languages = ["fr", "Fr"]
    with pytest.raises(ValidationError, match="listed once"):
        site.full_clean()
    site.languages, site.default_language = [], "not a tag"
    with pytest.raises(ValidationError) as exc:
        site.full_clean()
    assert "default_language" in exc.value.message_dict


def test_sites_api_sets_languages(api_client, site, settings):
    from tests.factories import user_with_role

    settings.ROOT_URLCONF = "personalize.urls"
    api_client.force_authenticate(user_with_role(site, "site_admin"))
    url = f"/api/v1/sites/{site.pk}/"
    res = api_client.patch(url, {"default_language": "en-gb", "languages": ["FR", "en-GB"]})
    assert res.status_code == 200, res.content
    assert res.json()["default_language"] == "en-GB" and res.json()["languages"] == ["fr"]
    bad = api_client.patch(url, {"languages": ["fr", "??"]}, format="json")
    assert bad.status_code == 400 and "languages" in json.dumps(bad.json())


# --- translations: validation -----------------------------------------------------------------


def test_translation_body_is_validated_like_the_base(fr_site):
    image = placement_create(site=fr_site, key="banner", name="Banner", kind=PlacementKind.IMAGE)
    variant = content_variant_create(
        placement=image, key="default", name="D", body=json.dumps(IMAGE)
    )
    bad = ContentVariantTranslation(
        variant=variant, language="fr", body=json.dumps({**IMAGE, "src": "javascript:alert(1)"})
    )
    with pytest.raises(ValidationError) as exc:
        bad.full_clean()
    assert set(exc.value.message_dict) == {"body.src"}
    missing = ContentVariantTranslation(
        variant=variant, language="fr", body=json.dumps({"alt": "x"})
    )
    with pytest.raises(ValidationError) as exc:
        missing.full_clean()
    assert "body" in exc.value.message_dict  # required src/href: reported at the body


def test_translation_language_must_be_a_site_language(fr_site):
    variant = ContentVariantFactory(placement=PlacementFactory(site=fr_site))
    for language, message in [
        ("en", "default language"),
        ("de", "add de to the site's languages"),
    ]:
        with pytest.raises(ValidationError, match=message):
            ContentVariantTranslation(variant=variant, language=language, body="x").full_clean()
    ok = ContentVariantTranslation(
        variant=variant, language="FR", body="<p>Salut</p><script>x</script>"
    )
    ok.full_clean()
    assert ok.language == "fr" and ok.body == "<p>Salut</p>"  # canonical tag, sanitised HTML


def test_any_language_when_the_site_lists_none(site):
    variant = ContentVariantFactory(placement=PlacementFactory(site=site))
    ContentVariantTranslation(variant=variant, language="de-AT", body="Servus").full_clean()


def test_screen_translation_design_errors_have_paths(fr_site):
    screen = screen_create(site=fr_site, key="home", name="Home")
    variant = screen_variant_create(
        screen=screen, key="default", name="D", design={"root": {"type": "Screen"}}
    )
    bad = ScreenVariantTranslation(variant=variant, language="fr", design={"root": {"type": 3}})
    with pytest.raises(ValidationError) as exc:
        bad.full_clean()
    assert set(exc.value.message_dict) == {"design.root.type"}


# --- translations: services -------------------------------------------------------------------


def test_translations_set_replaces_all_or_nothing(fr_site):
    _placement, variant = hero(
        fr_site, body="<p>Hi</p>", translations={"fr": {"body": "<p>Salut</p>"}}
    )
    assert [(t.language, t.body) for t in variant.translations.all()] == [("fr", "<p>Salut</p>")]
    with pytest.raises(ValidationError) as exc:
        variant_translations_set(
            variant=variant,
            translations={
                "es": {"body": "<p>Hola</p>"},
                "de": {"body": "Hallo"},
                "FR": {"text": "?"},
            },
        )
    assert exc.value.message_dict == {
        "translations.de.language": [
            "Alpha publishes fr, es besides en; add de to the site's languages first."
        ],
        "translations.FR": ['Give {"body": ...} for each language.'],
    }
    assert list(variant.translations.values_list("language", flat=True)) == ["fr"]  # untouched
    with pytest.raises(ValidationError) as exc:
        variant_translations_set(
            variant=variant, translations={"fr": {"body": "a"}, "FR": {"body": "b"}}
        )
    assert exc.value.message_dict == {"translations.FR.language": ["fr is given twice."]}
    content_variant_update(variant=variant, data={"translations": {"es": {"body": "<p>Hola</p>"}}})
    assert list(variant.translations.values_list("language", flat=True)) == ["es"]


def test_json_translation_errors_have_paths_and_schema_changes_check_them(fr_site):
    schema = {"type": "object", "properties": {"title": {"type": "string"}}}
    offers = placement_create(
        site=fr_site, key="offers", name="Offers", kind=PlacementKind.JSON, json_schema=schema
    )
    with pytest.raises(ValidationError) as exc:
        content_variant_create(
            placement=offers,
            key="default",
            name="D",
            body='{"title": "Save"}',
            translations={"fr": {"body": '{"title": 3}'}},
        )
    assert list(exc.value.message_dict) == ["translations.fr.body.title"]
    assert not offers.variants.exists()  # the variant was not kept without its translations
    content_variant_create(
        placement=offers,
        key="default",
        name="D",
        body='{"title": "Save"}',
        translations={"fr": {"body": '{"title": "Épargnez"}'}},
    )
    with pytest.raises(ValidationError) as exc:
        placement_update(
            placement=offers,
            data={"json_schema": {**schema, "properties": {"title": {"maxLength": 5}}}},
        )
    assert any("'default' [fr] body.title" in m for m in exc.value.message_dict["json_schema"])


def test_design_schema_change_checks_translated_designs(fr_site):
    screen = screen_create(site=fr_site, key="home", name="Home")
    screen_variant_create(
        screen=screen,
        key="default",
        name="D",
        design={"root": {"type": "Screen"}},
        translations={"fr": {"design": {"root": {"type": "Ecran_fr"}}}},
    )
    strict = {
        "type": "object",
        "properties": {"root": {"properties": {"type": {"pattern": "^[A-Z][a-z]+$"}}}},
    }
    with pytest.raises(ValidationError) as exc:
        design_schema_update(site=fr_site, schema=strict)
    assert any("home/default [fr] design.root.type" in m for m in exc.value.messages)


# --- publishing and rollback --------------------------------------------------------------------


def test_translations_are_published_and_rolled_back(fr_site):
    placement, variant = hero(
        fr_site, body="<p>Hi</p>", translations={"fr": {"body": "<p>Salut</p>"}}
    )
    first = slot_publish(slot=placement)
    assert first.snapshot["variants"][0]["translations"] == {"fr": {"body": "<p>Salut</p>"}}
    variant_translations_set(
        variant=variant,
        translations={"fr": {"body": "<p>Bonjour</p>"}, "es": {"body": "<p>Hola</p>"}},
    )
    second = slot_publish(slot=placement)
    assert second.snapshot["variants"][0]["translations"] == {
        "es": {"body": "<p>Hola</p>"},
        "fr": {"body": "<p>Bonjour</p>"},
    }
    live = published_site_load(site_id=fr_site.pk)
    assert live.languages == frozenset({"fr", "es"}) and live.default_language == "en"

    slot_rollback(slot=placement, revision=first.number)
    restored = placement.variants.get(key="default")
    assert [(t.language, t.body) for t in restored.translations.all()] == [("fr", "<p>Salut</p>")]
    live = published_site_load(site_id=fr_site.pk)
    assert live.languages == frozenset({"fr"})


def test_revisions_without_translations_stay_equal_to_their_drafts(fr_site):
    from content.selectors.revisions import slot_has_unpublished_changes

    placement, _ = hero(fr_site)
    revision = slot_publish(slot=placement)
    assert "translations" not in revision.snapshot["variants"][0]
    assert not slot_has_unpublished_changes(slot=placement)


def test_publish_refuses_an_invalid_translation_at_its_path(fr_site):
    image = placement_create(site=fr_site, key="banner", name="Banner", kind=PlacementKind.IMAGE)
    variant = content_variant_create(
        placement=image, key="default", name="D", body=json.dumps(IMAGE)
    )
    # Saved around the checks (e.g. by an older version): publishing still refuses it.
    ContentVariantTranslation.objects.create(variant=variant, language="fr", body="{not json")
    with pytest.raises(ValidationError) as exc:
        slot_validate(slot=image)
    assert list(exc.value.message_dict) == ["variants.default.translations.fr.body"]


# --- the fallback chain -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "chain"),
    [
        ("fr-CA", ("fr-ca", "fr")),
        ("fr", ("fr",)),
        ("FR-ca", ("fr-ca", "fr")),
        ("fr_CA", ("fr-ca", "fr")),
        ("fr-CA,fr;q=0.9", ("fr-ca", "fr")),
        ("fr-CA,fr;q=0.9,en;q=0.8", ("fr-ca", "fr", "en")),
        ("en;q=0.5, es", ("es", "en")),
        ("de;q=0, es", ("es",)),  # q=0: not acceptable
        ("de;q=2, es;q=abc, it;level=1, pt", ("pt",)),  # malformed weights are dropped
        ("*, es;q=0.5", ("es",)),
        ("", ()),
        (None, ()),
        (42, ()),
        (["fr"], ()),
        ("\ud800", ()),
        ("fr-\ud800", ()),
        ("x" * 10_000, ()),
        ("fr," * 5_000, ("fr",)),
        ("😀;q=1", ()),
    ],
)
def test_preferred_languages(value, chain):
    assert preferred_languages(value) == chain


@pytest.mark.parametrize(
    ("value", "chain"),
    [
        ("fr-CA", ("fr-ca", "fr")),
        ("fr", ("fr",)),
        ("FR-ca", ("fr-ca", "fr")),
        ("fr-CA,fr;q=0.9", ("fr-ca", "fr")),
        ("de", ()),  # no German: the default
        ("de-CH, es;q=0.5", ("es",)),
        ("en-GB,fr;q=0.9", ()),  # English (the default's language) comes first
        ("en-US", ()),
        ("", ()),
        ("\ud800", ()),
        ("x" * 10_000, ()),
    ],
)
def test_language_chain(value, chain):
    available = frozenset({"fr-ca", "fr", "es"})
    assert language_chain(value, default_language="en-US", available=available) == chain


def test_no_translations_no_chain():
    assert language_chain("fr", default_language="en", available=frozenset()) == ()


def _slot(key, *variants):
    snapshot = {"key": key, "kind": "html", "variants": list(variants)}
    return slot_from_snapshot(snapshot, "placement", 1)


@pytest.mark.parametrize(
    ("language", "served", "body"),
    [
        ("fr-CA", "fr-CA", "Allô"),
        ("fr-FR", "fr", "Bonjour"),
        ("FR", "fr", "Bonjour"),
        ("fr-CA,fr;q=0.9", "fr-CA", "Allô"),
        ("es-MX,fr;q=0.5", "fr", "Bonjour"),
        ("de", "en", "Hello"),
        ("", "en", "Hello"),
        (None, "en", "Hello"),
        ("\ud800", "en", "Hello"),
        ("x" * 10_000, "en", "Hello"),
    ],
)
def test_resolution_serves_the_visitor_language(language, served, body):
    hero = _slot(
        "hero",
        {
            "key": "default",
            "segment": None,
            "body": "Hello",
            "translations": {"fr": {"body": "Bonjour"}, "fr-CA": {"body": "Allô"}},
        },
    )
    site = site_from_slots(
        site_id=1, version=1, placements=[hero], screens=[], default_language="en"
    )
    res = resolve_all(site, lambda key: False, NOW, language=language)["placements"]["hero"]
    assert (res.language, res.payload["body"]) == (served, body)


def test_variant_first_then_language():
    """Targeting ignores the language: the matched variant is served, in the best language it
    has (here none: the default language), not another variant that has a translation."""
    hero = _slot(
        "hero",
        {"key": "vip", "segment": "vip", "priority": 1, "body": "VIP"},
        {
            "key": "default",
            "segment": None,
            "body": "Hi",
            "translations": {"fr": {"body": "Salut"}},
        },
    )
    site = site_from_slots(
        site_id=1, version=1, placements=[hero], screens=[], default_language="en"
    )
    vip = resolve_all(site, {"vip"}.__contains__, NOW, language="fr")["placements"]["hero"]
    assert (vip.variant.key, vip.language, vip.payload["body"]) == ("vip", "en", "VIP")
    other = resolve_all(site, set().__contains__, NOW, language="fr")["placements"]["hero"]
    assert (other.variant.key, other.language, other.payload["body"]) == ("default", "fr", "Salut")


def test_engine_agrees_with_resolution_across_languages():
    import random

    from delivery.engine import Snapshot, decide

    rng = random.Random(7)
    languages = ["fr", "fr-CA", "es", "de"]
    slots = []
    for j in range(6):
        variants = []
        for k in range(4):
            tags = rng.sample(languages, rng.randrange(len(languages)))
            variants.append(
                {
                    "key": f"v{k}",
                    "segment": f"s{rng.randrange(4)}" if k < 3 else None,
                    "priority": k,
                    "body": f"p{j}v{k}",
                    "translations": {t: {"body": f"p{j}v{k}-{t}"} for t in tags},
                }
            )
        slots.append(_slot(f"p{j}", *variants))
    published = site_from_slots(site_id=1, version=1, placements=slots, screens=[])

    class Member:
        def __init__(self, key):
            self.key = key

        def matches(self, doc, now=None):
            return self.key in doc["profile"]["segments"]

    snapshot = Snapshot(
        site_id=1,
        version=1,
        published=published,
        rules={f"s{i}": Member(f"s{i}") for i in range(4)},
    )
    for _ in range(40):
        segments = set(rng.sample(["s0", "s1", "s2", "s3"], rng.randrange(4)))
        language = rng.choice(["fr-CA", "fr", "FR-ca,es;q=0.5", "de-AT", "en", "", "pt,es;q=0.1"])
        doc = {"visitor": {}, "profile": {"segments": segments}, "context": {"language": language}}
        got = decide(snapshot, doc, now=NOW)["placements"]
        expected = resolve_all(published, segments.__contains__, NOW, language=language)
        for key, res in expected["placements"].items():
            assert got[key]["variant"] == res.variant.key
            assert got[key]["language"] == res.language
            assert got[key]["content"] == res.payload


# --- missing translations -----------------------------------------------------------------------


def test_missing_translations_per_variant_and_language(fr_site):
    vip = SegmentFactory(site=fr_site, key="vip")
    placement, _ = hero(
        fr_site, body="Hi", translations={"fr": {"body": "Salut"}, "es": {"body": "Hola"}}
    )
    content_variant_create(
        placement=placement,
        key="vip",
        name="V",
        body="VIP",
        segment=vip,
        priority=1,
        translations={"fr": {"body": "VIP fr"}},
    )
    rows = slot_translations_status(slot=placement)
    assert [(r.variant.key, r.present, r.missing) for r in rows] == [
        ("vip", {"fr": True, "es": False}, ["es"]),
        ("default", {"fr": True, "es": True}, []),
    ]
    assert slot_missing_translations(slot=placement) == {"es": 1}
    Site.objects.filter(pk=fr_site.pk).update(languages=["fr", "es", "de"])
    placement.site.refresh_from_db()
    assert slot_missing_translations(slot=placement) == {"es": 1, "de": 2}


def test_draft_configuration_carries_translations(fr_site):
    hero(fr_site, body="Hi", translations={"fr": {"body": "Salut"}})
    draft, skipped = draft_site_load(site_id=fr_site.pk)
    assert not skipped and draft.languages == frozenset({"fr"})
    res = resolve_all(draft, set().__contains__, NOW, language="fr-BE")["placements"]["hero"]
    assert (res.language, res.payload) == ("fr", {"kind": "html", "body": "Salut"})


def test_changing_the_default_language_makes_delivery_reload(site):
    from django.db import transaction

    site = Site.objects.get(pk=site.pk)
    version = site.config_version
    site.languages = ["fr"]
    site.save()
    assert Site.objects.get(pk=site.pk).config_version == version  # the base is unchanged
    with transaction.atomic():
        site.default_language = "en-GB"
        site.save()
    assert Site.objects.get(pk=site.pk).config_version == version + 1 == site.config_version
    published = published_site_load(site_id=site.pk)
    assert published.default_language == "en-GB" and published.version == version + 1
