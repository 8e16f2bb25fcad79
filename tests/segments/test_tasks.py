import pytest

from segments.criteria import BUILTIN_FIELDS
from segments.models import Field, Segment
from segments.services.segments import segment_create
from segments.tasks import field_catalog_seed_all, segment_snapshot_task
from tests.factories import UserFactory
from tests.segments.factories import ProfileFactory

pytestmark = pytest.mark.django_db


def test_seed_all_sites(site, other_site):
    assert field_catalog_seed_all.delay().get() == 2 * len(BUILTIN_FIELDS)
    assert Field.objects.filter(site=other_site, builtin=True).count() == len(BUILTIN_FIELDS)
    assert field_catalog_seed_all() == 0


def test_snapshot_task(site):
    ProfileFactory(site=site, user_id="u-1", traits={"city": "Detroit"})
    criteria = {"all": [{"field": "profile.city", "op": "eq", "value": "Detroit"}]}
    segment = segment_create(site=site, key="detroit", name="Detroit", criteria=criteria)
    user = UserFactory()
    snapshot_id = segment_snapshot_task(segment.pk, user.pk, "frozen")
    snapshot = Segment.objects.get(pk=snapshot_id)
    assert snapshot.key == "frozen" and snapshot.created_by == user
    assert list(snapshot.static_members.values_list("user_id", flat=True)) == ["u-1"]
    assert segment_snapshot_task(999_999) is None
