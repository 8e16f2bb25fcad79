"""Every operator on every type it fits, with missing and mistyped values — in memory,
and the same table through to_q() on the database (SQLite here, PostgreSQL in CI)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from segments.criteria import compile_criteria
from segments.documents import profile_document
from segments.models import Profile

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)  # a Sunday
FIELDS = {
    "profile.s": "string",
    "profile.e": {"type": "enum", "allowed_values": ["gold", "silver"]},
    "profile.n": "number",
    "profile.b": "boolean",
    "profile.d": "date",
    "profile.t": "datetime",
    "profile.v": "version",
    "profile.l": "list",
    "profile.g": "geo",
}


class _Missing:
    """The field is absent from the document (a stable parametrize id for pytest -n)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()
DETROIT = {"lat": 42.3314, "lng": -83.0458}
ANN_ARBOR = {"lat": 42.2808, "lng": -83.7430, "km": 60}  # ~56 km from Detroit


def case(field, op, value, actual, expected, **extra):
    return pytest.param(
        field, op, value, actual, expected, extra, id=f"{field}-{op}-{actual!r}-{expected}"
    )


CASES = [
    # string
    case("s", "eq", "detroit", "Detroit", True),
    case("s", "eq", "detroit", "Detroit", False, case_sensitive=True),
    case("s", "eq", "DÉTROIT", "détroit", True),
    case("s", "eq", "detroit", MISSING, False),
    case("s", "eq", "5", 5, False),
    case("s", "eq", "x", None, False),
    case("s", "neq", "boston", "Detroit", True),
    case("s", "neq", "detroit", "DETROIT", False),
    case("s", "neq", "boston", MISSING, False),
    case("s", "neq", "boston", 7, False),
    case("s", "in", ["Boston", "DETROIT"], "detroit", True),
    case("s", "in", ["Boston"], "detroit", False),
    case("s", "in", ["Boston"], ["Boston"], False),
    case("s", "not_in", ["Boston"], "detroit", True),
    case("s", "not_in", ["detroit"], "Detroit", False),
    case("s", "not_in", ["Boston"], MISSING, False),
    case("s", "contains", "ROI", "Detroit", True),
    case("s", "contains", "ROI", "Detroit", False, case_sensitive=True),
    case("s", "contains", "x", 12, False),
    case("s", "not_contains", "bos", "Detroit", True),
    case("s", "not_contains", "det", "Detroit", False),
    case("s", "not_contains", "bos", MISSING, False),
    case("s", "starts_with", "det", "Detroit", True),
    case("s", "starts_with", "roit", "Detroit", False),
    case("s", "ends_with", "OIT", "Detroit", True),
    case("s", "ends_with", "det", "Detroit", False),
    case("s", "ends_with", "det", True, False),
    case("s", "matches", "^d.t", "Detroit", True),
    case("s", "matches", "^d.t", "Detroit", False, case_sensitive=True),
    case("s", "matches", "[0-9]{3}", "abc 123", True),
    case("s", "matches", "x", MISSING, False),
    case("s", "matches", "1", 1, False),
    case("s", "is_set", None, "x", True),
    case("s", "is_set", None, MISSING, False),
    case("s", "is_set", None, 5, False),
    case("s", "is_not_set", None, MISSING, True),
    case("s", "is_not_set", None, None, True),
    case("s", "is_not_set", None, "x", False),
    case("s", "is_not_set", None, 5, False),
    # enum
    case("e", "eq", "gold", "GOLD", True),
    case("e", "eq", "gold", "silver", False),
    case("e", "neq", "gold", "silver", True),
    case("e", "in", ["gold", "silver"], "silver", True),
    case("e", "not_in", ["gold"], "silver", True),
    case("e", "not_in", ["gold"], 3, False),
    case("e", "is_set", None, "gold", True),
    # number
    case("n", "eq", 27, 27.0, True),
    case("n", "eq", 27, "27", True),  # text spelling a number reads as one
    case("n", "eq", 27, "27 years", False),
    case("n", "eq", 1, True, False),
    case("n", "neq", 27, 28, True),
    case("n", "neq", 27, MISSING, False),
    case("n", "lt", 30, 29.5, True),
    case("n", "lt", 30, 30, False),
    case("n", "lte", 30, 30, True),
    case("n", "gt", 20, 20, False),
    case("n", "gt", 20, 21, True),
    case("n", "gte", 20, 20, True),
    case("n", "gte", 20, "25", True),
    case("n", "gte", 20, "2.5e1", False),
    case("n", "between", [20, 30], 20, True),
    case("n", "between", [20, 30], 30, True),
    case("n", "between", [20, 30], 31, False),
    case("n", "between", [20, 30], None, False),
    case("n", "in", [1, 2.5], 2.5, True),
    case("n", "in", [1, 2.5], 3, False),
    case("n", "not_in", [1, 2.5], 3, True),
    case("n", "not_in", [1], "3", True),
    case("n", "not_in", [1], "three", False),
    case("n", "is_set", None, 0, True),
    case("n", "is_set", None, "0", True),
    case("n", "is_set", None, "", False),
    case("n", "is_not_set", None, MISSING, True),
    # boolean
    case("b", "is_true", None, True, True),
    case("b", "is_true", None, False, False),
    case("b", "is_true", None, "true", True),
    case("b", "is_true", None, "yes", False),
    case("b", "is_true", None, 1, False),
    case("b", "is_false", None, False, True),
    case("b", "is_false", None, MISSING, False),
    case("b", "is_false", None, 0, False),
    case("b", "eq", True, True, True),
    case("b", "eq", False, True, False),
    case("b", "neq", False, True, True),
    case("b", "neq", False, MISSING, False),
    case("b", "is_set", None, False, True),
    # date
    case("d", "eq", "1990-05-01", "1990-05-01", True),
    case("d", "eq", "1990-05-01", "1990-05-01T23:00:00-05:00", True),
    case("d", "neq", "1990-05-01", "1990-05-02", True),
    case("d", "lt", "2000-01-01", "1999-12-31", True),
    case("d", "lte", "2000-01-01", "2000-01-01", True),
    case("d", "gt", "2000-01-01", "2000-01-01", False),
    case("d", "gte", "2000-01-01", "2000-01-02", True),
    case("d", "between", ["2000-01-01", "2000-12-31"], "2000-06-15", True),
    case("d", "eq", "2000-02-29", "2000-02-30", False),
    case("d", "eq", "2000-02-29", "29/02/2000", False),
    case("d", "lt", "2000-01-01", 19990101, False),
    case("d", "within_last", {"days": 7}, "2026-11-20", True),
    case("d", "within_last", {"days": 7}, "2026-11-10", False),
    case("d", "within_last", {"weeks": 1}, "2026-11-30", False),
    case("d", "more_than_ago", {"days": 7}, "2026-11-10", True),
    case("d", "more_than_ago", {"days": 7}, "2026-11-20", False),
    case("d", "day_of_week_in", [6, 7], "2026-11-22", True),
    case("d", "day_of_week_in", ["monday"], "2026-11-22", False),
    case("d", "is_set", None, "2026-11-22", True),
    case("d", "is_set", None, "not a date", False),
    # datetime
    case("t", "eq", "2026-11-23T00:05:00Z", "2026-11-22T19:05:00-05:00", True),
    case("t", "lt", "2026-11-22T12:00:00Z", "2026-11-22T13:00:00+02:00", True),
    case("t", "gt", "2026-11-22T12:00:00Z", "2026-11-22T12:00:00.5Z", True),
    case("t", "lte", "2026-11-22T12:00:00Z", "2026-11-22 12:00:00", True),
    case("t", "gte", "2026-11-22T12:00:00Z", "2026-11-22", False),
    case("t", "neq", "2026-11-22T12:00:00Z", "2026-11-22T12:00:00+00:00", False),
    case(
        "t", "between", ["2026-11-01T00:00:00Z", "2026-11-30T00:00:00Z"], "2026-11-22T10:00Z", True
    ),
    case("t", "hour_between", [18, 6], "2026-11-22T19:05:00-05:00", True),
    case("t", "hour_between", [18, 6], "2026-11-22T05:59:00+09:00", True),
    case("t", "hour_between", [18, 6], "2026-11-22T06:00:00+09:00", False),
    case("t", "hour_between", [18, 6], "2026-11-22T12:00:00Z", False),
    case("t", "hour_between", [9, 17], "2026-11-22T09:00:00-08:00", True),
    case("t", "hour_between", [9, 17], "2026-11-22T17:00:00-08:00", False),
    case("t", "hour_between", [9, 17], "9 o'clock", False),
    case("t", "day_of_week_in", ["sat"], "2026-11-22T01:00:00+05:00", False),
    case("t", "day_of_week_in", ["sun"], "2026-11-22T01:00:00+05:00", True),
    case("t", "day_of_week_in", [6], "2026-11-21T23:30:00-05:00", True),
    case("t", "within_last", {"hours": 2}, "2026-11-22T11:00:00Z", True),
    case("t", "within_last", {"hours": 2}, "2026-11-22T13:00:00Z", False),
    case("t", "within_last", {"minutes": 30}, "2026-11-22T06:45:00-05:00", True),
    case("t", "more_than_ago", {"days": 1}, "2026-11-20T12:00:00Z", True),
    case("t", "more_than_ago", {"days": 1}, "2026-11-22T12:00:00Z", False),
    case("t", "eq", "2026-11-22T12:00:00Z", "2026-11-22T25:00:00Z", False),
    case("t", "is_set", None, "2026-11-22T12:00:00Z", True),
    case("t", "is_not_set", None, "garbage", False),
    # version
    case("v", "gt", "17.9", "17.10", True),
    case("v", "lt", "17.10", "17.9", True),
    case("v", "eq", "3.2", "3.2.0", True),
    case("v", "eq", "3.2", "v3.2", True),
    case("v", "eq", "3.2", "3.2.0-beta", True),
    case("v", "neq", "3.2", "3.2.1", True),
    case("v", "lte", "3.2", "3.2", True),
    case("v", "gte", "3.2", "3.1.9", False),
    case("v", "between", ["3.0", "3.9"], "3.10", False),
    case("v", "between", ["3.0", "3.10"], "3.9", True),
    case("v", "gt", "1", 17, True),  # a whole number reads as its digits
    case("v", "gt", "1", 17.5, False),
    case("v", "gt", "1", "abc", False),
    case("v", "is_set", None, "1.0", True),
    case("v", "is_set", None, "one", False),
    # list
    case("l", "contains_any", ["shoes", "bags"], ["Shoes", "books"], True),
    case("l", "contains_any", ["shoes"], ["books"], False),
    case("l", "contains_any", ["shoes"], ["Shoes"], False, case_sensitive=True),
    case("l", "contains_any", ["shoes"], "shoes", False),
    case("l", "contains_all", ["shoes", "books"], ["BOOKS", "shoes", 3], True),
    case("l", "contains_all", ["shoes", "books"], ["shoes"], False),
    case("l", "contains_all", ["shoes"], MISSING, False),
    case("l", "is_set", None, [], True),
    case("l", "is_set", None, "a", False),
    case("l", "is_not_set", None, MISSING, True),
    # geo
    case("g", "within_km", ANN_ARBOR, DETROIT, True),
    case("g", "within_km", {**ANN_ARBOR, "km": 50}, DETROIT, False),
    case("g", "within_km", ANN_ARBOR, {"lat": "42.3", "lng": -83.0}, False),
    case("g", "within_km", ANN_ARBOR, [42.3, -83.0], False),
    case("g", "within_km", ANN_ARBOR, MISSING, False),
    case("g", "is_set", None, DETROIT, True),
    case("g", "is_set", None, {"lat": 1}, False),
]


def _tree(field, op, value, extra):
    node = {"field": f"profile.{field}", "op": op, **extra}
    if value is not None:
        node["value"] = value
    return node


def _traits(field, actual):
    return {} if actual is MISSING else {field: actual}


@pytest.mark.parametrize(("field", "op", "value", "actual", "expected", "extra"), CASES)
def test_operator_in_memory(field, op, value, actual, expected, extra):
    rule = compile_criteria(_tree(field, op, value, extra), fields=FIELDS, now=NOW)
    doc = {"visitor": {"id": "v1"}, "profile": _traits(field, actual), "context": {}}
    assert rule.matches(doc) is expected
    assert rule.explain(doc)["passed"] is expected
    # Negation through `none` flips every result (missing/mistyped included).
    negated = compile_criteria({"none": [_tree(field, op, value, extra)]}, fields=FIELDS, now=NOW)
    assert negated.matches(doc) is (not expected)


@pytest.mark.django_db
def test_operator_table_agrees_with_sql(site):
    rules = []
    for i, p in enumerate(CASES):
        field, op, value, actual, expected, extra = p.values
        Profile.objects.create(site=site, user_id=f"case-{i}", traits=_traits(field, actual))
        tree = _tree(field, op, value, extra)
        rules.append((i, compile_criteria(tree, fields=FIELDS, now=NOW), expected, tree, actual))
    for i, rule, expected, tree, actual in rules:
        for r, exp in (
            (rule, expected),
            (compile_criteria({"none": [tree]}, fields=FIELDS, now=NOW), not expected),
        ):
            ids = set(
                Profile.objects.filter(site=site).filter(r.to_q()).values_list("user_id", flat=True)
            )
            assert (f"case-{i}" in ids) is exp, (tree, actual)
            prof = Profile.objects.get(site=site, user_id=f"case-{i}")
            assert r.matches(profile_document(prof, events=[])) is exp


VISITOR_CASES = [
    ({"field": "visitor.is_known", "op": "is_true"}, True),
    ({"field": "visitor.is_known", "op": "eq", "value": False}, False),
    ({"field": "visitor.consent", "op": "is_false"}, False),
    ({"field": "visitor.visit_count", "op": "between", "value": [3, 5]}, True),
    ({"field": "visitor.id", "op": "eq", "value": "USER-1"}, True),
    ({"field": "visitor.user_id", "op": "starts_with", "value": "user"}, True),
    ({"field": "visitor.first_seen", "op": "more_than_ago", "value": {"days": 30}}, True),
    ({"field": "visitor.last_seen", "op": "within_last", "value": {"hours": 1}}, True),
    ({"field": "visitor.last_seen", "op": "hour_between", "value": [11, 12]}, True),
    ({"field": "visitor.last_seen", "op": "day_of_week_in", "value": [7]}, True),
    ({"field": "visitor.first_seen", "op": "is_not_set"}, False),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("tree", "expected"), VISITOR_CASES)
def test_visitor_fields_map_to_profile_columns(site, tree, expected):
    prof = Profile.objects.create(
        site=site,
        user_id="user-1",
        visit_count=4,
        consent=True,
        first_seen=datetime(2026, 1, 1, 8, 0, tzinfo=UTC),
        last_seen=datetime(2026, 11, 22, 11, 30, 0, 123456, tzinfo=UTC),
    )
    rule = compile_criteria(tree, now=NOW)
    assert rule.matches(profile_document(prof, events=[])) is expected
    assert Profile.objects.filter(site=site).filter(rule.to_q()).exists() is expected


def test_custom_fields_from_field_like_objects():
    class F:
        def __init__(self, path, type_, allowed=()):
            self.path, self.type, self.allowed_values = path, type_, list(allowed)

    rule = compile_criteria(
        {"field": "profile.plan", "op": "eq", "value": "pro"},
        fields=[F("profile.plan", "enum", ["pro"])],
    )
    assert rule.matches({"profile": {"plan": "PRO"}})
    nested = compile_criteria(
        {"field": "context.app.build", "op": "gt", "value": 5},
        fields={"context.app.build": "number"},
    )
    assert nested.matches({"context": {"app": {"build": 6}}})
    assert not nested.matches({"context": {"app": "6"}})


def test_now_defaults_to_evaluation_time():
    rule = compile_criteria(
        {"field": "context.local_time", "op": "within_last", "value": {"days": 1}}
    )
    fresh = datetime.now(UTC).isoformat()
    assert rule.matches({"context": {"local_time": fresh}})
    assert not rule.matches({"context": {"local_time": "2000-01-01T00:00:00Z"}})
    assert rule.matches(
        {"context": {"local_time": "2000-01-01T00:00:00Z"}},
        now=datetime(2000, 1, 1, 12, tzinfo=UTC),
    )


def test_operator_literal_names_every_operator_the_parser_accepts() -> None:
    from typing import get_args

    from segments.criteria.operators import ALL_OPS
    from segments.criteria.types import Operator

    assert set(get_args(Operator)) == set(ALL_OPS)
