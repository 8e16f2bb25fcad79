"""Validation: every error carries a JSON path and a readable message; limits hold."""

from __future__ import annotations

import time

import pytest

from segments.criteria import (
    BUILTIN_FIELDS,
    CriteriaError,
    StaticSegment,
    compile_criteria,
    compile_rules,
)

AGE = {"field": "profile.age", "op": "gte", "value": 18}


def error_of(tree, **kw) -> CriteriaError:
    with pytest.raises(CriteriaError) as info:
        compile_criteria(tree, **kw)
    return info.value


@pytest.mark.parametrize(
    ("tree", "path", "needle"),
    [
        (
            {"all": [{"field": "profile.shoe_size", "op": "eq", "value": 9}]},
            "$.all[0].field",
            "Unknown field",
        ),
        (
            {"all": [{"field": "somewhere.x", "op": "eq", "value": 1}]},
            "$.all[0].field",
            "profile., context.",
        ),
        (
            {"all": [{"field": "profile.", "op": "eq", "value": 1}]},
            "$.all[0].field",
            "not a valid field",
        ),
        ({"all": [{"field": 3, "op": "eq", "value": 1}]}, "$.all[0].field", "text path"),
        (
            {"all": [{"field": "profile.age", "op": "approx", "value": 1}]},
            "$.all[0].op",
            "Unknown operator",
        ),
        (
            {"all": [{"field": "profile.age", "op": "contains", "value": "1"}]},
            "$.all[0].op",
            "does not apply",
        ),
        (
            {"all": [{"field": "profile.city", "op": "gt", "value": "a"}]},
            "$.all[0].op",
            "does not apply",
        ),
        (
            {"all": [{"field": "profile.age", "op": "eq", "value": "27"}]},
            "$.all[0].value",
            "number",
        ),
        (
            {"all": [{"field": "profile.age", "op": "eq", "value": True}]},
            "$.all[0].value",
            "number",
        ),
        ({"all": [{"field": "profile.age", "op": "eq"}]}, "$.all[0].value", "needs a value"),
        (
            {"all": [{"field": "profile.age", "op": "is_set", "value": 1}]},
            "$.all[0].value",
            "takes no value",
        ),
        (
            {"all": [{"field": "profile.age", "op": "between", "value": [30, 20]}]},
            "$.all[0].value",
            "must not exceed",
        ),
        (
            {"all": [{"field": "profile.age", "op": "between", "value": [1]}]},
            "$.all[0].value",
            "two values",
        ),
        (
            {"all": [{"field": "profile.age", "op": "in", "value": []}]},
            "$.all[0].value",
            "non-empty list",
        ),
        (
            {"all": [{"field": "profile.age", "op": "in", "value": [1, "x"]}]},
            "$.all[0].value[1]",
            "number",
        ),
        ({"all": [{"field": "profile.city", "op": "eq", "value": 5}]}, "$.all[0].value", "text"),
        (
            {"all": [{"field": "profile.gender", "op": "eq", "value": "robot"}]},
            "$.all[0].value",
            "allowed values",
        ),
        (
            {"all": [{"field": "profile.gender", "op": "in", "value": ["female", "x"]}]},
            "$.all[0].value[1]",
            "allowed",
        ),
        (
            {"all": [{"field": "profile.city", "op": "matches", "value": "(unclosed"}]},
            "$.all[0].value",
            "Invalid regular",
        ),
        (
            {"all": [{"field": "profile.city", "op": "matches", "value": "x" * 501}]},
            "$.all[0].value",
            "limited to 500",
        ),
        (
            {"all": [{"field": "profile.city", "op": "eq", "value": "x", "case_sensitive": "yes"}]},
            "$.all[0].case_sensitive",
            "true or false",
        ),
        (
            {"all": [{"field": "profile.birth_date", "op": "eq", "value": "01/05/1990"}]},
            "$.all[0].value",
            "date such as",
        ),
        (
            {"all": [{"field": "context.local_time", "op": "lt", "value": "tomorrow"}]},
            "$.all[0].value",
            "datetime such as",
        ),
        (
            {
                "all": [
                    {"field": "context.local_time", "op": "within_last", "value": {"fortnights": 1}}
                ]
            },
            "$.all[0].value",
            "duration",
        ),
        (
            {"all": [{"field": "context.local_time", "op": "within_last", "value": {"days": -1}}]},
            "$.all[0].value.days",
            "negative",
        ),
        (
            {"all": [{"field": "context.local_time", "op": "hour_between", "value": [18, 25]}]},
            "$.all[0].value[1]",
            "hour",
        ),
        (
            {"all": [{"field": "context.local_time", "op": "day_of_week_in", "value": [8]}]},
            "$.all[0].value[0]",
            "Monday",
        ),
        (
            {"all": [{"field": "profile.birth_date", "op": "hour_between", "value": [1, 2]}]},
            "$.all[0].op",
            "does not apply",
        ),
        (
            {"all": [{"field": "context.os_version", "op": "gt", "value": "latest"}]},
            "$.all[0].value",
            "version",
        ),
        (
            {"all": [{"field": "context.os_version", "op": "between", "value": ["3", "2"]}]},
            "$.all[0].value",
            "must not exceed",
        ),
        (
            {"all": [{"field": "profile.interests", "op": "contains_any", "value": "shoes"}]},
            "$.all[0].value",
            "list",
        ),
        (
            {
                "all": [
                    {"field": "context.location", "op": "within_km", "value": {"lat": 1, "lng": 2}}
                ]
            },
            "$.all[0].value",
            "km",
        ),
        (
            {
                "all": [
                    {
                        "field": "context.location",
                        "op": "within_km",
                        "value": {"lat": 91, "lng": 2, "km": 1},
                    }
                ]
            },
            "$.all[0].value",
            "Latitude",
        ),
        (
            {
                "all": [
                    {
                        "field": "context.location",
                        "op": "within_km",
                        "value": {"lat": 1, "lng": 2, "km": 0},
                    }
                ]
            },
            "$.all[0].value.km",
            "more than 0",
        ),
        (
            {"all": [{"field": "context.in_car", "op": "eq", "value": "yes"}]},
            "$.all[0].value",
            "true or false",
        ),
        ({"all": [{**AGE, "note": "x"}]}, "$.all[0]", "Unexpected key"),
        ({"all": [AGE], "any": []}, "$", "exactly one key"),
        ({"all": AGE}, "$.all", "must be a list"),
        ({"all": ["profile.age > 3"]}, "$.all[0]", "must be an object"),
        ({"every": [AGE]}, "$", "Unknown rule"),
        ([AGE], "$", "must be an object"),
        ({}, "$", "is empty"),
        ({"all": [{}]}, "$.all[0]", "is empty"),
        ({"all": [{"event": ""}]}, "$.all[0].event", "event name"),
        (
            {"all": [{"event": "buy", "count": {"op": "gte", "value": -1}}]},
            "$.all[0].count.value",
            "whole number",
        ),
        (
            {"all": [{"event": "buy", "count": {"op": "most", "value": 1}}]},
            "$.all[0].count.op",
            "count operator",
        ),
        (
            {"all": [{"event": "buy", "count": {"op": "between", "value": [3, 1]}}]},
            "$.all[0].count.value",
            "two whole",
        ),
        ({"all": [{"event": "buy", "within_days": 0}]}, "$.all[0].within_days", "greater than 0"),
        ({"all": [{"event": "buy", "where": [AGE]}]}, "$.all[0].where", "group"),
        (
            {"all": [{"event": "buy", "where": {"all": [AGE]}}]},
            "$.all[0].where.all[0].field",
            "properties.",
        ),
        (
            {"all": [{"event": "buy", "where": {"all": [{"segment": "x"}]}}]},
            "$.all[0].where.all[0]",
            "Inside `where`",
        ),
        (
            {
                "all": [
                    {
                        "event": "buy",
                        "where": {"all": [{"field": "properties.price", "op": "eq", "value": {}}]},
                    }
                ]
            },
            "$.all[0].where.all[0].value",
            "text, numbers",
        ),
        (
            {
                "all": [
                    {
                        "event": "buy",
                        "where": {
                            "all": [
                                {"field": "properties.tags", "op": "contains_any", "value": ["a"]}
                            ]
                        },
                    }
                ]
            },
            "$.all[0].where.all[0].op",
            "not available",
        ),
        ({"all": [{"event": "buy", "extra": 1}]}, "$.all[0]", "Unexpected key"),
        ({"all": [{"rollout": 150, "salt": "x"}]}, "$.all[0].rollout", "0 to 100"),
        ({"all": [{"rollout": 10}]}, "$.all[0].salt", "needs a salt"),
        ({"all": [{"rollout": 10, "salt": ""}]}, "$.all[0].salt", "non-empty"),
        ({"all": [{"segment": "nope"}]}, "$.all[0].segment", "Unknown segment"),
    ],
)
def test_validation_errors(tree, path, needle):
    err = error_of(tree)
    assert err.path == path, err
    assert needle.lower() in err.message.lower(), err
    assert str(err) == f"{path}: {err.message}"


def test_all_errors_are_collected():
    err = error_of(
        {
            "all": [
                {"field": "profile.nope", "op": "eq", "value": 1},
                {"field": "profile.age", "op": "eq", "value": "x"},
                {"any": [{"field": "profile.city", "op": "matches", "value": "("}]},
            ]
        }
    )
    assert [e.path for e in err.errors] == [
        "$.all[0].field",
        "$.all[1].value",
        "$.all[2].any[0].value",
    ]
    assert err.path == "$.all[0].field"
    assert err.as_dict() == {"path": err.path, "message": err.message}


def test_depth_limit():
    tree = AGE
    for _ in range(9):
        tree = {"all": [tree]}
    compile_criteria(tree)  # 10 levels: fine
    err = error_of({"all": [tree]})
    assert "nested too deeply" in err.message
    assert err.path == "$" + ".all[0]" * 10


def test_node_limit_and_a_500_node_tree_is_prompt():
    leaves = [{"field": "profile.age", "op": "gte", "value": i} for i in range(499)]
    rule = compile_criteria({"any": leaves})  # 1 group + 499 conditions = 500 nodes
    t0 = time.perf_counter()
    for _ in range(100):
        assert rule.matches({"profile": {"age": 250}})
        assert not rule.matches({"profile": {"age": -1}})
    assert time.perf_counter() - t0 < 5  # generous: guards against pathological slowness
    big = compile_criteria({"all": [{"none": leaves[:200]}, {"any": leaves[200:497]}]})
    assert big.matches({"profile": {"age": -5}}) is False
    err = error_of({"any": [*leaves, AGE]})
    assert err.path == "$" and "501 nodes" in err.message


def test_in_list_limit():
    compile_criteria(
        {"field": "profile.city", "op": "in", "value": [str(i) for i in range(10_000)]}
    )
    err = error_of({"field": "profile.city", "op": "in", "value": [str(i) for i in range(10_001)]})
    assert err.path == "$.value" and "10,000" in err.message


def test_pathological_regex_returns_promptly():
    rule = compile_criteria(
        {"field": "profile.city", "op": "matches", "value": "(a+)+$", "case_sensitive": True}
    )
    t0 = time.perf_counter()
    # Exponential for backtracking engines; re2 runs in linear time.
    assert rule.matches({"profile": {"city": "a" * 5000 + "!"}}) is False
    assert rule.matches({"profile": {"city": "a" * 5000}}) is True
    assert time.perf_counter() - t0 < 2
    # Inputs beyond the length limit never match (and are never scanned).
    assert rule.matches({"profile": {"city": "a" * 20_000}}) is False


def test_segment_references_inline_detect_cycles_and_static():
    segments = {
        "adults": {"all": [AGE]},
        "detroit-adults": {
            "all": [
                {"segment": "adults"},
                {"field": "profile.city", "op": "eq", "value": "Detroit"},
            ]
        },
        "vip": StaticSegment("vip", frozenset({"u-1"})),
        "loop-a": {"all": [{"segment": "loop-b"}]},
        "loop-b": {"any": [{"segment": "loop-a"}]},
        "broken": {"all": [{"field": "profile.nope", "op": "is_set"}]},
    }
    rule = compile_criteria(
        {"any": [{"segment": "detroit-adults"}, {"segment": "vip"}]}, segments=segments
    )
    assert rule.referenced_segments == {"detroit-adults", "adults", "vip"}
    assert rule.matches({"profile": {"age": 30, "city": "detroit"}})
    assert rule.matches({"visitor": {"user_id": "u-1"}, "profile": {}})
    assert not rule.matches({"visitor": {"user_id": "u-2"}, "profile": {"age": 30}})
    err = error_of({"all": [AGE, {"segment": "loop-a"}]}, segments=segments)
    assert err.path == "$.all[1].segment" and "refers back" in err.message
    err = error_of({"all": [{"segment": "me"}]}, segments={"me": {"all": []}}, segment_key="me")
    assert "refers back" in err.message
    err = error_of({"all": [{"segment": "broken"}]}, segments=segments)
    assert err.path == "$.all[0].segment" and "invalid" in err.message


def test_rollouts_bucket_by_visitor_id_and_default_salt():
    from segments.bucketing import hash_unit

    rule = compile_criteria({"rollout": 25}, segment_key="spring")
    assert rule.has_rollout
    for vid in ["a", "b", "c", "anon-1", "ü"]:
        assert rule.matches({"visitor": {"id": vid}}) is (hash_unit("spring", vid) < 0.25)
    assert not rule.matches({"visitor": {}})
    assert compile_criteria({"rollout": 100, "salt": "x"}).matches({"visitor": {"id": "z"}})
    assert not compile_criteria({"rollout": 0, "salt": "x"}).matches({"visitor": {"id": "z"}})
    share = sum(rule.matches({"visitor": {"id": f"v{i}"}}) for i in range(4000)) / 4000
    assert 0.22 < share < 0.28


def test_events_count_where_and_window():
    from datetime import UTC, datetime

    now = datetime(2026, 11, 22, tzinfo=UTC)
    doc = {
        "events": [
            {
                "name": "purchase",
                "properties": {"price": 40, "category": "Shoes"},
                "timestamp": "2026-11-01T10:00:00Z",
            },
            {
                "name": "purchase",
                "properties": {"price": 45, "category": "shoes"},
                "timestamp": "2026-10-01T10:00:00Z",
            },
            {
                "name": "purchase",
                "properties": {"price": 90, "category": "shoes"},
                "timestamp": "2026-11-20T10:00:00Z",
            },
            {
                "name": "purchase",
                "properties": {"price": "12"},
                "timestamp": "2026-11-20T10:00:00Z",
            },
            {"name": "view", "properties": {}, "timestamp": "2026-11-21T10:00:00Z"},
            {"name": "purchase", "properties": {"price": 10}, "timestamp": "not a time"},
        ]
    }
    shoes_under_50 = {
        "event": "purchase",
        "where": {
            "all": [
                {"field": "properties.category", "op": "eq", "value": "shoes"},
                {"field": "properties.price", "op": "lt", "value": 50},
            ]
        },
        "count": {"op": "gte", "value": 2},
        "within_days": 90,
    }
    assert compile_criteria(shoes_under_50, now=now).matches(doc)
    assert not compile_criteria({**shoes_under_50, "within_days": 30}, now=now).matches(doc)
    assert compile_criteria({"event": "view"}, now=now).matches(doc)
    assert compile_criteria({"event": "signup", "count": {"op": "eq", "value": 0}}).matches(doc)
    assert compile_criteria(
        {"event": "purchase", "count": {"op": "between", "value": [5, 5]}}
    ).matches(doc)
    assert not compile_criteria({"event": "purchase"}).matches({"events": "nope"})


def test_explain_is_tree_shaped_with_paths_and_summaries():
    rule = compile_criteria(
        {
            "all": [
                AGE,
                {"none": [{"field": "profile.city", "op": "eq", "value": "Boston"}]},
                {"event": "purchase"},
                {"rollout": 100, "salt": "s"},
            ]
        }
    )
    out = rule.explain(
        {"visitor": {"id": "v"}, "profile": {"age": 17, "city": "Detroit"}, "events": []}
    )
    assert out["path"] == "$" and out["type"] == "all" and out["passed"] is False
    first, second, third, fourth = out["children"]
    assert first == {**first, "path": "$.all[0]", "passed": False, "actual": 17}
    assert first["summary"] == "Age is at least 18 (actual: 17)"
    assert second["path"] == "$.all[1]" and second["passed"] is True
    assert second["children"][0]["path"] == "$.all[1].none[0]"
    assert third["type"] == "event" and third["passed"] is False and third["actual"] == 0
    assert fourth["type"] == "rollout" and fourth["passed"] is True


def test_builtin_catalog_and_ruleset():
    assert BUILTIN_FIELDS["profile.age"]["type"] == "number"
    assert BUILTIN_FIELDS["context.weather"]["allowed_values"] == [
        "clear",
        "clouds",
        "rain",
        "snow",
        "storm",
        "fog",
    ]
    assert {p.split(".")[0] for p in BUILTIN_FIELDS} == {"profile", "context", "visitor"}
    rs = compile_rules(
        {
            "adults": {"all": [AGE]},
            "rainy-evening": {
                "all": [
                    {"field": "context.weather", "op": "eq", "value": "rain"},
                    {"field": "context.local_time", "op": "hour_between", "value": [18, 6]},
                ]
            },
            "everyone": {"all": []},
            "nobody": {"any": []},
        }
    )
    doc = {
        "profile": {"age": 40},
        "context": {"weather": "Rain", "local_time": "2026-11-22T19:05:00-05:00"},
    }
    assert rs.matching(doc) == ["adults", "rainy-evening", "everyone"]
    for key, rule in rs.rules.items():
        assert rule.matches(doc) is (key in rs.matching(doc))
    with pytest.raises(CriteriaError) as info:
        compile_rules({"bad": {"all": [{"field": "profile.x", "op": "is_set"}]}})
    assert info.value.message.startswith("bad: ")
