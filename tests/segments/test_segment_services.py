import csv
import io

import pytest
from django.core.exceptions import ValidationError

from segments.criteria import CriteriaError, StaticSegment
from segments.models import SegmentKind, SegmentRevision, SegmentStatus, StaticMember, StaticSource
from segments.selectors.definitions import criteria_errors, site_segment_definitions
from segments.selectors.members import segment_count, segment_export_csv, segment_members
from segments.selectors.preview import criteria_audience, criteria_preview, segments_matching
from segments.services.fields import field_create
from segments.services.segments import (
    segment_archive,
    segment_create,
    segment_delete,
    segment_snapshot,
    segment_update,
)
from tests.factories import UserFactory
from tests.segments.factories import (
    EventFactory,
    ProfileFactory,
    SegmentFactory,
    StaticMemberFactory,
)

pytestmark = pytest.mark.django_db

DETROIT = {"all": [{"field": "profile.city", "op": "eq", "value": "Detroit"}]}
WOMEN = {"all": [{"field": "profile.gender", "op": "eq", "value": "female"}]}


def test_create_records_history(site):
    user = UserFactory()
    segment = segment_create(
        site=site, key="detroit", name="Detroit", criteria=DETROIT, created_by=user
    )
    assert segment.kind == SegmentKind.DYNAMIC and segment.status == SegmentStatus.DRAFT
    revision = segment.revisions.get()
    assert revision.changed_by == user and revision.summary == "Created"
    assert revision.criteria == DETROIT


def test_create_validates_criteria_with_path(site):
    bad = {"all": [DETROIT["all"][0], {"field": "profile.age", "op": "gte", "value": "old"}]}
    with pytest.raises(CriteriaError) as info:
        segment_create(site=site, key="bad", name="Bad", criteria=bad)
    paths = [e["path"] for e in criteria_errors(error=info.value)]
    assert paths[0].startswith("criteria.all[1]")


def test_criteria_errors_lists_every_error_under_the_prefix():
    exc = CriteriaError(
        "$",
        "first",
        [CriteriaError("$", "first"), CriteriaError("$.all[0].value", "second")],
    )
    assert criteria_errors(error=exc) == [
        {"path": "criteria", "message": "first"},
        {"path": "criteria.all[0].value", "message": "second"},
    ]
    assert [e["path"] for e in criteria_errors(error=exc, prefix="")] == ["", "all[0].value"]


def test_create_rejects_unknown_field_and_bad_key(site):
    with pytest.raises(CriteriaError):
        segment_create(
            site=site,
            key="x",
            name="X",
            criteria={"all": [{"field": "profile.nope", "op": "eq", "value": 1}]},
        )
    with pytest.raises(ValidationError, match="lowercase"):
        segment_create(site=site, key="Not A Key", name="X")


def test_custom_field_of_the_site_is_usable(site, other_site):
    field_create(site=site, path="profile.balance", type="number")
    tree = {"all": [{"field": "profile.balance", "op": "gte", "value": 50000}]}
    segment_create(site=site, key="rich", name="Rich", criteria=tree)
    with pytest.raises(CriteriaError):  # other_site has no such field
        segment_create(site=other_site, key="rich", name="Rich", criteria=tree)


def test_duplicate_key_rejected(site):
    segment_create(site=site, key="a", name="A")
    with pytest.raises(ValidationError, match="already has"):
        segment_create(site=site, key="a", name="A again")


def test_update_records_each_change(site):
    user = UserFactory()
    segment = segment_create(site=site, key="detroit", name="Detroit", criteria=DETROIT)
    segment_update(segment=segment, name="Detroiters", changed_by=user)
    segment_update(segment=segment, criteria=WOMEN, changed_by=user)
    segment_update(segment=segment, status=SegmentStatus.ACTIVE, changed_by=user)
    segment_update(segment=segment, name="Detroiters")  # no change, no revision
    segment_update(segment=segment, description="only the description")  # not in history
    summaries = list(segment.revisions.order_by("pk").values_list("summary", flat=True))
    assert summaries[0] == "Created"
    assert "name" in summaries[1].lower() and "Detroiters" in summaries[1]
    assert "criteria" in summaries[2].lower()
    assert "active" in summaries[3]
    assert len(summaries) == 4
    latest = segment.revisions.first()
    assert latest.changed_by == user and latest.criteria == WOMEN and latest.status == "active"


def test_update_rejects_invalid_criteria_and_keeps_old(site):
    segment = segment_create(site=site, key="detroit", name="Detroit", criteria=DETROIT)
    with pytest.raises(CriteriaError):
        segment_update(segment=segment, criteria={"all": [{"field": "profile.age", "op": "nope"}]})
    segment.refresh_from_db()
    assert segment.criteria == DETROIT
    assert segment.revisions.count() == 1


def test_archive(site):
    segment = segment_create(site=site, key="a", name="A")
    segment_archive(segment=segment)
    segment.refresh_from_db()
    assert segment.status == SegmentStatus.ARCHIVED
    assert "archived" in segment.revisions.first().summary


def test_references_and_cycles(site, other_site):
    segment_create(site=site, key="detroit", name="Detroit", criteria=DETROIT)
    both = segment_create(
        site=site, key="detroit-women", name="DW", criteria={"all": [{"segment": "detroit"}, WOMEN]}
    )
    assert both.pk
    detroit = site.segments.get(key="detroit")
    with pytest.raises(CriteriaError):
        segment_update(segment=detroit, criteria={"all": [{"segment": "detroit-women"}]})
    with pytest.raises(CriteriaError):
        segment_create(site=site, key="self", name="Self", criteria={"all": [{"segment": "self"}]})
    # another site's key is unknown here
    segment_create(site=other_site, key="beta-only", name="B")
    with pytest.raises(CriteriaError):
        segment_create(site=site, key="x", name="X", criteria={"all": [{"segment": "beta-only"}]})


def test_delete_refuses_referenced_segment(site):
    detroit = segment_create(site=site, key="detroit", name="Detroit", criteria=DETROIT)
    segment_create(site=site, key="dw", name="DW", criteria={"all": [{"segment": "detroit"}]})
    with pytest.raises(ValidationError, match="dw"):
        segment_delete(segment=detroit)


def test_definitions_include_static_members(site):
    static = SegmentFactory(site=site, key="vip", kind=SegmentKind.STATIC, criteria={})
    StaticMemberFactory(segment=static, user_id="u-1")
    SegmentFactory(site=site, key="detroit", criteria=DETROIT)
    definitions = site_segment_definitions(site=site)
    assert definitions["detroit"] == DETROIT
    assert isinstance(definitions["vip"], StaticSegment)
    assert definitions["vip"].user_ids == frozenset({"u-1"})
    only = site_segment_definitions(site=site, tree={"any": [{"segment": "vip"}]})
    assert set(only) == {"vip"}


def test_count_members_and_export(site, people):
    segment = segment_create(site=site, key="detroit", name="Detroit", criteria=DETROIT)
    assert segment_count(segment=segment) == 3  # case-insensitive: "detroit" too
    members = list(segment_members(segment=segment))
    assert [m["user_id"] for m in members] == ["u-1", "u-3", "u-4"]
    assert members[0]["traits"]["age"] == 25
    text = "".join(segment_export_csv(segment=segment))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["user_id"] for r in rows] == ["u-1", "u-3", "u-4"]
    assert rows[0]["age"] == "25" and rows[0]["city"] == "Detroit"


def test_export_neutralises_formulas(site):
    ProfileFactory(site=site, user_id="=cmd|calc", traits={"city": "@SUM(A1)", "nickname": "-x"})
    segment = segment_create(site=site, key="all", name="All")
    text = "".join(segment_export_csv(segment=segment))
    assert "'=cmd|calc" in text and "'@SUM(A1)" in text


def test_count_with_events(site, people):
    for _ in range(2):
        EventFactory(profile=people[0], properties={"category": "shoes", "price": 30})
    EventFactory(profile=people[2], properties={"category": "shoes", "price": 30})
    tree = {
        "all": [
            {
                "event": "purchase",
                "where": {"all": [{"field": "properties.category", "op": "eq", "value": "shoes"}]},
                "count": {"op": "gte", "value": 2},
                "within_days": 90,
            }
        ]
    }
    segment = segment_create(site=site, key="shoes", name="Shoes", criteria=tree)
    assert segment_count(segment=segment) == 1


def test_count_is_site_scoped(site, other_site, people):
    ProfileFactory(site=other_site, user_id="u-1", traits={"city": "Detroit"})
    segment = segment_create(site=site, key="detroit", name="Detroit", criteria=DETROIT)
    assert segment_count(segment=segment) == 3


def test_static_count_and_members(site, people):
    static = segment_create(site=site, key="vip", name="VIP", kind=SegmentKind.STATIC)
    assert static.criteria == {} and static.static_source == StaticSource.UPLOAD
    for user_id in ["u-1", "u-9"]:
        StaticMember.objects.create(segment=static, user_id=user_id)
    assert segment_count(segment=static) == 2
    members = list(segment_members(segment=static))
    assert [m["user_id"] for m in members] == ["u-1", "u-9"]
    assert members[0]["traits"]["city"] == "Detroit" and members[1]["traits"] is None


def test_snapshot_freezes_members(site, people):
    segment = segment_create(
        site=site, key="detroit", name="Detroit", criteria=DETROIT, status=SegmentStatus.ACTIVE
    )
    snapshot = segment_snapshot(segment=segment)
    assert snapshot.kind == SegmentKind.STATIC and snapshot.static_source == StaticSource.SNAPSHOT
    assert snapshot.snapshot_of == segment and snapshot.status == SegmentStatus.ACTIVE
    assert set(snapshot.static_members.values_list("user_id", flat=True)) == {"u-1", "u-3", "u-4"}
    ProfileFactory(site=site, user_id="u-new", traits={"city": "Detroit"})
    assert segment_count(segment=snapshot) == 3
    assert segment_count(segment=segment) == 4
    again = segment_snapshot(segment=segment, key="frozen", name="Frozen")
    assert again.key == "frozen" and segment_count(segment=again) == 4
    with pytest.raises(ValidationError):
        segment_snapshot(segment=snapshot)


def test_segments_matching(site):
    SegmentFactory(site=site, key="detroit", criteria=DETROIT)
    SegmentFactory(site=site, key="women", criteria=WOMEN)
    SegmentFactory(site=site, key="draft", criteria={"all": []}, status=SegmentStatus.DRAFT)
    SegmentFactory(
        site=site, key="dw", criteria={"all": [{"segment": "detroit"}, {"segment": "women"}]}
    )
    SegmentFactory(
        site=site,
        key="broken",
        criteria={"all": [{"field": "profile.nope", "op": "eq", "value": 1}]},
    )
    doc = {
        "visitor": {"id": "v1"},
        "profile": {"city": "Detroit", "gender": "female"},
        "context": {},
    }
    assert segments_matching(site=site, document=doc) == ["detroit", "dw", "women"]
    assert segments_matching(site=site, document={"profile": {"city": "Boston"}}) == []


def test_segments_matching_static(site):
    vip = SegmentFactory(site=site, key="vip", kind=SegmentKind.STATIC, criteria={})
    StaticMemberFactory(segment=vip, user_id="u-42")
    doc = {"visitor": {"id": "anon-1", "user_id": "u-42"}, "profile": {}, "context": {}}
    assert segments_matching(site=site, document=doc) == ["vip"]


def test_audience_and_preview(site, people):
    audience = criteria_audience(site=site, criteria=WOMEN, sample=2)
    assert audience.count == 3 and len(audience.sample) == 2
    assert set(audience.sample[0]) == {"user_id", "traits"}
    preview = criteria_preview(
        site=site, criteria=WOMEN, document={"profile": {"gender": "female"}}
    )
    assert preview.matches is True and preview.explanation is not None
    stored = criteria_preview(site=site, criteria=DETROIT, user_id="u-3")
    assert stored.matches is True
    overridden = criteria_preview(
        site=site, criteria=DETROIT, user_id="u-3", document={"profile": {"city": "Boston"}}
    )
    assert overridden.matches is False


def test_revision_for_every_service_change(site):
    segment = segment_create(site=site, key="a", name="A")
    segment_update(segment=segment, name="B", criteria=WOMEN, status="active")
    assert SegmentRevision.objects.filter(segment=segment).count() == 2


def test_changes_to_active_segments_bump_the_site_config(site):
    def version():
        site.refresh_from_db()
        return site.config_version

    start = version()
    draft = segment_create(site=site, key="draft", name="Draft", criteria=DETROIT)
    segment_update(segment=draft, name="Still a draft")
    assert version() == start  # delivery ignores drafts
    segment_update(segment=draft, status=SegmentStatus.ACTIVE)
    assert version() == start + 1
    segment_update(segment=draft, criteria=WOMEN)
    assert version() == start + 2
    segment_archive(segment=draft)
    assert version() == start + 3
    field_create(site=site, path="profile.balance", type="number")
    assert version() == start + 4
