import pytest

from segments import demo
from segments.models import Event, Field, Profile, Segment
from segments.selectors.members import segment_count
from tests.factories import SiteFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def demo_site(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        site = SiteFactory(slug="demo-test", name="Demo")
        demo.seed(site)
        yield site
        site.delete()


def test_demo_data_is_plentiful_and_idempotent(demo_site):
    profiles = Profile.objects.filter(site=demo_site).count()
    events = Event.objects.filter(site=demo_site).count()
    segments = Segment.objects.filter(site=demo_site).count()
    assert profiles == demo.PROFILES
    assert 8_000 <= events <= 12_000
    assert segments == len(demo.SEGMENTS)
    assert Field.objects.filter(site=demo_site, path="profile.balance", builtin=False).exists()
    demo.seed(demo_site)
    assert Profile.objects.filter(site=demo_site).count() == profiles
    assert Event.objects.filter(site=demo_site).count() == events
    assert Segment.objects.filter(site=demo_site).count() == segments


def test_demo_segments_have_members(demo_site):
    counts = {s.key: segment_count(segment=s) for s in Segment.objects.filter(site=demo_site)}
    for key, count in counts.items():
        assert 0 < count < demo.PROFILES, (key, count)
    assert counts["spring-promo-rollout"] < counts["loyal-customers"]
