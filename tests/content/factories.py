import factory

from content.models import ContentVariant, Placement, Screen, ScreenVariant
from content.models.slots import PlacementKind
from content.services.drafts import content_variant_create, placement_create
from segments.models import Segment, SegmentStatus
from tests.factories import SiteFactory

DESIGN = {"root": {"type": "Screen", "children": [{"type": "Text", "props": {"text": "Hello"}}]}}


class SegmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Segment
        django_get_or_create = ("site", "key")

    site = factory.SubFactory(SiteFactory)
    key = factory.Sequence(lambda n: f"segment-{n}")
    name = factory.LazyAttribute(lambda s: s.key.replace("-", " ").title())
    criteria = factory.LazyFunction(lambda: {"all": []})
    status = SegmentStatus.ACTIVE


class PlacementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Placement

    site = factory.SubFactory(SiteFactory)
    key = factory.Sequence(lambda n: f"placement_{n}")
    name = factory.LazyAttribute(lambda p: p.key)
    kind = PlacementKind.HTML


class ContentVariantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContentVariant

    placement = factory.SubFactory(PlacementFactory)
    key = factory.Sequence(lambda n: f"variant-{n}")
    name = factory.LazyAttribute(lambda v: v.key)
    body = "<p>Hello</p>"
    segment = None
    priority = 100


class ScreenFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Screen

    site = factory.SubFactory(SiteFactory)
    key = factory.Sequence(lambda n: f"screen_{n}")
    name = factory.LazyAttribute(lambda s: s.key)


class ScreenVariantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ScreenVariant

    screen = factory.SubFactory(ScreenFactory)
    key = factory.Sequence(lambda n: f"design-{n}")
    name = factory.LazyAttribute(lambda v: v.key)
    design = factory.LazyFunction(lambda: {"root": {"type": "Screen", "children": []}})
    segment = None
    priority = 100


def placement_with_variants(site, key="home_hero", targeted=(), kind=PlacementKind.HTML):
    """A placement with a default and a variant per (key, segment, priority) in `targeted`."""
    placement = PlacementFactory(site=site, key=key, kind=kind)
    ContentVariantFactory(placement=placement, key="default", body="<p>Default</p>")
    for variant_key, segment, priority in targeted:
        ContentVariantFactory(
            placement=placement,
            key=variant_key,
            segment=segment,
            priority=priority,
            body=f"<p>{variant_key}</p>",
        )
    return placement


def localized_hero(site):
    """Placement `hero` on `site` (given French and Spanish): a default variant translated
    into both, and a VIP variant (segment `vip`, which nobody matches) with no translations."""
    site.languages = ["fr", "es"]
    site.save()
    vip = SegmentFactory(
        site=site,
        key="vip",
        name="VIP",
        criteria={"all": [{"field": "profile.age", "op": "gte", "value": 200}]},
    )
    placement = placement_create(site=site, key="hero", name="Hero")
    content_variant_create(
        placement=placement,
        key="default",
        name="Welcome",
        body="<p>Hi</p>",
        translations={"fr": {"body": "<p>Salut</p>"}, "es": {"body": "<p>Hola</p>"}},
    )
    content_variant_create(
        placement=placement, key="vip", name="VIP", body="<p>VIP</p>", segment=vip, priority=1
    )
    return placement
