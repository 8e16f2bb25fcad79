"""The criteria ⇄ react-querybuilder adapter, run inside the committed bundle (no Node in CI)."""

from __future__ import annotations

from typing import Any

import pytest

from segments.criteria.examples import criteria_examples, example_tree

pytestmark = pytest.mark.browser

# The shared examples (segments/criteria/examples.json) first, then what no example shows.
DETROIT = example_tree("detroit-shoe-shoppers")
CONDITION = DETROIT["all"][1]  # profile.age between [20, 30]
EVENT = DETROIT["all"][3]  # two purchases of shoes under $50 in 90 days

NODES: dict[str, Any] = {
    **{f"example {example['name']}": example["tree"] for example in criteria_examples()},
    "empty object": {},
    "empty all": {"all": []},
    "condition": {"all": [CONDITION]},
    "condition as root": CONDITION,
    "string eq": {"all": [{"field": "profile.city", "op": "eq", "value": "Detroit"}]},
    "case sensitive true": {
        "all": [{"field": "profile.city", "op": "eq", "value": "Detroit", "case_sensitive": True}]
    },
    "case sensitive false": {
        "any": [
            {"field": "profile.city", "op": "starts_with", "value": "De", "case_sensitive": False}
        ]
    },
    "in list": {"all": [{"field": "profile.gender", "op": "in", "value": ["female", "other"]}]},
    "is_set without value": {"all": [{"field": "profile.city", "op": "is_set"}]},
    "matches": {
        "all": [
            {"field": "context.referrer", "op": "matches", "value": "^https://(www\\.)?college"}
        ]
    },
    "null value": {"all": [{"field": "profile.city", "op": "eq", "value": None}]},
    "any group": {"any": [CONDITION, {"field": "profile.city", "op": "eq", "value": "Detroit"}]},
    "none group": {"none": [{"field": "context.in_car", "op": "is_true"}]},
    "nested groups": {
        "all": [
            {
                "any": [
                    CONDITION,
                    {"none": [{"all": [{"field": "profile.city", "op": "eq", "value": "Paris"}]}]},
                ]
            },
            {"none": []},
        ]
    },
    "event full": {"all": [EVENT]},
    "event name only": {"all": [{"event": "login"}]},
    "event with none where": {
        "all": [
            {
                "event": "view",
                "where": {"none": [{"field": "properties.page", "op": "eq", "value": "/"}]},
            }
        ]
    },
    "event with nested where": {
        "all": [
            {
                "event": "purchase",
                "where": {
                    "any": [
                        {"field": "properties.total", "op": "gte", "value": 100},
                        {"all": [{"field": "properties.coupon", "op": "is_set"}]},
                    ]
                },
                "within_days": 30,
            }
        ]
    },
    "event as root": EVENT,
    "rollout": {"all": [{"rollout": 25}]},
    "rollout with salt": {"all": [{"rollout": 12.5, "salt": "spring-promo"}]},
    "unknown node kept verbatim": {"all": [{"future_node": {"x": 1}}]},
    "unicode and markup": {
        "all": [{"field": "profile.city", "op": "eq", "value": "</script><b>Zürich</b>"}]
    },
}


@pytest.mark.parametrize("tree", NODES.values(), ids=NODES.keys())
def test_round_trip_is_lossless(adapter_page: Any, tree: Any) -> None:
    result = adapter_page.evaluate("t => window.PersonalizeBuilder.adapter.roundTrip(t)", tree)
    assert result == tree


def test_round_trip_through_json_of_rqb_tree(adapter_page: Any) -> None:
    """The RQB tree survives serialisation too (it is plain data)."""
    tree = {
        "all": [
            *NODES["nested groups"]["all"],
            EVENT,
            {"segment": "vip"},
            {"rollout": 5, "salt": "s"},
        ]
    }
    result = adapter_page.evaluate(
        """t => {
            const a = window.PersonalizeBuilder.adapter;
            return a.fromRQB(JSON.parse(JSON.stringify(a.toRQB(t))));
        }""",
        tree,
    )
    assert result == tree


def test_rqb_shape(adapter_page: Any) -> None:
    tree = {"none": [CONDITION, {"any": []}, EVENT, {"segment": "vip"}, {"rollout": 5}]}
    rqb = adapter_page.evaluate("t => window.PersonalizeBuilder.adapter.toRQB(t)", tree)
    assert rqb["combinator"] == "none"
    assert rqb["not"] is False
    cond, group, event, segment, rollout = rqb["rules"]
    assert (cond["field"], cond["operator"], cond["value"]) == ("profile.age", "between", [20, 30])
    assert group["combinator"] == "any"
    assert group["rules"] == []
    assert (event["field"], event["operator"], event["value"]["event"]) == (
        "__event__",
        "performed",
        "purchase",
    )
    assert event["value"]["where"]["combinator"] == "all"
    assert [r["field"] for r in event["value"]["where"]["rules"]] == [
        "properties.category",
        "properties.price",
    ]
    assert (segment["field"], segment["value"]) == ("__segment__", "vip")
    assert (rollout["field"], rollout["value"]) == ("__rollout__", {"rollout": 5})
    ids = [r["id"] for r in rqb["rules"]]
    assert len(set(ids)) == len(ids)


def test_rqb_not_flag_and_and_or_combinators_map_to_ours(adapter_page: Any) -> None:
    rqb = {
        "combinator": "and",
        "rules": [
            {
                "combinator": "or",
                "not": True,
                "rules": [{"field": "profile.age", "operator": "gt", "value": 3}],
            },
        ],
    }
    result = adapter_page.evaluate("q => window.PersonalizeBuilder.adapter.fromRQB(q)", rqb)
    assert result == {
        "all": [{"none": [{"any": [{"field": "profile.age", "op": "gt", "value": 3}]}]}]
    }


def test_switching_to_a_no_value_operator_drops_the_value(adapter_page: Any) -> None:
    rqb = {
        "combinator": "all",
        "rules": [{"field": "profile.city", "operator": "is_set", "value": ""}],
    }
    result = adapter_page.evaluate("q => window.PersonalizeBuilder.adapter.fromRQB(q)", rqb)
    assert result == {"all": [{"field": "profile.city", "op": "is_set"}]}


PATHS = [
    ({"all": [CONDITION]}, "criteria.all[0].value", "0"),
    ({"all": [CONDITION, {"any": [CONDITION, CONDITION]}]}, "criteria.all[1].any[1]", "1.1"),
    ({"all": [CONDITION, {"any": [CONDITION, CONDITION]}]}, "criteria.all[1].any[1].op", "1.1"),
    ({"all": [CONDITION, {"none": [CONDITION]}]}, "$.all[1].none[0]", "1.0"),
    ({"all": [CONDITION, EVENT]}, "criteria.all[1].where.all[1].value", "1>1"),
    ({"all": [CONDITION, EVENT]}, "criteria.all[1].count.value", "1"),
    (CONDITION, "criteria.value", "0"),
    (CONDITION, "criteria", "0"),
    ({"all": [CONDITION]}, "criteria", ""),
    ({"all": [CONDITION]}, "criteria.all[7]", ""),
]


@pytest.mark.parametrize(("tree", "path", "key"), PATHS)
def test_error_paths_map_to_rule_keys(adapter_page: Any, tree: Any, path: str, key: str) -> None:
    result = adapter_page.evaluate(
        "([t, p]) => window.PersonalizeBuilder.adapter.keyForPath("
        "window.PersonalizeBuilder.adapter.toRQB(t), p)",
        [tree, path],
    )
    assert result == key


def test_rule_keys_include_event_filters(adapter_page: Any) -> None:
    tree = {"all": [CONDITION, {"any": [CONDITION]}, EVENT]}
    keys = adapter_page.evaluate(
        "t => { const a = window.PersonalizeBuilder.adapter; return a.ruleKeys(a.toRQB(t)); }", tree
    )
    assert keys == ["0", "1.0", "2", "2>0", "2>1"]
