"""Behavioural counters end to end: specs follow active segments, backfill with progress,
decide reads counters (exact beyond the recent-events cap) in its one query and scans
until the backfill is complete, ingest keeps them, consent and linking."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from content.services.drafts import content_variant_create, placement_create
from content.services.publishing import slot_publish
from delivery import snapshot as snapshot_module
from delivery.services import RECENT_EVENTS_CAP, profile_upsert
from delivery.validation import validate_profile
from segments.models import CounterSpec, CounterState, Event, Profile, SegmentStatus
from segments.selectors.counters import segment_counter_progress
from segments.services.counters import counter_backfill, counters_ingest, counters_recompute
from segments.services.segments import segment_create, segment_update
from tests.delivery.conftest import post, signed

FREQUENT = {"event": "purchase", "count": {"op": "gte", "value": 3}, "within_days": 30}


@pytest.fixture
def frequent(site):
    """An active 'frequent buyers' segment targeting a placement (created with the site's
    data already there would backfill; here it starts empty)."""
    segment = segment_create(
        site=site,
        key="frequent",
        name="Frequent buyers",
        criteria={"all": [FREQUENT]},
        status=SegmentStatus.ACTIVE,
    )
    offer = placement_create(site=site, key="offer", name="Offer", kind="text")
    content_variant_create(
        placement=offer, key="loyal", name="Loyal", body="Welcome back", segment=segment
    )
    content_variant_create(placement=offer, key="plain", name="Plain", body="Hello")
    slot_publish(slot=offer)
    return segment


def _events(api_client, key, site, user, events):
    body = signed(site, {"visitor": {"id": f"anon-{user}", "user_id": user}, "events": events})
    r = post(api_client, "/api/v1/events", body, key)
    assert r.status_code == 202, r.content
    return r.json()


def _offer(api_client, key, site, user, **extra):
    body = signed(site, {"visitor": {"id": f"anon-{user}", "user_id": user}, **extra})
    r = post(api_client, "/api/v1/decide", body, key)
    assert r.status_code == 200, r.content
    return r.json()["placements"]["offer"]["variant"]


def _purchases(n, days_ago=1):
    at = timezone.now() - timedelta(days=days_ago)
    return [
        {"name": "purchase", "timestamp": (at - timedelta(minutes=i)).isoformat()} for i in range(n)
    ]


def test_a_spec_per_event_condition_follows_active_segments(site, frequent):
    (spec,) = CounterSpec.objects.filter(site=site)
    assert spec.definition == {"event": "purchase", "where": None, "keep": 4}
    # Same condition in another segment: the same spec; archiving both drops it.
    other = segment_create(
        site=site, key="again", name="Again", criteria=FREQUENT, status=SegmentStatus.ACTIVE
    )
    assert CounterSpec.objects.filter(site=site).count() == 1
    segment_update(segment=other, status=SegmentStatus.ARCHIVED)
    assert CounterSpec.objects.filter(site=site).count() == 1
    segment_update(segment=frequent, status=SegmentStatus.ARCHIVED)
    assert not CounterSpec.objects.filter(site=site).exists()


def test_counters_are_exact_beyond_the_recent_events_cap(
    site, frequent, api_client, delivery_key, django_capture_on_commit_callbacks
):
    """Three purchases, then more page views than the profile keeps: the scan of recent
    events no longer sees the purchases, the counters do."""
    with django_capture_on_commit_callbacks(execute=True):
        counter_backfill(spec_id=CounterSpec.objects.get(site=site).pk)
        _events(api_client, delivery_key, site, "u-1", _purchases(3, days_ago=2))
        _events(
            api_client,
            delivery_key,
            site,
            "u-1",
            [{"name": "page_view"} for _ in range(RECENT_EVENTS_CAP + 20)],
        )
    profile = Profile.objects.get(site=site, user_id="u-1")
    assert all(e["name"] == "page_view" for e in profile.recent_events)
    (stamps,) = profile.counters.values()
    assert len(stamps) == 3
    assert _offer(api_client, delivery_key, site, "u-1") == "loyal"
    # Two purchases are not enough, and an inline purchase sent with decide adds one.
    with django_capture_on_commit_callbacks(execute=True):
        _events(api_client, delivery_key, site, "u-2", _purchases(2))
    assert _offer(api_client, delivery_key, site, "u-2") == "plain"
    inline = {"events": [{"name": "purchase"}]}
    assert _offer(api_client, delivery_key, site, "u-2", **inline) == "loyal"
    # Purchases older than the window do not count.
    with django_capture_on_commit_callbacks(execute=True):
        _events(api_client, delivery_key, site, "u-3", _purchases(5, days_ago=40))
    assert _offer(api_client, delivery_key, site, "u-3") == "plain"


def test_decide_scans_until_the_backfill_is_complete(
    site, api_client, delivery_key, django_capture_on_commit_callbacks, monkeypatch
):
    """History stored before the segment exists: the new spec is backfilled in batches
    with progress; meanwhile decide scans recent events (same answer), then reads the
    counter in its one query without loading recent events."""
    for i in range(3):
        Profile.objects.create(site=site, user_id=f"filler-{i}")
    with django_capture_on_commit_callbacks(execute=True):
        _events(api_client, delivery_key, site, "u-old", _purchases(3))
    with mock.patch("segments.services.counters.counters_backfill_queue"):  # not yet
        segment = segment_create(
            site=site,
            key="frequent",
            name="Frequent",
            criteria={"all": [FREQUENT]},
            status=SegmentStatus.ACTIVE,
        )
        offer = placement_create(site=site, key="offer", name="Offer", kind="text")
        content_variant_create(placement=offer, key="loyal", name="L", body="x", segment=segment)
        content_variant_create(placement=offer, key="plain", name="P", body="y")
        slot_publish(slot=offer)
    spec = CounterSpec.objects.get(site=site)
    assert (spec.state, spec.done, spec.total) == (CounterState.BACKFILLING, 0, 4)
    assert segment_counter_progress(segment=segment) == [
        {"event": "purchase", "keep": 4, "state": "backfilling", "done": 0, "total": 4}
    ]
    assert Profile.objects.get(user_id="u-old").counters == {}
    assert _offer(api_client, delivery_key, site, "u-old") == "loyal"  # scanned
    with django_capture_on_commit_callbacks(execute=True):
        counter_backfill(spec_id=spec.pk, batch=3)
    spec.refresh_from_db()
    assert (spec.state, spec.done, spec.total) == (CounterState.READY, 4, 4)
    assert segment_counter_progress(segment=segment)[0]["state"] == "ready"
    assert len(Profile.objects.get(user_id="u-old").counters[spec.key]) == 3
    # The completed backfill bumped the site's version: the next snapshot reads the
    # counter (emptying the recent events changes nothing).
    monkeypatch.setattr(snapshot_module, "CHECK_INTERVAL", 0.0)
    Profile.objects.filter(user_id="u-old").update(recent_events=[])
    assert _offer(api_client, delivery_key, site, "u-old") == "loyal"


def test_known_decide_with_counters_is_still_one_query(
    site, frequent, api_client, delivery_key, django_assert_num_queries
):
    counter_backfill(spec_id=CounterSpec.objects.get(site=site).pk)
    Profile.objects.create(
        site=site, user_id="u-q", counters={CounterSpec.objects.get(site=site).key: [9e9] * 3}
    )
    assert _offer(api_client, delivery_key, site, "u-warm") == "plain"  # warm
    with (
        mock.patch("delivery.services.visit_add"),
        django_assert_num_queries(1) as captured,
    ):
        assert _offer(api_client, delivery_key, site, "u-q") == "loyal"
    (query,) = [q["sql"] for q in captured.captured_queries]
    assert "counters" in query and "recent_events" not in query


def test_consent_withdrawn_clears_counters_and_ingest_counts_nothing(
    site, frequent, api_client, delivery_key
):
    counter_backfill(spec_id=CounterSpec.objects.get(site=site).pk)
    _events(api_client, delivery_key, site, "u-c", _purchases(2))
    assert Profile.objects.get(user_id="u-c").counters
    profile_upsert(site_id=site.pk, user_id="u-c", data=validate_profile({"consent": False}))
    assert Profile.objects.get(user_id="u-c").counters == {}
    _events(api_client, delivery_key, site, "u-c", _purchases(1))
    assert Profile.objects.get(user_id="u-c").counters == {}


def test_linking_anonymous_history_recomputes_counters(site, frequent, api_client, delivery_key):
    counter_backfill(spec_id=CounterSpec.objects.get(site=site).pk)
    body = {"visitor": {"id": "anon-later"}, "events": _purchases(3)}
    assert post(api_client, "/api/v1/events", body, delivery_key).status_code == 202
    Profile.objects.create(site=site, user_id="u-link")
    profile_upsert(
        site_id=site.pk, user_id="u-link", data=validate_profile({"visitor_ids": ["anon-later"]})
    )
    (stamps,) = Profile.objects.get(user_id="u-link").counters.values()
    assert len(stamps) == 3


def test_a_batch_with_skipped_duplicates_recomputes_from_stored_events(site, frequent):
    spec = CounterSpec.objects.get(site=site)
    counter_backfill(spec_id=spec.pk)
    profile = Profile.objects.create(site=site, user_id="u-d")
    now = timezone.now()
    Event.objects.create(
        site=site, profile=profile, visitor_id="v", name="purchase", occurred_at=now
    )
    # The database skipped one of the two (a duplicate id): only the stored one counts.
    counters_ingest(
        site_id=site.pk,
        events=[(profile.pk, "purchase", {}, now), (profile.pk, "purchase", {}, now)],
        complete=False,
    )
    profile.refresh_from_db()
    assert profile.counters == {spec.key: [now.timestamp()]}
    assert counters_recompute(site_id=site.pk, profile_ids=[profile.pk]) == 0  # unchanged


def test_the_upgrade_migration_creates_specs_for_segments_active_before_counters(frequent, site):
    import importlib

    from django.apps import apps as django_apps

    CounterSpec.objects.all().delete()
    migration = importlib.import_module("segments.migrations.0010_counter_specs_for_existing_sites")
    migration.create_specs(django_apps, None)
    specs = list(CounterSpec.objects.filter(site=site))
    assert [s.definition["event"] for s in specs] == ["purchase"]
    assert specs[0].state != CounterState.READY  # the periodic task backfills it
    migration.create_specs(django_apps, None)  # idempotent
    assert CounterSpec.objects.filter(site=site).count() == 1
