"""Event property suggestions for the builder: the selector reads only the latest events of
one name and ranks what it saw; the admin endpoint answers only for the user's sites and
answers bad input with 400 and the field at fault."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from segments.selectors.event_properties import event_property_suggestions
from tenancy.roles import Role
from tests.factories import user_with_role
from tests.segments.factories import EventFactory, ProfileFactory

pytestmark = pytest.mark.django_db
URL = "/admin/segments/segment/event-properties/"


def _events(site, rows, name="purchase"):
    profile = ProfileFactory(site=site)
    now = timezone.now()
    for i, props in enumerate(rows):
        EventFactory(
            profile=profile, name=name, properties=props, occurred_at=now - timedelta(minutes=i)
        )


def test_ranks_properties_and_frequent_values(site):
    _events(
        site,
        [
            {"category": "shoes", "price": 40, "meta": {"coupon": "SPRING"}},
            {"category": "shoes", "price": 60},
            {"category": "hats", "note": "x" * 200},
        ],
    )
    _events(site, [{"plan": "pro"}], name="signup")
    out = event_property_suggestions(site=site, event="purchase")
    assert out["event"] == "purchase" and out["events_read"] == 3
    by_name = {p["name"]: p for p in out["properties"]}
    assert [p["name"] for p in out["properties"]][:2] == ["category", "price"]
    assert by_name["category"] == {
        "path": "properties.category",
        "name": "category",
        "seen": 3,
        "values": ["shoes", "hats"],
    }
    assert by_name["price"]["values"] == [40, 60]
    assert by_name["meta.coupon"]["path"] == "properties.meta.coupon"
    assert by_name["note"]["values"] == []  # long free text is never suggested
    assert "plan" not in by_name  # another event's properties


def test_reads_only_the_most_recent_events(site):
    _events(site, [{"new": 1}] * 3 + [{"old": 1}] * 3)  # the old ones are older
    out = event_property_suggestions(site=site, event="purchase", recent=3)
    assert out["events_read"] == 3
    assert [p["name"] for p in out["properties"]] == ["new"]


def test_endpoint_answers_for_the_users_sites_only(site, other_site):
    _events(site, [{"category": "shoes"}])
    _events(other_site, [{"secret": "yes"}])
    client = Client()
    client.force_login(user_with_role(site, Role.VIEWER, username="viewer"))
    mine = client.get(URL, {"site": site.pk, "event": "purchase"})
    assert mine.status_code == 200
    assert mine.json()["properties"][0]["path"] == "properties.category"
    theirs = client.get(URL, {"site": other_site.pk, "event": "purchase"})
    assert theirs.status_code == 404 and "secret" not in theirs.content.decode()


def test_endpoint_bad_input_is_a_400_with_paths(site):
    client = Client()
    client.force_login(user_with_role(site, Role.VIEWER, username="viewer"))
    response = client.get(URL, {"site": "x", "event": ""})
    assert response.status_code == 400
    paths = [f["path"] for f in response.json()["error"]["fields"]]
    assert paths == ["site", "event"]
    assert client.get(URL, {"site": site.pk, "event": "e" * 101}).status_code == 400


def test_endpoint_needs_a_staff_login(site):
    response = Client().get(URL, {"site": site.pk, "event": "purchase"})
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
