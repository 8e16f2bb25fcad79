"""The pure engine: Snapshot + decide() without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import MappingProxyType

from content.published import PublishedSite, PublishedSlot, PublishedVariant
from delivery.engine import Snapshot, decide, membership, visitor_document
from segments.criteria import compile_criteria

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def variant(key, segment=None, priority=100, payload=None, **kw):
    return PublishedVariant(
        key=key,
        name=key,
        segment_key=segment,
        priority=priority,
        starts_at=kw.get("starts_at"),
        ends_at=kw.get("ends_at"),
        payload=payload or {"kind": "text", "body": key},
    )


def snapshot(rules=None, **slots):
    placements = {
        key: PublishedSlot(
            key=key,
            kind="placement",
            revision=1,
            targeted=tuple(t),
            default=variant(f"{key}-default"),
        )
        for key, t in slots.items()
    }
    screen = PublishedSlot(
        key="home",
        kind="screen",
        revision=1,
        targeted=(),
        default=variant("home-default", payload={"design": {"root": {"type": "X"}}}),
    )
    segment_keys = frozenset(v.segment_key for s in placements.values() for v in s.targeted)
    published = PublishedSite(
        site_id=1,
        version=3,
        placements=MappingProxyType(placements),
        screens=MappingProxyType({"home": screen}),
        segment_keys=segment_keys,
    )
    rules = rules or {}
    return Snapshot(
        site_id=1, version=3, published=published, rules=rules, active_segments=tuple(sorted(rules))
    )


def rule(field, value):
    return compile_criteria({"all": [{"field": field, "op": "eq", "value": value}]})


def doc(**context):
    return {"visitor": {"id": "v"}, "profile": {}, "context": context, "events": []}


def test_priority_schedule_and_default():
    snap = snapshot(
        {"a": rule("context.city", "A"), "b": rule("context.weather", "rain")},
        hero=[
            variant("later", "a", 0, starts_at=NOW + timedelta(days=1)),
            variant("city", "a", 1),
            variant("rain", "b", 2),
        ],
    )
    assert (
        decide(snap, doc(city="A", weather="rain"), now=NOW)["placements"]["hero"]["variant"]
        == "city"
    )
    assert decide(snap, doc(weather="rain"), now=NOW)["placements"]["hero"]["variant"] == "rain"
    out = decide(snap, doc(), now=NOW)
    assert out["placements"]["hero"] == {
        "variant": "hero-default",
        "content": {"kind": "text", "body": "hero-default"},
        "reason": {"kind": "default"},
    }
    assert out["screens"]["home"]["design"] == {"root": {"type": "X"}}
    assert (
        decide(snap, doc(city="A"), now=NOW + timedelta(days=2))["placements"]["hero"]["variant"]
        == "later"
    )


class Counting:
    def __init__(self, result):
        self.calls, self.result = 0, result

    def matches(self, doc, now=None):
        self.calls += 1
        return self.result


def test_each_rule_runs_at_most_once_and_only_when_needed():
    seen, unused = Counting(False), Counting(True)
    snap = snapshot({"s": seen, "unused": unused}, p1=[variant("x", "s")], p2=[variant("y", "s")])
    decide(snap, doc(), now=NOW)
    assert seen.calls == 1 and unused.calls == 0


def test_unknown_and_failing_rules_do_not_match():
    class Boom:
        def matches(self, doc, now=None):
            raise ZeroDivisionError

    snap = snapshot({"boom": Boom()}, hero=[variant("x", "boom"), variant("y", "missing")])
    assert decide(snap, doc(), now=NOW)["placements"]["hero"]["variant"] == "hero-default"
    is_member = membership(snap, doc())
    assert is_member("missing") is False and is_member("boom") is False


def test_selection_and_unknown_keys():
    snap = snapshot(hero=[], side=[])
    out = decide(snap, doc(), now=NOW, placements=("side", "nope"))
    assert list(out["placements"]) == ["side"] and out["screens"] == {}
    assert out["unknown"] == {"placements": ["nope"]}
    out = decide(snap, doc(), now=NOW, screens=("home",))
    assert out["placements"] == {} and list(out["screens"]) == ["home"]


def test_explain_evaluates_every_active_segment():
    snap = snapshot(
        {"a": rule("context.city", "A"), "z": rule("context.city", "A")}, hero=[variant("x", "a")]
    )
    out = decide(snap, doc(city="A"), now=NOW, explain=True)
    assert out["explain"]["segments"] == ["a", "z"]
    assert out["explain"]["placements"]["hero"]["trace"] == [
        {"variant": "x", "segment": "a", "scheduled": True, "matched": True}
    ]


def test_visitor_document():
    anon = visitor_document(
        visitor_id="a",
        user_id=None,
        consent=True,
        stored=None,
        inline_profile={"age": 3},
        context={"c": 1},
        visitor_extra={"visit_count": 2},
    )
    assert anon["visitor"] == {
        "id": "a",
        "anonymous_id": "a",
        "is_known": False,
        "consent": True,
        "visit_count": 2,
    }
    assert anon["profile"] == {"age": 3} and anon["events"] == []
    known = visitor_document(
        visitor_id="a",
        user_id="u",
        consent=True,
        inline_profile={"age": 3},
        context={},
        stored={
            "traits": {"age": 9, "city": "X"},
            "visit_count": 4,
            "first_seen": NOW,
            "last_seen": NOW,
            "recent_events": [{"name": "e"}],
        },
        visitor_extra={"visit_count": 99},
    )
    assert (
        known["visitor"]["id"] == "u"
        and known["visitor"]["user_id"] == "u"
        and known["visitor"]["is_known"]
    )
    assert known["visitor"]["visit_count"] == 4 and known["visitor"]["first_seen"] == NOW
    assert known["profile"] == {"age": 3, "city": "X"} and known["events"] == [{"name": "e"}]


def test_agrees_with_content_resolution():
    import random

    from content.resolution import resolve_all

    rng = random.Random(3)
    rules = {f"s{i}": rule("profile.age", i) for i in range(8)}
    slots = {
        f"p{j}": [
            variant(
                f"p{j}v{k}",
                f"s{rng.randrange(10)}",
                k,
                starts_at=NOW + timedelta(hours=1) if rng.random() < 0.2 else None,
            )
            for k in range(4)
        ]
        for j in range(6)
    }
    snap = snapshot(rules, **slots)
    for n in range(10):
        d = {**doc(), "profile": {"age": n}}
        is_member = membership(snap, d, NOW)
        expected = resolve_all(snap.published, is_member, NOW)
        got = decide(snap, d, now=NOW)
        for kind in ("placements", "screens"):
            assert {k: v["variant"] for k, v in got[kind].items()} == {
                k: r.variant.key for k, r in expected[kind].items()
            }
            assert {k: v["reason"] for k, v in got[kind].items()} == {
                k: r.reason for k, r in expected[kind].items()
            }


def test_encode_matches_json_dumps():
    import json

    from delivery.engine import encode

    snap = snapshot({"a": rule("context.city", "A")}, hero=[variant("x", "a")], side=[])
    body = {"visitor_id": "v\u00e9", **decide(snap, doc(city="A"), now=NOW, explain=True)}
    assert json.loads(encode(snap, body)) == json.loads(json.dumps(body, default=str))
