import pytest
from django.test import Client
from django.urls import reverse

from content import demo
from content.models import ContentVariant, PlacementRevision, ScreenVariant
from content.selectors.configuration import published_site_load
from tests.content.factories import SegmentFactory
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db

CRITERIA = {
    "detroit-shoe-shoppers": {"all": [{"field": "profile.city", "op": "eq", "value": "Detroit"}]},
    "ios-legacy-app": {"all": [{"field": "context.app_version", "op": "lt", "value": "3.2"}]},
    "college-landing": {
        "all": [{"field": "context.landing_page", "op": "contains", "value": "/college"}]
    },
    "rainy-evening": {"all": [{"field": "context.weather", "op": "eq", "value": "rain"}]},
    "night": {"all": [{"field": "context.local_time", "op": "hour_between", "value": [22, 6]}]},
    "in-car": {"all": [{"field": "context.in_car", "op": "is_true"}]},
    "high-balance": {"all": [{"field": "profile.lifetime_value", "op": "gte", "value": 50000}]},
    "loyal-customers": {"all": [{"field": "profile.loyalty_tier", "op": "in", "value": ["gold"]}]},
}


@pytest.fixture
def demo_site(site):
    for key, criteria in CRITERIA.items():
        SegmentFactory(site=site, key=key, criteria=criteria)
    demo.seed(site)
    return site


def preview(site, document):
    client = Client()
    client.force_login(user_with_role(site, "viewer"))
    res = client.post(
        reverse("admin:content_preview_visitor"),
        {"site": site.pk, "source": "published", "document": document},
    )
    assert res.status_code == 200, res.context["form"].errors
    return {r.slot_key: (r.variant_key, r.reason) for r in res.context["result"].rows}


def test_demo_publishes_every_scenario(demo_site):
    live = published_site_load(site_id=demo_site.pk)
    assert set(live.placements) == {"home_hero", "offers", "app_banner"}
    assert set(live.screens) == {"home"}
    assert [v.key for v in live.screens["home"].targeted] == ["in-car", "rainy-evening", "night"]
    assert [v.segment_key for v in live.placements["offers"].targeted] == [
        "college-landing",
        "high-balance",
    ]
    assert live.placements["home_hero"].targeted[0].segment_key == "detroit-shoe-shoppers"


def test_demo_is_idempotent(demo_site):
    counts = (
        ContentVariant.objects.count(),
        ScreenVariant.objects.count(),
        PlacementRevision.objects.count(),
    )
    demo.seed(demo_site)
    assert counts == (
        ContentVariant.objects.count(),
        ScreenVariant.objects.count(),
        PlacementRevision.objects.count(),
    )


def test_demo_scenarios_in_the_admin_preview(demo_site):
    college = preview(demo_site, '{"context": {"landing_page": "/college/scholarships"}}')
    assert college["offers"] == ("free-checking", {"kind": "segment", "segment": "college-landing"})
    rich = preview(demo_site, '{"profile": {"lifetime_value": 120000}}')
    assert rich["offers"][0] == "retirement-advice"
    detroit = preview(demo_site, '{"profile": {"city": "Detroit"}}')
    assert detroit["home_hero"][0] == "detroit-shoes"
    rainy = preview(
        demo_site, '{"context": {"weather": "rain", "local_time": "2026-11-22T14:00:00-05:00"}}'
    )
    assert rainy["home"][0] == "rainy-evening"
    car = preview(demo_site, '{"context": {"weather": "rain", "in_car": true}}')
    assert car["home"][0] == "in-car"
    night = preview(demo_site, '{"context": {"local_time": "2026-11-22T23:30:00-05:00"}}')
    assert night["home"][0] == "night"
    nobody = preview(demo_site, '{"context": {}}')
    assert {k: v[0] for k, v in nobody.items()} == {
        "home_hero": "default",
        "offers": "default",
        "app_banner": "default",
        "home": "default",
    }


def test_demo_skips_missing_segments(site):
    SegmentFactory(site=site, key="college-landing", criteria=CRITERIA["college-landing"])
    demo.seed(site)
    live = published_site_load(site_id=site.pk)
    assert [v.key for v in live.placements["offers"].targeted] == ["free-checking"]
    assert live.screens["home"].targeted == ()


def test_demo_has_french_and_spanish_versions(demo_site):
    from django.utils import timezone

    from content.models import Placement
    from content.resolution import resolve_all
    from content.selectors.translations import slot_missing_translations
    from content.services.drafts import variant_translations_set

    demo_site.refresh_from_db()
    assert demo_site.languages == ["fr", "es"]
    live = published_site_load(site_id=demo_site.pk)
    assert live.languages == frozenset({"fr", "es"})

    def served(language, segments=()):
        out = resolve_all(live, set(segments).__contains__, timezone.now(), language=language)
        return {k: (r.variant.key, r.language) for k, r in out["placements"].items()}

    assert served("fr-CA")["home_hero"] == ("default", "fr")
    assert served("es-MX,es;q=0.9")["offers"] == ("default", "es")
    assert served("fr", {"detroit-shoe-shoppers"})["home_hero"] == ("detroit-shoes", "fr")
    assert served("es", {"detroit-shoe-shoppers"})["home_hero"] == ("detroit-shoes", "en")
    placement = Placement.objects.get(site=demo_site, key="home_hero")
    # The loyalty discount has no translation, the Detroit one no Spanish: the admin shows it.
    assert slot_missing_translations(slot=placement) == {"fr": 1, "es": 2}

    # A re-run keeps the translations editors changed.
    variant = placement.variants.get(key="default")
    variant_translations_set(variant=variant, translations={"fr": {"body": "<p>Édité</p>"}})
    demo.seed(demo_site)
    assert list(variant.translations.values_list("body", flat=True)) == ["<p>Édité</p>"]
