import factory
from django.utils import timezone

from segments.models import Event, Field, Profile, Segment, SegmentKind, SegmentStatus, StaticMember
from tests.factories import SiteFactory


class ProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Profile

    site = factory.SubFactory(SiteFactory)
    user_id = factory.Sequence(lambda n: f"u-{n:05d}")
    traits = factory.LazyFunction(dict)
    last_context = factory.LazyFunction(dict)


class EventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Event

    site = factory.SelfAttribute("profile.site")
    profile = factory.SubFactory(ProfileFactory)
    visitor_id = factory.SelfAttribute("profile.user_id")
    name = "purchase"
    properties = factory.LazyFunction(dict)
    occurred_at = factory.LazyFunction(timezone.now)


class FieldFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Field

    site = factory.SubFactory(SiteFactory)
    path = factory.Sequence(lambda n: f"profile.custom_{n}")
    type = "string"
    label = factory.LazyAttribute(lambda f: f.path)


class SegmentFactory(factory.django.DjangoModelFactory):
    """A row as it is stored, without the services (use services to test validation)."""

    class Meta:
        model = Segment

    site = factory.SubFactory(SiteFactory)
    key = factory.Sequence(lambda n: f"segment-{n}")
    name = factory.LazyAttribute(lambda s: s.key.replace("-", " ").title())
    kind = SegmentKind.DYNAMIC
    criteria = factory.LazyFunction(lambda: {"all": []})
    status = SegmentStatus.ACTIVE


class StaticMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StaticMember

    segment = factory.SubFactory(SegmentFactory, kind=SegmentKind.STATIC, criteria={})
    user_id = factory.Sequence(lambda n: f"u-{n:05d}")
