"""Inline `events` on decide: an app that keeps its visitor's recent events sends them, and
event conditions count them together with the stored events of a known visitor."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from delivery.validation import MAX_INLINE_EVENTS
from segments.models import Event, Profile, SegmentStatus
from segments.services.segments import segment_create

pytestmark = pytest.mark.django_db


def ago(**delta) -> str:
    return (timezone.now() - timedelta(**delta)).isoformat()


def purchase(**delta) -> dict:
    return {"name": "purchase", "properties": {"price": 20}, "timestamp": ago(**delta)}


def hero(r) -> str:
    assert r.status_code == 200, r.content
    return r.json()["placements"]["home_hero"]["variant"]


def test_an_anonymous_visitors_inline_purchase_lands_in_the_buyers_segment(decide):
    assert hero(decide({"visitor": {"id": "a"}})) == "hero-default"
    assert hero(decide({"visitor": {"id": "a"}, "events": [purchase(days=2)]})) == "buyer"
    # `within_days: 30`: an older purchase does not count.
    assert hero(decide({"visitor": {"id": "a"}, "events": [purchase(days=40)]})) == "hero-default"
    # Without a timestamp an event happened now.
    assert hero(decide({"visitor": {"id": "a"}, "events": [{"name": "purchase"}]})) == "buyer"
    assert Event.objects.count() == 0  # counted, never stored


def test_inline_events_count_together_with_stored_ones(decide, site, config):
    segment_create(
        site=site,
        key="repeat-buyers",
        name="Repeat buyers",
        criteria={"event": "purchase", "count": {"op": "gte", "value": 2}, "within_days": 30},
        status=SegmentStatus.ACTIVE,
    )
    now = timezone.now()
    Profile.objects.create(
        site=site,
        user_id="u-1",
        first_seen=now,
        last_seen=now,
        recent_events=[purchase(days=3)],
    )

    def segments(body):
        r = decide({"visitor": {"user_id": "u-1"}, "explain": True, **body})
        assert r.status_code == 200, r.content
        return r.json()["explain"]["segments"]

    assert "buyers" in segments({}) and "repeat-buyers" not in segments({})
    assert "repeat-buyers" in segments({"events": [purchase(hours=1)]})
    # An anonymous visitor has only what it sent.
    r = decide({"visitor": {"id": "x"}, "explain": True, "events": [purchase(hours=1)]})
    assert "repeat-buyers" not in r.json()["explain"]["segments"]


@pytest.mark.parametrize(
    ("events", "path", "message"),
    [
        ("purchase", "events", "Must be a list of events."),
        ([{"name": "x"}] * (MAX_INLINE_EVENTS + 1), "events", "At most 100 events"),
        (["purchase"], "events[0]", "Must be a JSON object."),
        ([{}], "events[0].name", "This field is required."),
        ([{"name": ""}], "events[0].name", "Must be a non-empty string."),
        ([{"name": "x", "kind": "custom"}], "events[0].kind", "Unknown field."),
        ([{"name": "x", "properties": []}], "events[0].properties", "Must be a JSON object."),
        (
            [{"name": "x"}, {"name": "x"}, {"name": "x"}, {"name": "x", "timestamp": "yesterday"}],
            "events[3].timestamp",
            "Must be an ISO 8601 date-time.",
        ),
        (
            [{"name": "x", "timestamp": (timezone.now() + timedelta(days=3)).isoformat()}],
            "events[0].timestamp",
            "Is more than a day in the future.",
        ),
        (
            [{"name": "x", "properties": {"k": "v" * 9000}}],
            "events[0].properties",
            "larger than 8 KB",
        ),
    ],
)
def test_bad_inline_events_get_a_400_with_their_path(decide, events, path, message):
    r = decide({"visitor": {"id": "a"}, "events": events})
    assert r.status_code == 400, r.content
    fields = r.json()["error"]["fields"]
    assert any(f["path"] == path and message in f["message"] for f in fields), fields


def test_the_limit_is_inclusive(decide):
    events = [purchase(days=1) for _ in range(MAX_INLINE_EVENTS)]
    assert hero(decide({"visitor": {"id": "a"}, "events": events})) == "buyer"
