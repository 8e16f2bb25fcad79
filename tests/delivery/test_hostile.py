"""Malformed and hostile input: always a clear 4xx in the error envelope, never a 500."""

from __future__ import annotations

import json

import pytest

from tests.delivery.conftest import put


def assert_invalid(r, *paths: str) -> dict:
    assert r.status_code == 400, r.content
    error = r.json()["error"]
    assert error["code"] == "invalid"
    got = [f["path"] for f in error.get("fields", [])]
    for path in paths:
        assert path in got, (path, got)
    return error


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b"{",
        b"[]",
        b'"x"',
        b"42",
        b"null",
        b"\xff\xfe",
        b'{"visitor": {"id": "a"}}}',
    ],
)
def test_unparseable_or_non_object_bodies(decide, raw):
    r = decide(raw)
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "invalid"


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({}, "visitor"),
        ({"visitor": "a"}, "visitor"),
        ({"visitor": {}}, "visitor.id"),
        ({"visitor": {"id": 5}}, "visitor.id"),
        ({"visitor": {"id": ""}}, "visitor.id"),
        ({"visitor": {"id": "x" * 256}}, "visitor.id"),
        ({"visitor": {"id": "a", "user_id": ["u"]}}, "visitor.user_id"),
        ({"visitor": {"id": "a", "consent": "no"}}, "visitor.consent"),
        ({"visitor": {"id": "a", "visit_count": -1}}, "visitor.visit_count"),
        ({"visitor": {"id": "a", "visit_count": True}}, "visitor.visit_count"),
        ({"visitor": {"id": "a", "first_seen": "yesterday"}}, "visitor.first_seen"),
        ({"visitor": {"id": "a", "admin": True}}, "visitor.admin"),
        ({"visitor": {"id": "a"}, "profile": []}, "profile"),
        ({"visitor": {"id": "a"}, "context": "mobile"}, "context"),
        ({"visitor": {"id": "a"}, "placements": "home_hero"}, "placements"),
        ({"visitor": {"id": "a"}, "placements": ["ok", 3]}, "placements[1]"),
        ({"visitor": {"id": "a"}, "placements": ["p"] * 201}, "placements"),
        ({"visitor": {"id": "a"}, "screens": {"home": 1}}, "screens"),
        ({"visitor": {"id": "a"}, "explain": "yes"}, "explain"),
        ({"visitor": {"id": "a"}, "sql": "drop table"}, "sql"),
        (
            {"visitor": {"id": "a"}, "profile": {"k": {"a": {"b": {"c": {"d": {"e": 1}}}}}}},
            "profile",
        ),
        ({"visitor": {"id": "a"}, "context": {f"k{i}": i for i in range(101)}}, "context"),
        ({"visitor": {"id": "a"}, "context": {"big": "x" * 20000}}, "context"),
    ],
)
def test_wrong_types_and_shapes(decide, body, path):
    assert_invalid(decide(body), path)


def test_all_problems_are_listed(decide):
    error = assert_invalid(
        decide({"visitor": {"id": 1}, "placements": 2, "explain": 3}),
        "visitor.id",
        "placements",
        "explain",
    )
    assert error["message"].startswith("visitor.id:")


def test_deeply_nested_json_is_a_400(decide):
    deep = "[" * 100_000 + "]" * 100_000
    r = decide(f'{{"visitor": {{"id": "a"}}, "context": {{"x": {deep}}}}}')
    assert r.status_code in (400, 413)
    nested = {"visitor": {"id": "a"}, "context": {}}
    node = nested["context"]
    for _ in range(50):
        node["x"] = {}
        node = node["x"]
    assert_invalid(decide(nested), "context")


def test_oversized_decide_body_is_413(decide):
    r = decide({"visitor": {"id": "a"}, "context": {"x": "y" * 70_000}})
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "payload_too_large"


def test_lying_content_length_is_413(api_client, delivery_key, config):
    r = api_client.generic(
        "POST",
        "/api/v1/decide",
        b"{}",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Api-Key {delivery_key}",
        CONTENT_LENGTH="50000000",
    )
    assert r.status_code == 413


def test_oversized_events_body_is_413(send_events):
    events = [{"name": "x", "properties": {"p": "z" * 7000}} for _ in range(200)]
    r = send_events({"visitor": {"id": "a"}, "events": events})
    assert r.status_code == 413


def test_hostile_profile_input(api_client, server_key):
    r = put(api_client, "/api/v1/profiles/u-1", b"[1,2]", server_key)
    assert r.status_code == 400
    r = put(
        api_client,
        "/api/v1/profiles/u-1",
        {"traits": "x", "visitor_ids": "a", "consent": "y"},
        server_key,
    )
    assert_invalid(r, "traits", "visitor_ids", "consent")
    r = put(api_client, "/api/v1/profiles/u-1", {"visitor_ids": ["ok", 5, ""]}, server_key)
    assert_invalid(r, "visitor_ids[1]", "visitor_ids[2]")
    r = put(
        api_client,
        "/api/v1/profiles/u-1",
        {"visitor_ids": [f"v{i}" for i in range(101)]},
        server_key,
    )
    assert_invalid(r, "visitor_ids")
    r = put(api_client, "/api/v1/profiles/" + "u" * 300, {"traits": {}}, server_key)
    assert_invalid(r, "user_id")
    r = put(api_client, "/api/v1/profiles/u-1", {"traits": {"x": "y" * 300_000}}, server_key)
    assert r.status_code == 413


def test_strings_with_odd_characters_are_data_not_code(decide, site):
    weird = "'; DROP TABLE segments_profile; -- <script>é😀"
    r = decide({"visitor": {"id": weird, "user_id": weird}, "context": {"city": weird}})
    assert r.status_code == 200
    assert json.loads(r.content)["visitor_id"] == weird


def test_nul_characters_are_rejected(decide, send_events, api_client, server_key):
    """PostgreSQL cannot store NUL in text or jsonb: refuse them up front."""
    assert_invalid(decide({"visitor": {"id": "a\x00b"}}), "visitor.id")
    assert_invalid(decide({"visitor": {"id": "a"}, "context": {"c": "x\x00"}}), "context")
    assert_invalid(decide({"visitor": {"id": "a"}, "profile": {"k\x00": 1}}), "profile")
    r = send_events(
        {
            "visitor": {"id": "a"},
            "events": [{"name": "n\x00"}, {"name": "x", "properties": {"l": ["\x00"]}}],
        }
    )
    assert_invalid(r, "events[0].name", "events[1].properties")
    r = api_client.get("/api/v1/profiles/u%00x", HTTP_AUTHORIZATION=f"Api-Key {server_key}")
    assert r.status_code == 400


# --- values PostgreSQL cannot store, and timestamps nothing can display -------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b'{"visitor": {"id": "a"}, "profile": {"score": NaN}}',
        b'{"visitor": {"id": "a"}, "profile": {"score": Infinity}}',
        b'{"visitor": {"id": "a"}, "context": {"n": -Infinity}}',
        b'{"visitor": {"id": "a"}, "context": {"n": 1e400}}',
    ],
)
def test_non_finite_numbers_are_a_400(decide, raw):
    assert_invalid(decide(raw))


def test_non_finite_numbers_in_event_properties_are_a_400(send_events):
    r = send_events(
        b'{"visitor": {"id": "a"}, "events": [{"name": "x", "properties": {"p": NaN}}]}'
    )
    assert_invalid(r)
    r = send_events(
        {"visitor": {"id": "a"}, "events": [{"name": "x", "properties": {"p": 10**400}}]}
    )
    assert_invalid(r, "events[0].properties")


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"visitor": {"id": "a\ud800"}}, "visitor.id"),
        ({"visitor": {"id": "a", "user_id": "\udfff"}}, "visitor.user_id"),
        ({"visitor": {"id": "a"}, "profile": {"name": "x\ud800"}}, "profile"),
        ({"visitor": {"id": "a"}, "profile": {"k\ud800": 1}}, "profile"),
        ({"visitor": {"id": "a"}, "context": {"deep": [{"x": "\ud800"}]}}, "context"),
        ({"visitor": {"id": "a"}, "placements": ["\ud800"]}, "placements[0]"),
        ({"visitor": {"id": "a", "first_seen": "0001-01-01T00:00:00+01:00"}}, "visitor.first_seen"),
        ({"visitor": {"id": "a", "last_seen": "1969-12-31T23:59:59Z"}}, "visitor.last_seen"),
    ],
)
def test_lone_surrogates_and_ancient_dates_in_decide_are_a_400(decide, body, path):
    assert_invalid(decide(body), path)


@pytest.mark.parametrize(
    ("event", "path"),
    [
        ({"name": "x\ud800"}, "events[0].name"),
        ({"name": "x", "id": "\ud800"}, "events[0].id"),
        ({"name": "x", "properties": {"a": {"b\ud800": 1}}}, "events[0].properties"),
        ({"name": "x", "user_id": "\udc00"}, "events[0].user_id"),
        ({"name": "x", "kind": {}}, "events[0].kind"),
        ({"name": "x", "kind": []}, "events[0].kind"),
        ({"name": "x", "timestamp": "0001-01-01T00:00:00+01:00"}, "events[0].timestamp"),
        ({"name": "x", "timestamp": "1969-12-31T23:59:59Z"}, "events[0].timestamp"),
        ({"name": "x", "timestamp": "9999-12-31T23:59:59-01:00"}, "events[0].timestamp"),
    ],
)
def test_unstorable_events_are_a_400(send_events, event, path):
    assert_invalid(send_events({"visitor": {"id": "a"}, "events": [event]}), path)


def test_an_event_in_1970_is_stored_and_the_admin_still_lists_events(
    send_events, admin_client, site
):
    from segments.models import Event

    r = send_events(
        {"visitor": {"id": "a"}, "events": [{"name": "x", "timestamp": "1970-01-01T00:00:00Z"}]}
    )
    assert r.status_code == 202, r.content
    assert Event.objects.filter(site=site, name="x").exists()
    assert admin_client.get("/admin/segments/event/").status_code == 200


def test_surrogates_in_profile_traits_and_path_are_a_400(api_client, server_key):
    r = put(api_client, "/api/v1/profiles/u-1", {"traits": {"t": "\ud800"}}, server_key)
    assert_invalid(r, "traits")
    r = put(api_client, "/api/v1/profiles/u-1", {"visitor_ids": ["\ud800"]}, server_key)
    assert_invalid(r, "visitor_ids[0]")


@pytest.mark.parametrize("kind", [{}, [], 3])
def test_attribution_with_an_unhashable_kind_is_a_400(api_client, delivery_key, kind):
    body = {"visitor": {"id": "v"}, "events": [{"kind": kind, "name": "x", "slot": "hero"}]}
    r = api_client.post(
        "/api/v1/events", body, format="json", HTTP_AUTHORIZATION=f"Api-Key {delivery_key}"
    )
    assert r.status_code == 400
    assert {f["path"] for f in r.json()["error"]["fields"]} >= {"events[0].kind"}
