"""Malformed documents and criteria are a 200 or a 400 with a message, never a 500."""

import pytest

pytestmark = pytest.mark.django_db

DOCS = [
    {"events": [1, "x", None, {"name": 5, "properties": [], "timestamp": "nope"}]},
    {"profile": [1, 2], "context": "str", "visitor": 7},
    {"profile": {"age": {"nested": True}, "city": ["Detroit"]}, "context": {"local_time": "x"}},
    {"context": {"local_time": "2026-13-45T99:99:00+99:00", "os_version": "a.b.c"}},
    {"profile": {"city": "a" * 100_000}},
]
TREES = [
    {"all": [{"field": "profile.city", "op": "matches", "value": "(a+)+$"}]},
    {"all": [{"field": "context.local_time", "op": "hour_between", "value": [18, 6]}]},
    {
        "all": [
            {
                "event": "purchase",
                "where": {"all": [{"field": "properties.price", "op": "lt", "value": 50}]},
                "count": {"op": "gte", "value": 1},
                "within_days": 9,
            }
        ]
    },
    {
        "all": [
            {"field": "context.os_version", "op": "lt", "value": "17"},
            {
                "field": "context.location",
                "op": "within_km",
                "value": {"lat": 1, "lng": 2, "km": 3},
            },
        ]
    },
    {"any": [{"field": "profile.age", "op": "between", "value": [1, 2]}, {"rollout": 50}]},
]
BAD_TREES = [
    1,
    "x",
    [],
    {"all": "x"},
    {"all": [None]},
    {"field": 1},
    {"segment": 5},
    {"rollout": "x"},
    {"all": [], "any": []},
    {"event": "x", "count": "lots"},
    {"field": "profile.age", "op": "in", "value": list(range(10_001))},
]


@pytest.mark.parametrize("doc", DOCS)
@pytest.mark.parametrize("tree", TREES)
def test_odd_documents_and_valid_trees(site, viewer_client, doc, tree):
    body = {"site": site.pk, "criteria": tree, "document": doc, "segment_key": "edited"}
    response = viewer_client.post("/api/v1/segments/preview", body, format="json")
    assert response.status_code in (200, 400), response.content[:500]
    body = {"site": site.pk, "criteria": tree, "segment_key": "edited"}
    response = viewer_client.post("/api/v1/segments/audience", body, format="json")
    assert response.status_code == 200, response.content[:500]


@pytest.mark.parametrize("tree", BAD_TREES)
def test_bad_trees_are_400_with_a_path(site, marketer_client, tree):
    body = {"site": site.pk, "key": "k", "name": "n", "criteria": tree}
    response = marketer_client.post("/api/v1/segments/", body, format="json")
    assert response.status_code == 400, response.content[:500]
    assert response.json()["error"]["fields"][0]["path"].startswith("criteria")
    body = {"site": site.pk, "criteria": tree, "document": {}}
    response = marketer_client.post("/api/v1/segments/preview", body, format="json")
    assert response.status_code == 400, response.content[:500]
