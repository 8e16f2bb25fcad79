"""Human words in explanations: operator phrases and enum labels instead of codes, the
machine fields kept beside them, and a translator honoured for every sentence."""

from __future__ import annotations

import re
from typing import Any

from segments.criteria import Labels, compile_criteria
from segments.criteria.labels import OPERATOR_LABELS, humanize, value_label
from segments.criteria.operators import ALL_OPS


def _children(tree: dict[str, Any], doc: dict[str, Any], **kw: Any) -> list[dict[str, Any]]:
    return compile_criteria(tree).explain(doc, **kw)["children"]


def test_every_operator_has_a_phrase():
    assert set(OPERATOR_LABELS) == set(ALL_OPS)


def test_conditions_read_as_sentences_and_keep_their_codes():
    cond, enum = _children(
        {
            "all": [
                {"field": "profile.age", "op": "gte", "value": 18},
                {"field": "profile.gender", "op": "in", "value": ["non_binary", "female"]},
            ]
        },
        {"profile": {"age": 17, "gender": "non_binary"}},
    )
    assert cond["summary"] == "Age is at least 18 (actual: 17)"
    assert (cond["field"], cond["op"], cond["value"], cond["actual"]) == (
        "profile.age",
        "gte",
        18,
        17,
    )
    assert enum["summary"] == "Gender is one of Non-binary or Female (actual: Non-binary)"
    assert enum["value"] == ["non_binary", "female"] and enum["actual"] == "non_binary"
    assert enum["op_label"] == "is one of" and enum["value_label"] == "Non-binary or Female"
    assert "gte" not in cond["summary"] and "non_binary" not in enum["summary"]
    assert "profile." not in cond["summary"]


def test_events_say_how_often_in_words():
    twice, once = _children(
        {
            "all": [
                {"event": "purchase", "count": {"op": "gte", "value": 2}, "within_days": 30},
                {"event": "view"},
            ]
        },
        {"events": [{"name": "view"}]},
    )
    assert twice["summary"] == "did “purchase” at least 2 times in the last 30 days (actual: 0)"
    assert once["summary"] == "did “view” at least once (actual: 1)"


def test_time_place_and_group_operands():
    days, ago, where, week = _children(
        {
            "any": [
                {"field": "profile.signup_date", "op": "within_last", "value": {"days": 30}},
                {"field": "visitor.last_seen", "op": "more_than_ago", "value": {"weeks": 1}},
                {
                    "field": "context.location",
                    "op": "within_km",
                    "value": {"lat": 42.3, "lng": -83, "km": 10},
                },
                {"field": "context.local_time", "op": "day_of_week_in", "value": [6, 7]},
            ]
        },
        {},
    )
    assert days["summary"] == "Signup date is within the last 30 days (actual: not set)"
    assert ago["summary"] == "Last seen is more than 1 week ago (actual: not set)"
    assert where["summary"] == "Location is within 10 km of 42.3, -83 (actual: not set)"
    assert week["summary"] == "Local time falls on Saturday or Sunday (actual: not set)"


def test_site_labels_and_unknown_enum_values():
    labels = Labels(fields={"profile.plan": ("Plan", "enum"), "profile.age": ("Âge", "number")})
    rule = compile_criteria(
        {"field": "profile.plan", "op": "eq", "value": "pro_annual"},
        fields={"profile.plan": {"type": "enum", "allowed_values": ["pro_annual", "free"]}},
    )
    out = rule.explain({"profile": {"plan": "free"}}, labels=labels)
    assert out["summary"] == "Plan is Pro annual (actual: Free)"
    assert humanize("non_binary") == "Non binary" and value_label("non_binary") == "Non-binary"


def _upper(message: str) -> str:
    # Upper-cases the words, never the %(name)s placeholders.
    return re.sub(r"%\(\w+\)s|([^%]+)", lambda m: m[1].upper() if m[1] else m[0], message)


class Upper:
    """A stand-in translator: proves every word goes through it."""

    @staticmethod
    def gettext(message: str) -> str:
        return _upper(message)

    @staticmethod
    def ngettext(singular: str, plural: str, number: int) -> str:
        return _upper(singular if number == 1 else plural)


def test_a_translator_translates_every_sentence():
    labels = Labels.from_catalog(
        catalog={"profile.gender": {"label": "Gender", "type": "enum"}}, translator=Upper()
    )
    out = compile_criteria(
        {"all": [{"field": "profile.gender", "op": "eq", "value": "female"}, {"event": "buy"}]}
    ).explain({"profile": {}}, labels=labels)
    assert out["summary"] == "ALL OF 2 RULES MUST PASS: 0 PASSED"
    cond, event = out["children"]
    assert cond["summary"] == "GENDER IS FEMALE (ACTUAL: NOT SET)"
    assert event["summary"] == "DID “buy” AT LEAST ONCE (ACTUAL: 0)"
