"""One selector compiles a site's segments; a broken stored segment is set aside, never raised.

Delivery snapshots, `segments_matching` and the admin's content preview all go through
`site_segment_rules`, so each must report (or skip) a broken segment the same way."""

import pytest

from content.preview import preview_visitor
from delivery.snapshot import snapshot_build
from segments.criteria import Rule
from segments.models import Segment, SegmentKind, SegmentStatus
from segments.selectors import definitions
from segments.selectors.definitions import site_segment_rules
from segments.selectors.preview import segments_matching
from tests.segments.factories import SegmentFactory, StaticMemberFactory

pytestmark = pytest.mark.django_db

DETROIT = {"all": [{"field": "profile.city", "op": "eq", "value": "Detroit"}]}
DOC = {"visitor": {"id": "v-1", "user_id": "u-1"}, "profile": {"city": "Detroit"}, "context": {}}
# Stored trees that no longer compile, each for a different reason.
BROKEN = {
    "gone-field": {"all": [{"field": "profile.removed", "op": "eq", "value": 1}]},
    "not-an-object": [{"field": "profile.city", "op": "is_set"}],
    "bad-count-op": {"event": "purchase", "count": {"op": ["gte"], "value": 1}},
}


@pytest.fixture
def segments(site):
    SegmentFactory(site=site, key="detroit", criteria=DETROIT)
    SegmentFactory(site=site, key="draft", criteria=DETROIT, status=SegmentStatus.DRAFT)
    vip = SegmentFactory(site=site, key="vip", kind=SegmentKind.STATIC, criteria={})
    StaticMemberFactory(segment=vip, user_id="u-1")
    for key, tree in BROKEN.items():
        SegmentFactory(site=site, key=key, criteria=tree)


def test_compiles_active_segments_and_sets_broken_ones_aside(site, segments):
    rules, broken = site_segment_rules(site=site)
    assert sorted(rules) == ["detroit", "vip"]
    assert all(isinstance(rule, Rule) for rule in rules.values())
    assert rules["vip"].matches(DOC)  # static members are loaded for matches()
    assert sorted(broken) == sorted(BROKEN)
    assert "Unknown field 'profile.removed'" in broken["gone-field"]
    assert "must be a JSON object" in broken["not-an-object"]
    assert "Unknown count operator" in broken["bad-count-op"]


def test_keys_choose_the_segments_and_unknown_ones_are_broken(site, segments):
    rules, broken = site_segment_rules(site=site, keys=["draft", "missing"])
    assert list(rules) == ["draft"]
    assert broken == {"missing": "unknown segment"}


def test_a_site_without_segments_runs_no_compile(site, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert site_segment_rules(site=site) == ({}, {})


def test_a_long_chain_of_references_is_broken_not_a_crash(site):
    depth = 400  # deeper than Python's recursion limit allows the parser to follow
    Segment.objects.bulk_create(
        Segment(site=site, key=f"s{i}", name=f"s{i}", criteria={"all": [{"segment": f"s{i + 1}"}]})
        for i in range(depth)
    )
    SegmentFactory(site=site, key=f"s{depth}", criteria={"all": []})
    rules, broken = site_segment_rules(site=site, keys=["s0", f"s{depth - 1}"])
    assert list(rules) == [f"s{depth - 1}"]
    assert "nested too deeply" in broken["s0"]


def test_an_unforeseen_compiler_error_is_broken_too(site, segments, monkeypatch):
    real = definitions.compile_criteria

    def compile_criteria(tree, **kwargs):
        if kwargs.get("segment_key") == "detroit":
            raise TypeError("a shape validation did not foresee")
        return real(tree, **kwargs)

    monkeypatch.setattr(definitions, "compile_criteria", compile_criteria)
    rules, broken = site_segment_rules(site=site)
    assert "detroit" not in rules
    assert broken["detroit"] == "a shape validation did not foresee"


def test_every_caller_reports_a_broken_segment_instead_of_raising(site, segments):
    # delivery: the snapshot lists it as broken and never as active
    snapshot = snapshot_build(site.pk)
    assert sorted(snapshot.broken_segments) == sorted(BROKEN)
    assert snapshot.active_segments == ("detroit", "vip")
    assert sorted(snapshot.rules) == ["detroit", "vip"]
    # segments: a broken segment matches no one
    assert segments_matching(site=site, document=DOC) == ["detroit", "vip"]
    # content preview (the admin's "preview as visitor")
    assert preview_visitor(site=site, document=DOC).matched_segments == ["detroit", "vip"]
