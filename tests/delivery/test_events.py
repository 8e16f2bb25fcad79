"""POST /api/v1/events: validation with paths, all-or-nothing, idempotency, limits, consent."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from segments.models import Event, Profile, VisitorLink
from tenancy.api.throttling import ApiKeyRateThrottle
from tests.delivery.conftest import post
from tests.delivery.test_hostile import assert_invalid


def batch(*events, visitor=None):
    return {"visitor": visitor or {"id": "anon-1"}, "events": list(events)}


def test_batch_of_each_kind_is_stored(send_events, site):
    r = send_events(
        batch(
            {
                "id": "e1",
                "kind": "impression",
                "name": "impression",
                "properties": {"placement": "home_hero"},
            },
            {"id": "e2", "kind": "click", "name": "click"},
            {"id": "e3", "kind": "conversion", "name": "purchase", "properties": {"price": 42.5}},
            {"id": "e4", "name": "video_played", "timestamp": "2026-11-01T10:00:00Z"},
        )
    )
    assert r.status_code == 202, r.content
    assert r.json() == {"received": 4, "stored": 4, "duplicates": 0, "consent": True}
    rows = {e.event_id: e for e in Event.objects.filter(site=site)}
    assert set(rows) == {"e1", "e2", "e3", "e4"}
    assert (
        rows["e4"].kind == "custom"
        and rows["e4"].occurred_at.year == 2026
        and rows["e4"].occurred_at.month == 11
    )
    assert rows["e3"].properties == {"price": 42.5} and rows["e3"].visitor_id == "anon-1"
    assert rows["e1"].profile is None


def test_trailing_slash_and_server_key(api_client, server_key, site):
    r = post(api_client, "/api/v1/events/", batch({"name": "x"}), server_key)
    assert r.status_code == 202


def test_retry_is_idempotent(send_events, site):
    body = batch({"id": "r1", "name": "a"}, {"id": "r2", "name": "b"})
    assert send_events(body).json()["stored"] == 2
    again = send_events(body).json()
    assert again == {"received": 2, "stored": 0, "duplicates": 2, "consent": True}
    partial = send_events(batch({"id": "r2", "name": "b"}, {"id": "r3", "name": "c"})).json()
    assert partial["stored"] == 1 and partial["duplicates"] == 1
    assert Event.objects.filter(site=site).count() == 3


def test_event_ids_are_per_site(send_events, api_client, other_site, site):
    from tests.factories import make_key

    assert send_events(batch({"id": "same", "name": "a"})).json()["stored"] == 1
    other = make_key(other_site, "delivery")
    assert (
        post(api_client, "/api/v1/events", batch({"id": "same", "name": "a"}), other).json()[
            "stored"
        ]
        == 1
    )
    assert Event.objects.filter(event_id="same").count() == 2


def test_invalid_event_rejects_the_whole_batch_with_every_error(send_events, site):
    r = send_events(
        batch(
            {"name": "ok"},
            {"name": "ok2"},
            {"kind": "view", "name": "x"},
            {"properties": {"a": 1}},
            "not an object",
            {"name": "x", "properties": []},
            {"name": "x", "timestamp": "tomorrow"},
            {"name": "x", "timestamp": (timezone.now() + timedelta(days=3)).isoformat()},
            {"name": "x", "id": "x" * 65},
            {"name": "x" * 101},
            {"name": "x", "surprise": 1},
            {"name": "x", "id": "dup"},
            {"name": "y", "id": "dup"},
        )
    )
    error = assert_invalid(
        r,
        "events[2].kind",
        "events[3].name",
        "events[4]",
        "events[5].properties",
        "events[6].timestamp",
        "events[7].timestamp",
        "events[8].id",
        "events[9].name",
        "events[10].surprise",
        "events[12].id",
    )
    assert (
        error["message"] == "events[2].kind: Must be one of click, conversion, custom, impression."
    )
    assert not Event.objects.exists()


def test_batch_shape_errors(send_events):
    assert_invalid(send_events({"visitor": {"id": "a"}}), "events")
    assert_invalid(send_events({"visitor": {"id": "a"}, "events": []}), "events")
    assert_invalid(send_events({"visitor": {"id": "a"}, "events": {"name": "x"}}), "events")
    assert_invalid(send_events({"events": [{"name": "x"}]}), "events[0].visitor_id")
    assert_invalid(send_events({"visitor": "a", "events": [{"name": "x"}]}), "visitor")
    assert_invalid(
        send_events({"visitor": {"id": "a", "consent": 0}, "events": [{"name": "x"}]}),
        "visitor.consent",
    )


def test_batch_size_limit(send_events):
    r = send_events(batch(*[{"name": "x"} for _ in range(501)]))
    assert_invalid(r, "events")
    assert send_events(batch(*[{"name": "x"} for _ in range(500)])).json()["stored"] == 500


def test_property_limits(send_events):
    deep = {"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}}
    wide = {f"k{i}": i for i in range(101)}
    big = {"blob": "x" * 9000}
    long_key = {"k" * 101: 1}
    r = send_events(
        batch(
            {"name": "x", "properties": deep},
            {"name": "x", "properties": wide},
            {"name": "x", "properties": big},
            {"name": "x", "properties": long_key},
        )
    )
    error = assert_invalid(
        r,
        "events[0].properties",
        "events[1].properties",
        "events[2].properties",
        "events[3].properties",
    )
    messages = [f["message"] for f in error["fields"]]
    assert any("levels deep" in m for m in messages) and any("100 keys" in m for m in messages)
    assert any("KB" in m for m in messages)


def test_consent_false_stores_nothing(send_events, site):
    r = send_events(
        batch({"id": "c1", "name": "x"}, visitor={"id": "anon", "user_id": "u-1", "consent": False})
    )
    assert r.status_code == 202
    assert r.json() == {"received": 1, "stored": 0, "duplicates": 0, "consent": False}
    assert not Event.objects.exists() and not Profile.objects.exists()


def test_known_user_events_attach_to_profile_and_refresh_recent_events(
    send_events, site, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        r = send_events(
            batch(
                {"id": "p1", "kind": "conversion", "name": "purchase", "properties": {"price": 9}},
                {"id": "p2", "name": "view", "user_id": "u-other"},
                visitor={"id": "anon-1", "user_id": "u-1"},
            )
        )
    assert r.json()["stored"] == 2
    profile = Profile.objects.get(site=site, user_id="u-1")
    assert Event.objects.get(event_id="p1").profile == profile
    assert Event.objects.get(event_id="p2").profile.user_id == "u-other"
    assert [e["name"] for e in profile.recent_events] == ["purchase"]
    assert profile.recent_events[0]["properties"] == {"price": 9}


def test_linked_anonymous_visitor_events_attach_to_the_person(send_events, site):
    profile = Profile.objects.create(site=site, user_id="u-1")
    VisitorLink.objects.create(site=site, visitor_id="anon-1", profile=profile)
    send_events(batch({"id": "l1", "name": "x"}))
    assert Event.objects.get(event_id="l1").profile == profile


def test_events_feed_decide_for_known_visitor(
    send_events, decide, site, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        send_events(
            batch({"name": "purchase", "kind": "conversion"}, visitor={"id": "a", "user_id": "u-7"})
        )
    r = decide({"visitor": {"id": "a", "user_id": "u-7"}, "placements": ["home_hero"]})
    assert r.json()["placements"]["home_hero"]["variant"] == "buyer"


def test_throttled_per_key(send_events, monkeypatch, site):
    from tests.factories import make_key

    monkeypatch.setattr(ApiKeyRateThrottle, "THROTTLE_RATES", {"api_key": "2/min"})
    assert send_events(batch({"name": "x"})).status_code == 202
    assert send_events(batch({"name": "x"})).status_code == 202
    r = send_events(batch({"name": "x"}))
    assert r.status_code == 429
    assert r.json()["error"]["code"] == "throttled"
    assert "Retry-After" in r
    assert send_events(batch({"name": "x"}), key=make_key(site, "delivery")).status_code == 202


def test_large_batches_take_the_bulk_path_with_idempotency_kept(
    send_events, site, django_capture_on_commit_callbacks
):
    """At least COPY_MIN_EVENTS events: COPY on PostgreSQL (one INSERT elsewhere). Retries,
    overlapping retries and events without ids all count
    exactly, and the people's recent events are refreshed."""
    from delivery.services import COPY_MIN_EVENTS

    n = COPY_MIN_EVENTS + 20
    now = timezone.now()
    events = [
        {
            "id": f"big-{i}",
            "name": "purchase" if i % 2 else "view",
            "properties": {"price": i, "tags": ["a", "é"], "quote": 'say "hi"\t\\n'},
            "timestamp": (now - timedelta(minutes=i)).isoformat(),
        }
        for i in range(n)
    ]
    body = batch(*events, visitor={"id": "anon-big", "user_id": "u-big"})
    with django_capture_on_commit_callbacks(execute=True):
        first = send_events(body).json()
    assert first == {
        "received": n,
        "stored": n,
        "duplicates": 0,
        "consent": True,
    }
    stored = Event.objects.get(site=site, event_id="big-3")
    assert stored.properties == {"price": 3, "tags": ["a", "é"], "quote": 'say "hi"\t\\n'}
    assert stored.profile.user_id == "u-big" and stored.kind == "custom"
    assert abs(stored.occurred_at - (now - timedelta(minutes=3))) < timedelta(seconds=1)
    profile = Profile.objects.get(site=site, user_id="u-big")
    assert len(profile.recent_events) == n and profile.recent_events[0]["name"] == "view"
    assert send_events(body).json()["duplicates"] == n
    overlap = [*events[-10:], *({"id": f"more-{i}", "name": "x"} for i in range(n))]
    overlap.append({"name": "no-id"})
    again = send_events(batch(*overlap)).json()
    assert again == {
        "received": len(overlap),
        "stored": n + 1,
        "duplicates": 10,
        "consent": True,
    }
    assert Event.objects.filter(site=site).count() == 2 * n + 1
