import json
import math
from datetime import UTC, datetime

import pytest

from experiments.policy.features import FeatureEncoder, FeatureSpecError, fit_encoder

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
SPEC = [
    {"kind": "category", "field": "context.device_type", "top_k": 2},
    {"kind": "category", "field": "profile.interests", "top_k": 3},
    {"kind": "number", "field": "profile.age"},
    {"kind": "flag", "field": "visitor.is_known"},
    {"kind": "segment", "segment": "loyal"},
    {"kind": "hour", "field": "context.local_time"},
    {"kind": "weekday", "field": "context.local_time"},
    {"kind": "recency"},
    {"kind": "recency", "event": "purchase"},
    {"kind": "frequency"},
    {"kind": "frequency", "event": "purchase", "within_days": 7},
]
DOCS = [
    {"visitor": {}, "profile": {}, "context": {"device_type": "Mobile"}},
    {"visitor": {}, "profile": {}, "context": {"device_type": "mobile"}},
    {"visitor": {}, "profile": {}, "context": {"device_type": "desktop"}},
    {"visitor": {}, "profile": {}, "context": {"device_type": "desktop"}},
    {"visitor": {}, "profile": {}, "context": {"device_type": "tablet"}},
    {"visitor": {}, "profile": {"interests": ["shoes", "hats"]}, "context": {}},
    {"visitor": {}, "profile": {"interests": ["shoes"]}, "context": {}},
]


def test_vocabulary_is_top_k_by_count_then_value_whatever_the_order():
    encoder = fit_encoder(SPEC, DOCS)
    assert encoder.vocabularies[0] == ("desktop", "mobile")  # tablet is cut (top_k=2)
    assert encoder.vocabularies[1] == ("shoes", "hats")
    assert fit_encoder(SPEC, list(reversed(DOCS))) == encoder
    assert encoder.columns[:3] == (
        "context.device_type=desktop",
        "context.device_type=mobile",
        "context.device_type=__other__",
    )


def test_encoding_of_a_full_document():
    encoder = fit_encoder(SPEC, DOCS)
    doc = {
        "visitor": {"is_known": True, "visit_count": 4, "last_seen": "2026-03-08T12:00:00Z"},
        "profile": {"age": "31", "interests": ["hats", "golf"]},
        "context": {"device_type": "TABLET", "local_time": "2026-03-10T19:05:00-05:00"},
        "events": [
            {"name": "purchase", "properties": {}, "timestamp": "2026-03-09T12:00:00+00:00"},
            {"name": "purchase", "properties": {}, "timestamp": "2026-02-01T12:00:00+00:00"},
            {"name": "view", "properties": {}, "timestamp": "2026-03-10T11:00:00+00:00"},
        ],
    }
    row = encoder.encode(doc, segments={"loyal", "other"}, now=NOW)
    assert len(row) == len(encoder.columns)
    named = dict(zip(encoder.columns, row, strict=True))
    assert named["context.device_type=__other__"] == 1.0  # tablet is outside the top 2
    assert named["context.device_type=mobile"] == 0.0
    assert named["profile.interests=hats"] == 1.0
    assert named["profile.interests=__other__"] == 1.0  # golf
    assert named["profile.interests=shoes"] == 0.0
    assert named["profile.age"] == 31.0
    assert named["visitor.is_known"] == 1.0
    assert named["segment:loyal"] == 1.0
    assert named["hour:context.local_time"] == 19.0  # the visitor's own local hour
    assert named["weekday:context.local_time"] == 1.0  # Tuesday
    assert named["recency:visits"] == 2.0
    assert named["recency:event:purchase"] == 1.0
    assert named["frequency:visits"] == 4.0
    assert named["frequency:event:purchase/7d"] == 1.0  # the February one is too old


def test_missing_and_unreadable_values():
    encoder = fit_encoder(SPEC, DOCS)
    row = encoder.encode(
        {"visitor": {}, "profile": {"age": "old"}, "context": {"local_time": "soon"}}, now=NOW
    )
    named = dict(zip(encoder.columns, row, strict=True))
    assert all(v == 0.0 for k, v in named.items() if k.startswith("context.device_type"))
    for key in (
        "profile.age",
        "visitor.is_known",
        "hour:context.local_time",
        "recency:visits",
        "recency:event:purchase",
        "frequency:visits",
    ):
        assert math.isnan(named[key]), key
    assert named["segment:loyal"] == 0.0
    assert named["frequency:event:purchase/7d"] == 0.0


def test_round_trip_through_json():
    encoder = fit_encoder(SPEC, DOCS)
    assert FeatureEncoder.from_json(encoder.to_json()) == encoder


@pytest.mark.parametrize(
    ("spec", "path"),
    [
        ([], "features"),
        ([{"kind": "colour"}], "features[0].kind"),
        ([{"kind": "number", "field": "age"}], "features[0].field"),
        ([{"kind": "number", "field": "session.age"}], "features[0].field"),
        ([{"kind": "category", "field": "context.os", "top_k": 0}], "features[0].top_k"),
        ([{"kind": "segment"}], "features[0].segment"),
        ([{"kind": "frequency", "within_days": 7}], "features[0].within_days"),
        ([{"kind": "number", "field": "profile.age", "top_k": 3}], "features[0].top_k"),
        (
            [
                {"kind": "number", "field": "profile.age"},
                {"kind": "number", "field": "profile.age"},
            ],
            "features[1]",
        ),
    ],
)
def test_bad_specs_name_the_offending_path(spec, path):
    with pytest.raises(FeatureSpecError) as info:
        fit_encoder(spec, [])
    assert info.value.path == path


def test_encode_values_reads_hostile_numbers_as_missing():
    encoder = fit_encoder([{"kind": "number", "field": "profile.age"}], [])
    for value in (10**400, float("nan"), float("inf"), "1e999", "abc", [1], {"a": 1}):
        assert math.isnan(encoder.encode_values({"profile.age": value})[0])
    assert encoder.encode_values({"profile.age": 42})[0] == 42.0
    assert encoder.encode_values({"profile.age": True})[0] == 1.0


def test_extract_values_keeps_only_json_safe_scalars():
    from experiments.policy.features import extract_values, parse_feature_spec

    features = parse_feature_spec(
        [
            {"kind": "number", "field": "profile.age"},
            {"kind": "category", "field": "profile.tags"},
            {"kind": "flag", "field": "profile.vip"},
        ]
    )
    for age in (10**400, float("nan"), float("-inf"), {"a": 1}):
        values = extract_values(features, {"profile": {"age": age}})
        assert "profile.age" not in values
    values = extract_values(
        features, {"profile": {"age": 2**53, "tags": ["a", ["nested"], {"x": 1}, 3], "vip": True}}
    )
    assert values == {"profile.age": 2**53, "profile.tags": ["a", 3], "profile.vip": True}
    assert json.loads(json.dumps(values, allow_nan=False)) == values
