from datetime import UTC, datetime, timedelta

from content.published import PublishedSlot, PublishedVariant, site_from_slots
from content.resolution import resolve_all, resolve_slot

NOW = datetime(2026, 11, 22, 19, 0, tzinfo=UTC)


def variant(key, segment=None, priority=100, starts_at=None, ends_at=None):
    return PublishedVariant(
        key=key,
        name=key,
        segment_key=segment,
        priority=priority,
        starts_at=starts_at,
        ends_at=ends_at,
        payload={"kind": "text", "body": key},
    )


def slot(*targeted, key="hero"):
    return PublishedSlot(
        key=key,
        kind="placement",
        revision=1,
        targeted=tuple(sorted(targeted, key=lambda v: (v.priority, v.key))),
        default=variant("default"),
    )


def members(*keys):
    return lambda key: key in keys


def test_first_matching_variant_by_priority_wins():
    s = slot(variant("b", "seg-b", priority=20), variant("a", "seg-a", priority=10))
    res = resolve_slot(s, members("seg-a", "seg-b"), NOW)
    assert res.variant.key == "a"
    assert res.reason == {"kind": "segment", "segment": "seg-a"}
    assert resolve_slot(s, members("seg-b"), NOW).variant.key == "b"


def test_default_when_no_segment_matches():
    res = resolve_slot(slot(variant("a", "seg-a")), members(), NOW)
    assert res.variant.key == "default"
    assert res.reason == {"kind": "default"}


def test_active_dates_are_respected():
    future = variant("future", "seg", priority=1, starts_at=NOW + timedelta(hours=1))
    past = variant("past", "seg", priority=2, ends_at=NOW)
    current = variant(
        "current",
        "seg",
        priority=3,
        starts_at=NOW - timedelta(days=1),
        ends_at=NOW + timedelta(days=1),
    )
    s = slot(future, past, current)
    assert resolve_slot(s, members("seg"), NOW).variant.key == "current"
    assert resolve_slot(s, members("seg"), NOW + timedelta(hours=2)).variant.key == "future"
    assert resolve_slot(s, members("seg"), NOW + timedelta(days=2)).variant.key == "future"
    # Before `past` ended (ends_at is exclusive), it was the first active one.
    assert resolve_slot(s, members("seg"), NOW - timedelta(days=2)).variant.key == "past"
    assert resolve_slot(s, members(), NOW).variant.key == "default"


def test_inactive_segments_never_match():
    # Delivery compiles active segments only: is_member is False for draft/archived ones.
    active = {"active-seg"}
    s = slot(
        variant("archived", "archived-seg", priority=1), variant("live", "active-seg", priority=2)
    )
    assert resolve_slot(s, lambda k: k in active, NOW).variant.key == "live"


def test_resolve_all_selects_slots():
    site = site_from_slots(
        site_id=1,
        version=3,
        placements=[slot(variant("a", "seg"), key="hero"), slot(key="offers")],
        screens=[PublishedSlot("home", "screen", 2, (), variant("d"))],
    )
    assert site.segment_keys == frozenset({"seg"})
    out = resolve_all(site, members("seg"), NOW)
    assert set(out["placements"]) == {"hero", "offers"}
    assert out["placements"]["hero"].variant.key == "a"
    assert out["screens"]["home"].variant.key == "d"
    only = resolve_all(site, members(), NOW, placements=["hero", "nope"], screens=[])
    assert set(only["placements"]) == {"hero"} and only["screens"] == {}
