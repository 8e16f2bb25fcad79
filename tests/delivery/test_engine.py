"""The pure engine: Snapshot + decide() without a database."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

from content.published import PublishedSite, PublishedSlot, PublishedVariant
from delivery.engine import Snapshot, decide, membership, prepare_document, visitor_document
from segments.criteria import StaticSegment, compile_criteria

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
        "language": "en",
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
    # Not bucketed yet: the anonymous id is the unit (the visit record will fix it).
    assert (
        known["visitor"]["id"] == "a"
        and known["visitor"]["user_id"] == "u"
        and known["visitor"]["is_known"]
    )
    assert known["visitor"]["visit_count"] == 4 and known["visitor"]["first_seen"] == NOW
    assert known["profile"] == {"age": 3, "city": "X"} and known["events"] == [{"name": "e"}]
    stored = {"traits": {}, "visit_count": 1, "bucketing_id": "first-anon"}
    for anon in ("a", None):
        again = visitor_document(
            visitor_id=anon, user_id="u", consent=True, inline_profile={}, context={}, stored=stored
        )
        assert again["visitor"]["id"] == "first-anon"  # on every device
    direct = visitor_document(
        visitor_id=None, user_id="u", consent=True, inline_profile={}, context={}, stored=None
    )
    assert direct["visitor"]["id"] == "u"


def test_agrees_with_content_resolution():
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


# --- explain: every active segment through the snapshot's RuleSet ------------------------------


def c(field, op, value=None, **kw):
    node = {"field": field, "op": op, **kw}
    if value is not None:
        node["value"] = value
    return node


VARIED_SEGMENTS = {
    "city": {"all": [c("context.city", "eq", "Detroit")]},
    "cities": {"all": [c("context.city", "in", ["Boston", "austin"])]},
    "city-exact": {"all": [c("context.city", "eq", "detroit", case_sensitive=True)]},
    "not-detroit": {"all": [c("context.city", "neq", "Detroit")]},
    "no-city": {"all": [c("context.city", "is_not_set")]},
    "adults": {"all": [c("profile.age", "between", [18, 35]), c("profile.gender", "eq", "female")]},
    "seniors": {"all": [c("profile.age", "gte", 60)]},
    "ios17": {"all": [c("context.os", "eq", "iOS"), c("context.os_version", "gte", "17.2")]},
    "shoes": {"all": [c("profile.interests", "contains_any", ["shoes", "bags"])]},
    "readers": {"all": [c("profile.interests", "contains_all", ["books", "music"])]},
    "small-spenders": {"all": [c("profile.lifetime_value", "lt", 50)]},
    "rainy-evening": {
        "all": [
            c("context.weather", "in", ["rain", "snow"]),
            c("context.local_time", "hour_between", [18, 6]),
        ]
    },
    "weekend": {"all": [c("context.local_time", "day_of_week_in", ["sat", "sunday"])]},
    "buyers": {
        "all": [
            {
                "event": "purchase",
                "count": {"op": "gte", "value": 1},
                "within_days": 30,
                "where": {"all": [c("properties.price", "lt", 50)]},
            }
        ]
    },
    "browsers": {"all": [{"event": "view", "count": {"op": "gte", "value": 3}}]},
    "never-bought": {"all": [{"event": "purchase", "count": {"op": "eq", "value": 0}}]},
    "rollout": {"all": [{"rollout": 30}]},
    "mobile-rollout": {"all": [{"rollout": 60}, c("context.device_type", "eq", "mobile")]},
    "tablet-or-car": {
        "any": [
            c("context.device_type", "eq", "tablet"),
            c("context.in_car", "is_true"),
            c("context.landing_page", "starts_with", "/college"),
        ]
    },
    "not-us-gold": {
        "none": [
            c("context.country", "eq", "US"),
            c("profile.loyalty_tier", "in", ["gold", "platinum"]),
        ]
    },
    "detroit-google": {"all": [{"segment": "city"}, c("context.utm_source", "eq", "google")]},
    "promo-pages": {"all": [c("context.landing_page", "matches", "^/(promo|sale)/[0-9]+$")]},
    "regulars": {"all": [c("visitor.visit_count", "gte", 3), c("visitor.is_known", "is_true")]},
    "new": {"all": [c("visitor.first_seen", "within_last", {"days": 30})]},
    "near-detroit": {
        "all": [c("context.location", "within_km", {"lat": 42.33, "lng": -83.05, "km": 50})]
    },
    "from-google": {"all": [c("context.referrer", "contains", "google")]},
    "english": {"all": [c("context.language", "starts_with", "en")]},
    "app": {"all": [c("context.channel", "eq", "app")]},
    "nested": {
        "all": [
            {"any": [c("profile.age", "lt", 25), c("profile.city", "eq", "Chicago")]},
            {"none": [c("context.weather", "eq", "clear")]},
        ]
    },
    "vips": StaticSegment(key="vips", user_ids=frozenset({"u-3", "u-42", "u-99", "anon-4"})),
}


def varied_documents(n, seed=5):
    """Visitor documents as decide builds them, with missing, odd and mistyped values."""
    rng = random.Random(seed)
    pick = rng.choice
    docs = []
    for i in range(n):
        known = i % 3 == 0
        visitor = {"id": f"u-{i}" if known else f"anon-{i}", "is_known": known, "consent": True}
        if known:
            visitor["user_id"] = f"u-{i}"
            visitor["visit_count"] = pick([0, 1, 3, 9, "4"])
            visitor["first_seen"] = (NOW - timedelta(days=rng.randint(0, 90))).isoformat()
        context = {
            "city": pick(["Detroit", "detroit", "DETROIT", "Boston", "Austin", None, 7, "Ümeå"]),
            "weather": pick(["rain", "snow", "clear", None]),
            "device_type": pick(["mobile", "tablet", "desktop"]),
            "os": pick(["iOS", "ios", "Android"]),
            "os_version": pick(["17.1", "17.2", "17.10", "v18", "x", 17]),
            "local_time": pick(
                [
                    "2026-11-22T19:05:00-05:00",
                    "2026-11-21T03:00:00+01:00",
                    "2026-11-24T12:00:00",
                    "not a time",
                ]
            ),
            "in_car": pick([True, False, "true"]),
            "landing_page": pick(["/", "/college/1", "/promo/12", "/sale/x"]),
            "country": pick(["US", "CA"]),
            "utm_source": pick(["google", "newsletter"]),
            "referrer": pick(["https://www.google.com/", "https://example.org/"]),
            "language": pick(["en-US", "fr-FR", "EN"]),
            "channel": pick(["app", "web"]),
            "location": pick([{"lat": 42.3, "lng": -83.0}, {"lat": 40.7, "lng": -74.0}, "x"]),
        }
        for key in rng.sample(sorted(context), rng.randint(0, 4)):
            del context[key]
        profile = {
            "age": pick([16, 22, 30, 61, 70, "30", None]),
            "gender": pick(["female", "male"]),
            "interests": rng.sample(["shoes", "bags", "books", "music", "food"], rng.randint(0, 3)),
            "lifetime_value": pick([0, 20, 49.5, 120, float("nan")]),
            "loyalty_tier": pick(["bronze", "gold"]),
            "city": pick(["Chicago", "Denver"]),
        }
        events = [
            {
                "name": pick(["purchase", "view", "click"]),
                "properties": {"price": pick([5, 49, 50, 120, "12"])},
                "timestamp": (NOW - timedelta(days=rng.randint(0, 60))).isoformat(),
            }
            for _ in range(rng.randint(0, 8) if known else 0)
        ]
        docs.append({"visitor": visitor, "profile": profile, "context": context, "events": events})
    return docs


def compiled_segments():
    """As snapshot_build compiles them: a static segment through a reference to itself."""
    rules = {}
    for key, tree in VARIED_SEGMENTS.items():
        if isinstance(tree, dict):
            rules[key] = compile_criteria(tree, segments=VARIED_SEGMENTS, segment_key=key)
        else:
            rules[key] = compile_criteria({"segment": key}, segments=VARIED_SEGMENTS)
    return rules


class RuleByRule:
    """Not a criteria Rule: a snapshot of these evaluates explain rule by rule."""

    def __init__(self, rule):
        self.rule = rule

    def matches(self, doc, now=None):
        return self.rule.matches(doc, now)


def test_explain_through_the_rule_set_answers_as_rule_by_rule():
    rules = compiled_segments()
    slots = {"hero": [variant("h-rain", "rainy-evening"), variant("h-city", "city")]}
    batch = snapshot(rules, **slots)
    single = snapshot({k: RuleByRule(r) for k, r in rules.items()}, **slots)
    assert batch.active_rule_set is not None and single.active_rule_set is None
    counts = set()
    for raw in varied_documents(300):
        d = prepare_document(raw)
        is_member = membership(single, d, NOW)
        expected = [k for k in single.active_segments if is_member(k)]
        counts.add(len(expected))
        assert batch.active_rule_set.matching(d, NOW) == expected  # the set itself, no fallback
        only_explain = decide(batch, d, now=NOW, placements=(), screens=(), explain=True)
        assert only_explain["explain"]["segments"] == expected
        assert decide(batch, d, now=NOW, explain=True) == decide(single, d, now=NOW, explain=True)
    assert len(counts) > 5  # the documents match varied numbers of segments


def test_explain_goes_rule_by_rule_when_the_rule_set_raises():
    class Raising:
        def matching(self, doc, now=None):
            raise ZeroDivisionError

    snap = snapshot({"a": rule("context.city", "A"), "b": rule("context.city", "B")})
    vars(snap)["active_rule_set"] = Raising()  # what the cached property would hold
    out = decide(snap, doc(city="A"), now=NOW, explain=True)
    assert out["explain"]["segments"] == ["a"]
