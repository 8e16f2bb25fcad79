"""Property: for random trees, profiles and events, matches(profile_document(p)) is exactly
membership in Profile.objects.filter(rule.to_q()) — on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segments.criteria import StaticSegment, compile_criteria
from segments.documents import profile_document
from segments.models import Event, Profile, Segment, StaticMember

NOW = datetime(2026, 11, 22, 12, 0, 0, 250000, tzinfo=UTC)
FIELDS = {"profile.address.city": "string", "context.plan": "enum"}

TEXTS = [
    "Detroit",
    "detroit",
    "DETROIT",
    "Détroit",
    "DÉTROIT",
    "Ann Arbor",
    "ann",
    "roit",
    "École",
    "école",
    "x",
    "",
    "A_b%",
    "straße",
    "Ωmega",
    "ωMEGA",
    "😀 smile",
]
NUMBERS = [0, 1, -3, 20, 25.5, 27, 27.5, 30, 30.0, 1000000, 49.99]
DATES = ["1990-05-01", "2000-02-29", "2026-11-20", "2026-11-22", "2026-10-01", "1999-12-31"]
TIMES = [
    "2026-11-22T19:05:00-05:00",
    "2026-11-22T23:30:00+02:00",
    "2026-11-21T06:00:00Z",
    "2026-11-22T11:59:59.750000Z",
    "2026-11-15 08:00:00",
    "2026-11-22",
    "2026-11-22T05:59:00+14:00",
]
BAD_WHEN = ["2026-02-30", "2026-11-22T24:00:00Z", "yesterday", "2026-1-2", 20261122]
VERSIONS = [
    "17.2",
    "17.10",
    "17.9",
    "17",
    "3",
    "3.2",
    "3.2.0",
    "v3.10.1",
    "3.2.0-beta",
    "10",
    "abc",
    "",
]
MISTYPED = [None, True, False, "27", 27, ["a"], {"a": 1}]
# Values of the wrong JSON type that a field may still read as its own type (docs/criteria.md
# "Coercion"), and look-alikes that it must not.
COERCIBLE = [
    " 27 ",
    "27.5",
    "-3",
    "+20",
    "1000000",
    "49.990",
    "abc",
    "1e3",
    "NaN",
    "Infinity",
    "27\u00a0",
    "\u0662\u0667",
    "1234567890123456",
    "0x1A",
    "true",
    " FALSE ",
    "True\n",
    "yes",
    "1",
    17,
    3,
    -1,
    17.0,
    0,
]
INTERESTS = ["shoes", "Shoes", "books", "travel", "Travel", "é"]
GEO = [
    {"lat": 42.33, "lng": -83.05},
    {"lat": 40.71, "lng": -74.0},
    {"lat": 42.28, "lng": -83.74},
    {"lat": "42", "lng": -83},
    {"lat": 42.33},
]

texts, numbers = st.sampled_from(TEXTS), st.sampled_from(NUMBERS)
mistyped = st.sampled_from(MISTYPED + COERCIBLE)


def _value(*good):
    return st.one_of(*good, mistyped)


trait_values = {
    "age": _value(numbers),
    "lifetime_value": _value(numbers),
    "city": _value(texts),
    "gender": _value(st.sampled_from(["female", "male", "Female", "unknown"])),
    "birth_date": _value(st.sampled_from(DATES + TIMES + BAD_WHEN)),
    "interests": _value(st.lists(st.one_of(st.sampled_from(INTERESTS), st.just(3)), max_size=4)),
    "address": st.one_of(st.fixed_dictionaries({"city": _value(texts)}), mistyped),
}
context_values = {
    "referrer": _value(texts),
    "weather": _value(st.sampled_from(["rain", "Rain", "clear", "snow"])),
    "os_version": _value(st.sampled_from(VERSIONS)),
    "local_time": _value(st.sampled_from(TIMES + BAD_WHEN)),
    "location": _value(st.sampled_from(GEO)),
    "in_car": _value(st.booleans()),
    "plan": _value(st.sampled_from(["pro", "Pro", "free"])),
}


def _partial(values):
    return st.fixed_dictionaries({}, optional=values)


moments = st.integers(min_value=-200 * 86400, max_value=2 * 86400).map(
    lambda s: NOW + timedelta(seconds=s, microseconds=(s * 7919) % 1000000)
)
events = st.lists(
    st.fixed_dictionaries(
        {
            "name": st.sampled_from(["purchase", "view", "Purchase"]),
            "properties": _partial(
                {"price": _value(numbers), "category": _value(texts), "gift": _value(st.booleans())}
            ),
            "occurred_at": st.one_of(moments, st.sampled_from([NOW - timedelta(days=30)])),
        }
    ),
    max_size=4,
)
profiles = st.lists(
    st.fixed_dictionaries(
        {
            "traits": _partial(trait_values),
            "last_context": _partial(context_values),
            "visit_count": st.integers(0, 50),
            "consent": st.booleans(),
            "first_seen": moments,
            "last_seen": moments,
            "events": events,
        }
    ),
    min_size=1,
    max_size=6,
)

# -- trees ----------------------------------------------------------------------------------
cs = st.booleans()


def cond(field, op, value=None, **extra):
    node = {"field": field, "op": op}
    if value is not None:
        node["value"] = value
    node.update(extra)
    return st.just(node)


def _c(field, ops_values):
    return st.one_of(
        *[
            st.builds(lambda v, c, o=op: {"field": field, "op": o, "value": v, **c}, vals, extra)
            for op, vals, extra in ops_values
        ]
    )


no_cs = st.just({})
with_cs = st.one_of(st.just({}), st.builds(lambda b: {"case_sensitive": b}, st.booleans()))
nonempty_texts = st.sampled_from([t for t in TEXTS if t])


def string_conditions(field):
    return _c(
        field,
        [
            ("eq", texts, with_cs),
            ("neq", texts, with_cs),
            ("in", st.lists(texts, min_size=1, max_size=3), with_cs),
            ("not_in", st.lists(texts, min_size=1, max_size=3), with_cs),
            ("contains", texts, with_cs),
            ("not_contains", texts, with_cs),
            ("starts_with", texts, with_cs),
            ("ends_with", texts, with_cs),
            ("matches", st.sampled_from(["^det", "roit$", "[0-9]", "a|b", "^$", "o.*o"]), with_cs),
        ],
    )


def number_conditions(field):
    pair = st.lists(numbers, min_size=2, max_size=2).map(sorted)
    return _c(
        field,
        [(op, numbers, no_cs) for op in ("eq", "neq", "lt", "lte", "gt", "gte")]
        + [
            ("between", pair, no_cs),
            ("in", st.lists(numbers, min_size=1, max_size=3), no_cs),
            ("not_in", st.lists(numbers, min_size=1, max_size=3), no_cs),
        ],
    )


durations = st.sampled_from([{"days": 7}, {"hours": 36}, {"weeks": 2}, {"days": 0.5}])


def when_conditions(field, kind):
    vals = st.sampled_from(DATES if kind == "date" else TIMES)
    pairs = st.lists(vals, min_size=2, max_size=2).map(sorted)
    ops = [(op, vals, no_cs) for op in ("eq", "neq", "lt", "lte", "gt", "gte")]
    ops += [
        ("between", pairs.filter(lambda p: compile_ok(field, "between", p)), no_cs),
        ("within_last", durations, no_cs),
        ("more_than_ago", durations, no_cs),
        (
            "day_of_week_in",
            st.lists(st.one_of(st.integers(1, 7), st.just("sat")), min_size=1, max_size=3),
            no_cs,
        ),
    ]
    if kind == "datetime":
        hours = st.tuples(st.integers(0, 23), st.integers(0, 24)).filter(lambda t: t[0] != t[1])
        ops.append(("hour_between", hours.map(list), no_cs))
    return _c(field, ops)


def compile_ok(field, op, value):
    try:
        compile_criteria({"field": field, "op": op, "value": value}, fields=FIELDS)
        return True
    except Exception:
        return False


def version_conditions(field):
    good = st.sampled_from([v for v in VERSIONS if v not in ("abc", "")])
    return _c(
        field,
        [(op, good, no_cs) for op in ("eq", "neq", "lt", "lte", "gt", "gte")]
        + [("between", st.just(["3.2", "17.9"]), no_cs)],
    )


def set_conditions(field):
    return st.sampled_from(["is_set", "is_not_set"]).map(lambda op: {"field": field, "op": op})


leaves = st.one_of(
    string_conditions("profile.city"),
    string_conditions("context.referrer"),
    string_conditions("profile.address.city"),
    string_conditions("visitor.user_id"),
    _c(
        "profile.gender",
        [
            ("eq", st.sampled_from(["female", "male"]), with_cs),
            ("in", st.lists(st.sampled_from(["female", "unknown"]), min_size=1), no_cs),
        ],
    ),
    _c("context.plan", [("eq", st.sampled_from(["pro", "free"]), with_cs)]),
    number_conditions("profile.age"),
    number_conditions("profile.lifetime_value"),
    number_conditions("visitor.visit_count"),
    st.sampled_from(
        [
            {"field": f, "op": op}
            for f in ("context.in_car", "visitor.consent", "visitor.is_known")
            for op in ("is_true", "is_false")
        ]
    ),
    _c("context.in_car", [("eq", st.booleans(), no_cs), ("neq", st.booleans(), no_cs)]),
    when_conditions("profile.birth_date", "date"),
    when_conditions("context.local_time", "datetime"),
    when_conditions("visitor.first_seen", "datetime"),
    when_conditions("visitor.last_seen", "datetime"),
    version_conditions("context.os_version"),
    _c(
        "profile.interests",
        [
            ("contains_any", st.lists(st.sampled_from(INTERESTS), min_size=1), with_cs),
            ("contains_all", st.lists(st.sampled_from(INTERESTS), min_size=1), with_cs),
        ],
    ),
    _c(
        "context.location",
        [
            (
                "within_km",
                st.sampled_from(
                    [
                        {"lat": 42.33, "lng": -83.05, "km": 50},
                        {"lat": 42.33, "lng": -83.05, "km": 0.001},
                        {"lat": 40.7, "lng": -74.0, "km": 800},
                    ]
                ),
                no_cs,
            )
        ],
    ),
    st.sampled_from(
        [
            "profile.age",
            "profile.city",
            "profile.interests",
            "profile.birth_date",
            "context.location",
            "context.os_version",
            "context.local_time",
            "context.in_car",
            "profile.address.city",
            "visitor.first_seen",
        ]
    ).flatmap(set_conditions),
    st.builds(
        lambda p, s: {"rollout": p, "salt": s},
        st.sampled_from([0, 10, 50, 90, 100]),
        st.sampled_from(["spring", "é-salt"]),
    ),
)

where_leaves = st.one_of(
    _c(
        "properties.price",
        [(op, numbers, no_cs) for op in ("eq", "gt", "lte")]
        + [("in", st.lists(numbers, min_size=1, max_size=2), no_cs)],
    ),
    _c("properties.category", [("eq", texts, with_cs), ("contains", texts, with_cs)]),
    st.sampled_from(
        [{"field": "properties.gift", "op": op} for op in ("is_true", "is_false")]
        + [{"field": "properties.price", "op": op} for op in ("is_set", "is_not_set")]
    ),
)
# Every SQL form of segments.sql.event_form: exists, none, in, not_in, always, never.
count_specs = st.one_of(
    st.none(),
    st.builds(
        lambda op, v: {"op": op, "value": v},
        st.sampled_from(["gte", "gt", "eq", "lte", "lt"]),
        st.integers(0, 4),
    ),
    st.sampled_from([[1, 2], [0, 0], [0, 1], [2, 3], [3, 3]]).map(
        lambda v: {"op": "between", "value": v}
    ),
)


@st.composite
def event_nodes(draw):
    node = {"event": draw(st.sampled_from(["purchase", "view"]))}
    if draw(st.booleans()):
        kind = draw(st.sampled_from(["all", "any", "none"]))
        node["where"] = {kind: draw(st.lists(where_leaves, max_size=2))}
    count = draw(count_specs)
    if count:
        node["count"] = count
    within = draw(st.sampled_from([None, 30, 90, 0.5]))
    if within:
        node["within_days"] = within
    return node


def groups(children):
    return st.builds(
        lambda k, xs: {k: xs},
        st.sampled_from(["all", "any", "none"]),
        st.lists(children, max_size=4),
    )


trees = st.recursive(st.one_of(leaves, event_nodes()), groups, max_leaves=12)


@pytest.fixture
def site(db):
    from tests.factories import SiteFactory

    return SiteFactory(slug="prop", name="Prop")


@pytest.fixture
def vip(site):
    seg = Segment.objects.create(site=site, key="vip", name="VIP", kind="static")
    for uid in ("user0", "u-1-é", "someone-else"):
        StaticMember.objects.create(segment=seg, user_id=uid)
    return StaticSegment("vip", frozenset({"user0", "u-1-é", "someone-else"}), site.pk, seg.pk)


@pytest.mark.django_db
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(tree=trees, people=profiles)
def test_memory_and_sql_agree(site, vip, tree, people):
    segments = {
        "vip": vip,  # static, by segment id in SQL
        "vip-list": StaticSegment("vip-list", frozenset({"user2", "u-3-é"})),  # static, by ids
        "adults-in-detroit": {
            "all": [
                {"field": "profile.age", "op": "gte", "value": 18},
                {"field": "profile.city", "op": "in", "value": ["detroit", "détroit"]},
            ]
        },
    }
    rule = compile_criteria(tree, fields=FIELDS, now=NOW, segments=segments)
    Profile.objects.filter(site=site).delete()
    created = []
    for i, p in enumerate(people):
        prof = Profile.objects.create(
            site=site,
            user_id=f"u-{i}-é" if i % 2 else f"user{i}",
            traits=p["traits"],
            last_context=p["last_context"],
            visit_count=p["visit_count"],
            consent=p["consent"],
            first_seen=p["first_seen"],
            last_seen=p["last_seen"],
        )
        Event.objects.bulk_create(
            Event(
                site=site,
                profile=prof,
                visitor_id=prof.user_id,
                name=e["name"],
                properties=e["properties"],
                occurred_at=e["occurred_at"],
            )
            for e in p["events"]
        )
        created.append(prof)
    # Anonymous events (no profile) never count, and must not disturb NOT IN forms.
    Event.objects.create(site=site, profile=None, visitor_id="anon", name="purchase")
    in_sql = set(Profile.objects.filter(site=site).filter(rule.to_q()).values_list("pk", flat=True))
    for prof in Profile.objects.filter(site=site):
        expected = rule.matches(profile_document(prof))
        assert (prof.pk in in_sql) == expected, (tree, profile_document(prof))


@settings(max_examples=200, deadline=None)
@given(tree=trees, people=profiles)
def test_generated_code_closures_explain_and_ruleset_agree(tree, people):
    """The generated evaluator, the closures behind explain() and RuleSet all agree."""
    from segments.criteria import compile_rules

    rule = compile_criteria(tree, fields=FIELDS, now=NOW, segments=SEGMENTS_NO_DB)
    rs = compile_rules(
        {"a": tree, "b": {"none": [tree]}}, fields=FIELDS, now=NOW, segments=SEGMENTS_NO_DB
    )
    for p in people:
        doc = {
            "visitor": {"id": "v-1", "user_id": "user0", "is_known": True},
            "profile": p["traits"],
            "context": p["last_context"],
            "events": [
                {
                    "name": e["name"],
                    "properties": e["properties"],
                    "timestamp": e["occurred_at"].isoformat(),
                }
                for e in p["events"]
            ],
        }
        expected = rule.matches(doc)
        assert rule.explain(doc)["passed"] is expected
        assert rs.matching(doc) == (["a"] if expected else ["b"])


SEGMENTS_NO_DB = {
    "vip": StaticSegment("vip", frozenset({"user0"})),
    "vip-list": StaticSegment("vip-list", frozenset({"user2"})),
    "adults-in-detroit": {"all": [{"field": "profile.age", "op": "gte", "value": 18}]},
}


# -- coercion: a stored value of the wrong JSON type, read as the field's type -------------
COERCION_CASES = [
    # (field, stored value, condition, expected)
    ("profile.age", "27", {"op": "eq", "value": 27}, True),
    ("profile.age", " 27 ", {"op": "gte", "value": 18}, True),
    ("profile.age", "27.5", {"op": "between", "value": [27, 28]}, True),
    ("profile.age", "-3", {"op": "lt", "value": 0}, True),
    ("profile.age", "27", {"op": "in", "value": [26, 27]}, True),
    ("profile.age", "27", {"op": "is_set"}, True),
    ("profile.age", "abc", {"op": "is_set"}, False),
    ("profile.age", "abc", {"op": "neq", "value": 27}, False),
    ("profile.age", "1e3", {"op": "gt", "value": 0}, False),
    ("profile.age", "NaN", {"op": "neq", "value": 0}, False),
    ("profile.age", "27\u00a0", {"op": "eq", "value": 27}, False),
    ("profile.age", "\u0662\u0667", {"op": "eq", "value": 27}, False),
    ("profile.age", True, {"op": "eq", "value": 1}, False),
    ("profile.age", ["27"], {"op": "is_set"}, False),
    ("context.in_car", "true", {"op": "is_true"}, True),
    ("context.in_car", " FALSE ", {"op": "is_false"}, True),
    ("context.in_car", "True", {"op": "eq", "value": True}, True),
    ("context.in_car", "yes", {"op": "is_set"}, False),
    ("context.in_car", "1", {"op": "is_true"}, False),
    ("context.in_car", 1, {"op": "is_true"}, False),
    ("context.os_version", 17, {"op": "eq", "value": "17.0"}, True),
    ("context.os_version", 17, {"op": "lt", "value": "17.2"}, True),
    ("context.os_version", 3, {"op": "between", "value": ["3.0", "3.2"]}, True),
    ("context.os_version", 17.5, {"op": "is_set"}, False),
    ("context.os_version", -1, {"op": "is_set"}, False),
    ("context.os_version", True, {"op": "is_set"}, False),
    ("profile.birth_date", "2000-02-29", {"op": "lt", "value": "2001-01-01"}, True),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("field", "stored", "condition", "expected"), COERCION_CASES)
def test_a_stored_value_of_the_wrong_json_type_reads_as_the_fields_type(
    site, field, stored, condition, expected
):
    root, key = field.split(".")
    tree = {"all": [{"field": field, **condition}]}
    rule = compile_criteria(tree, fields=FIELDS, now=NOW)
    column = {"profile": "traits", "context": "last_context"}[root]
    prof = Profile.objects.create(
        site=site, user_id="u", first_seen=NOW, last_seen=NOW, **{column: {key: stored}}
    )
    doc = profile_document(prof)
    in_sql = Profile.objects.filter(pk=prof.pk).filter(rule.to_q()).exists()
    assert rule.matches(doc) is expected  # the generated evaluator
    assert rule.explain(doc)["passed"] is expected  # the closures
    assert in_sql is expected  # SQL on this database (SQLite or PostgreSQL)
    # A number-typed event property (typed by its operand) reads the same way.
    if field == "profile.age" and condition["op"] not in ("is_set",):
        event_tree = {
            "event": "purchase",
            "where": {"all": [{"field": f"properties.{key}", **condition}]},
        }
        event_rule = compile_criteria(event_tree, fields=FIELDS, now=NOW)
        Event.objects.create(
            site=site,
            profile=prof,
            visitor_id="u",
            name="purchase",
            properties={key: stored},
            occurred_at=NOW,
        )
        prof.refresh_from_db()
        in_sql = Profile.objects.filter(pk=prof.pk).filter(event_rule.to_q()).exists()
        assert event_rule.matches(profile_document(prof)) is expected
        assert in_sql is expected


COUNT_FORMS = [
    ({"op": "gte", "value": 1}, "exists"),
    ({"op": "gt", "value": 0}, "exists"),
    ({"op": "eq", "value": 0}, "none"),
    ({"op": "lt", "value": 1}, "none"),
    ({"op": "lte", "value": 0}, "none"),
    ({"op": "between", "value": [0, 0]}, "none"),
    ({"op": "gte", "value": 2}, "in"),
    ({"op": "gt", "value": 1}, "in"),
    ({"op": "eq", "value": 2}, "in"),
    ({"op": "between", "value": [1, 2]}, "in"),
    ({"op": "lt", "value": 2}, "not_in"),
    ({"op": "lte", "value": 2}, "not_in"),
    ({"op": "between", "value": [0, 1]}, "not_in"),
    ({"op": "gte", "value": 0}, "always"),
    ({"op": "lt", "value": 0}, "never"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("count", "form"), COUNT_FORMS)
@pytest.mark.parametrize("negated", [False, True])
def test_every_event_count_form_agrees_with_memory(site, count, form, negated):
    """Profiles with 0, 1, 2 and 3 matching purchases (plus other events and anonymous
    ones): each SQL form selects exactly the profiles memory matches, also under `none`."""
    from segments.sql import event_form

    assert event_form(count["op"], count["value"])[0] == form
    node = {"event": "purchase", "count": count, "within_days": 30}
    tree = {"none": [node]} if negated else node
    rule = compile_criteria(tree, now=NOW)
    for n in range(4):
        prof = Profile.objects.create(site=site, user_id=f"p{n}")
        for _ in range(n):
            Event.objects.create(
                site=site, profile=prof, visitor_id="v", name="purchase", occurred_at=NOW
            )
        Event.objects.create(  # too old, and another name: never counted
            site=site,
            profile=prof,
            visitor_id="v",
            name="purchase",
            occurred_at=NOW - timedelta(days=60),
        )
        Event.objects.create(site=site, profile=prof, visitor_id="v", name="view", occurred_at=NOW)
    Event.objects.create(
        site=site, profile=None, visitor_id="anon", name="purchase", occurred_at=NOW
    )
    in_sql = set(
        Profile.objects.filter(site=site).filter(rule.to_q()).values_list("user_id", flat=True)
    )
    expected = {
        p.user_id for p in Profile.objects.filter(site=site) if rule.matches(profile_document(p))
    }
    assert in_sql == expected
