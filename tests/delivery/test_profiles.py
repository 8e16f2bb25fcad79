"""PUT/GET/DELETE /api/v1/profiles/<user_id>: upsert, export, complete erasure."""

from __future__ import annotations

from segments.models import Event, Profile, Segment, StaticMember, VisitorLink
from tests.delivery.conftest import post, put, signed


def auth(key):
    return {"HTTP_AUTHORIZATION": f"Api-Key {key}"}


def test_upsert_creates_then_merges(api_client, server_key, site):
    r = put(
        api_client,
        "/api/v1/profiles/u-1",
        {"traits": {"age": 27, "city": "Detroit", "tags": ["a"]}},
        server_key,
    )
    assert r.status_code == 201
    body = r.json()
    assert body["user_id"] == "u-1" and body["traits"] == {
        "age": 27,
        "city": "Detroit",
        "tags": ["a"],
    }
    assert body["consent"] is True and body["visitor_ids"] == [] and body["visit_count"] == 0
    r = put(
        api_client,
        "/api/v1/profiles/u-1",
        {"traits": {"age": 28, "city": None, "tier": "gold"}},
        server_key,
    )
    assert r.status_code == 200
    assert r.json()["traits"] == {"age": 28, "tags": ["a"], "tier": "gold"}
    r = put(api_client, "/api/v1/profiles/u-1/", {}, server_key)  # trailing slash, empty body
    assert r.status_code == 200 and r.json()["traits"]["tier"] == "gold"


def test_linking_anonymous_ids_brings_their_events(api_client, server_key, delivery_key, site):
    post(
        api_client,
        "/api/v1/events",
        {"visitor": {"id": "anon-1"}, "events": [{"id": "a1", "name": "x"}]},
        delivery_key,
    )
    other = Profile.objects.create(site=site, user_id="u-old")
    VisitorLink.objects.create(site=site, visitor_id="anon-2", profile=other)
    r = put(api_client, "/api/v1/profiles/u-1", {"visitor_ids": ["anon-1", "anon-2"]}, server_key)
    assert r.json()["visitor_ids"] == ["anon-1", "anon-2"]
    profile = Profile.objects.get(site=site, user_id="u-1")
    assert Event.objects.get(event_id="a1").profile == profile
    assert VisitorLink.objects.get(visitor_id="anon-2").profile == profile
    assert [e["name"] for e in profile.recent_events] == ["x"]


def test_export_returns_everything_held(api_client, server_key, delivery_key, site):
    put(
        api_client,
        "/api/v1/profiles/u-1",
        {"traits": {"age": 27}, "visitor_ids": ["anon-1"]},
        server_key,
    )
    post(
        api_client,
        "/api/v1/events",
        {
            "visitor": {"id": "anon-1"},
            "events": [{"id": "e1", "name": "view", "properties": {"p": 1}}],
        },
        delivery_key,
    )
    post(
        api_client,
        "/api/v1/decide",
        signed(site, {"visitor": {"id": "anon-1", "user_id": "u-1"}, "context": {"city": "Oslo"}}),
        delivery_key,
    )
    r = api_client.get("/api/v1/profiles/u-1", **auth(server_key))
    assert r.status_code == 200
    body = r.json()
    assert body["user_id"] == "u-1" and body["traits"] == {"age": 27}
    assert [v["visitor_id"] for v in body["visitor_ids"]] == ["anon-1"]
    assert [(e["id"], e["name"], e["properties"]) for e in body["events"]] == [
        ("e1", "view", {"p": 1})
    ]
    assert body["visit_count"] == 1 and body["last_context"]["city"] == "Oslo"
    for key in ("first_seen", "last_seen", "created_at", "updated_at", "recent_events", "consent"):
        assert key in body


def test_unknown_person_is_404(api_client, server_key, site):
    r = api_client.get("/api/v1/profiles/nobody", **auth(server_key))
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert api_client.delete("/api/v1/profiles/nobody", **auth(server_key)).status_code == 404


def test_erase_leaves_nothing(api_client, server_key, delivery_key, site, other_site):
    put(
        api_client,
        "/api/v1/profiles/u-1",
        {"traits": {"age": 27}, "visitor_ids": ["anon-1", "anon-2"]},
        server_key,
    )
    post(
        api_client,
        "/api/v1/events",
        {
            "visitor": {"id": "anon-1"},
            "events": [
                {"id": "e1", "name": "a"},
                {"id": "e2", "name": "b", "visitor_id": "anon-2"},
                signed(site, {"visitor": {"user_id": "u-1"}})["visitor"]
                | {"id": "e3", "name": "c"},
                {"id": "keep", "name": "d", "visitor_id": "someone-else"},
            ],
        },
        delivery_key,
    )
    Event.objects.create(site=site, visitor_id="u-1", name="legacy")  # recorded under the user id
    vip = Segment.objects.create(site=site, key="vip", name="VIP", kind="static")
    StaticMember.objects.create(segment=vip, user_id="u-1")
    StaticMember.objects.create(segment=vip, user_id="u-2")
    # the same user id on another site is another person and must survive
    theirs = Profile.objects.create(site=other_site, user_id="u-1")
    Event.objects.create(site=other_site, profile=theirs, visitor_id="anon-1", name="theirs")

    r = api_client.delete("/api/v1/profiles/u-1", **auth(server_key))
    assert r.status_code == 204

    assert not Profile.objects.filter(site=site, user_id="u-1").exists()
    assert not VisitorLink.objects.filter(site=site).exists()
    assert list(Event.objects.filter(site=site).values_list("event_id", flat=True)) == ["keep"]
    assert list(StaticMember.objects.filter(segment=vip).values_list("user_id", flat=True)) == [
        "u-2"
    ]
    assert Profile.objects.filter(site=other_site, user_id="u-1").exists()
    assert Event.objects.filter(site=other_site).count() == 1
    assert api_client.get("/api/v1/profiles/u-1", **auth(server_key)).status_code == 404


def test_consent_withdrawal_clears_tracking_and_stops_it(
    api_client, server_key, delivery_key, site
):
    put(api_client, "/api/v1/profiles/u-1", {"traits": {"age": 27}}, server_key)
    post(
        api_client,
        "/api/v1/decide",
        signed(site, {"visitor": {"id": "a", "user_id": "u-1"}, "context": {"city": "Oslo"}}),
        delivery_key,
    )
    assert Profile.objects.get(user_id="u-1").last_context
    r = put(api_client, "/api/v1/profiles/u-1", {"consent": False}, server_key)
    assert r.json()["consent"] is False
    profile = Profile.objects.get(user_id="u-1")
    assert profile.last_context == {} and profile.recent_events == []
    post(
        api_client,
        "/api/v1/decide",
        signed(site, {"visitor": {"id": "a", "user_id": "u-1"}, "context": {"city": "Rome"}}),
        delivery_key,
    )
    profile.refresh_from_db()
    assert profile.last_context == {} and profile.visit_count == 1


def test_export_lists_bucketing_id_counters_and_experiment_arms(
    api_client, server_key, site, other_site
):
    from django.utils import timezone

    from experiments.models import Assignment, Experiment
    from segments.models import Profile

    put(api_client, "/api/v1/profiles/u-9", {"visitor_ids": ["anon-9"]}, server_key)
    Profile.objects.filter(site=site, user_id="u-9").update(
        bucketing_id="anon-9", counters={"k1": [1.0]}
    )
    from content.models import Placement

    slot = Placement.objects.create(site=site, key="exp-slot", name="s", kind="text")
    experiment = Experiment.objects.create(site=site, key="exp", name="e", placement=slot)
    now = timezone.now()
    Assignment.objects.create(
        site=site,
        experiment=experiment,
        phase=1,
        unit_id="anon-9",
        arm_key="b",
        probability=0.5,
        first_exposed_at=now,
    )
    Assignment.objects.create(  # someone else's unit
        site=site,
        experiment=experiment,
        phase=1,
        unit_id="anon-other",
        arm_key="a",
        probability=0.5,
        first_exposed_at=now,
    )
    body = api_client.get("/api/v1/profiles/u-9", **auth(server_key)).json()
    assert body["bucketing_id"] == "anon-9" and body["behaviour_counters"] == {"k1": [1.0]}
    assert [
        (a["experiment"], a["phase"], a["arm"], a["unit_id"])
        for a in body["experiment_assignments"]
    ] == [("exp", 1, "b", "anon-9")]
