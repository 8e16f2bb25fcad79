"""What a snapshot build prepares and what a rebuild reuses."""

from __future__ import annotations

import pytest

from delivery.snapshot import snapshot_build
from segments.criteria import Rule, compile_cache_clear
from segments.models import Segment, StaticMember
from segments.services.segments import segment_update

pytestmark = pytest.mark.django_db


def test_a_build_prepares_the_every_slot_decide_and_the_targeted_rules(config, site):
    snapshot = snapshot_build(site.pk)
    assert "targeted_rule_set" in vars(snapshot) and "resolution_programs" in vars(snapshot)
    _, known = snapshot.targeted_rule_set
    assert set(known) == set(snapshot.published.segment_keys) & set(snapshot.rules)
    for key, rule in snapshot.rules.items():
        assert isinstance(rule, Rule)
        # targeted rules have their code; the others generate it on first use
        assert (rule._fn is not None) is (key in known)


def test_a_rebuild_reuses_the_rules_of_unchanged_segments(config, site):
    compile_cache_clear()
    first = snapshot_build(site.pk)
    again = snapshot_build(site.pk)  # e.g. after a publish that changed only content
    assert all(again.rules[k] is first.rules[k] for k in first.rules)

    segment_update(
        segment=Segment.objects.get(site=site, key="detroit"),
        criteria={"all": [{"field": "context.city", "op": "eq", "value": "Boston"}]},
    )
    StaticMember.objects.create(segment=Segment.objects.get(site=site, key="vip"), user_id="u-2")
    changed = snapshot_build(site.pk)
    assert {k for k in first.rules if changed.rules[k] is not first.rules[k]} == {"detroit", "vip"}
    assert changed.rules["detroit"].matches({"context": {"city": "Boston"}}) is True
    assert changed.rules["vip"].matches({"visitor": {"user_id": "u-2"}}) is True
    assert first.rules["vip"].matches({"visitor": {"user_id": "u-2"}}) is False
