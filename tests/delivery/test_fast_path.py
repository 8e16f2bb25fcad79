"""The delivery API's lean middleware stack, the eager-Celery check, the lean profile read
and stored event times."""

from __future__ import annotations

from datetime import UTC, datetime

from django.core import checks
from django.test import override_settings

from delivery import engine
from delivery.checks import eager_celery_refused
from delivery.selectors import DECIDE_PROFILE_COLUMNS, profile_for_decide
from segments.models import Profile


def test_api_paths_skip_sessions_csrf_and_messages(client, delivery_key, site, monkeypatch):
    from delivery import views

    seen = {}
    original_post = views.DecideView.post

    def post_spy(self, request):
        seen["session"] = hasattr(request._request, "session")
        seen["messages"] = hasattr(request._request, "_messages")
        return original_post(self, request)

    monkeypatch.setattr(views.DecideView, "post", post_spy)
    r = client.post(
        "/api/v1/decide",
        '{"visitor": {"id": "a"}}',
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Api-Key {delivery_key}",
    )
    assert r.status_code == 200
    assert seen == {"session": False, "messages": False}
    assert r.headers["X-Content-Type-Options"] == "nosniff"  # SecurityMiddleware still runs
    assert "Vary" not in r.headers or "Cookie" not in r.headers["Vary"]


def test_other_paths_keep_the_whole_stack(client):
    r = client.get("/admin/login/")
    assert r.status_code == 200
    assert r.headers["X-Frame-Options"] == "DENY" and "csrftoken" in r.cookies


def test_api_errors_keep_the_envelope_through_the_lean_stack(client, site):
    r = client.post("/api/v1/decide", "{}", content_type="application/json")
    assert r.status_code == 401 and r.json()["error"]["code"] == "api_key_missing"


def test_eager_celery_is_refused_in_production_unless_allowed():
    with override_settings(DEBUG=False, CELERY_TASK_ALWAYS_EAGER=True, CELERY_ALLOW_EAGER=False):
        (error,) = eager_celery_refused()
        assert error.id == "delivery.E001" and error.level == checks.ERROR
        assert "CELERY_BROKER_URL" in error.hint
    with override_settings(DEBUG=False, CELERY_TASK_ALWAYS_EAGER=True, CELERY_ALLOW_EAGER=True):
        assert eager_celery_refused() == []
    with override_settings(DEBUG=False, CELERY_TASK_ALWAYS_EAGER=False, CELERY_ALLOW_EAGER=False):
        assert eager_celery_refused() == []
    with override_settings(DEBUG=True, CELERY_TASK_ALWAYS_EAGER=True, CELERY_ALLOW_EAGER=False):
        assert eager_celery_refused() == []


def test_lean_profile_read_matches_the_orm(site):
    seen = datetime(2026, 11, 1, 12, 30, tzinfo=UTC)
    Profile.objects.create(
        site=site,
        user_id="u-lean",
        traits={"age": 30, "tags": ["a"]},
        recent_events=[engine.stored_event("buy", {"p": 1}, seen)],
        visit_count=3,
        first_seen=seen,
        last_seen=seen,
        bucketing_id="anon-lean",
        experiment_assignments={"hero-test": "2:treatment"},
    )
    Profile.objects.filter(user_id="u-lean").update(counters={"abc": [1.5, 0.25]})
    got = profile_for_decide(site_id=site.pk, user_id="u-lean", with_counters=True)
    orm = Profile.objects.filter(user_id="u-lean").values(*DECIDE_PROFILE_COLUMNS)[0]
    assert got == orm
    assert got["first_seen"] == seen and got["first_seen"].tzinfo is not None
    lean = profile_for_decide(site_id=site.pk, user_id="u-lean", with_events=False)
    assert lean == {**orm, "recent_events": [], "counters": {}}
    assert profile_for_decide(site_id=site.pk, user_id="nobody") is None


def test_stored_event_times_are_read_without_parsing_and_agree_with_parsing():
    from segments.criteria.values import parse_when

    at = datetime(2026, 11, 29, 23, 15, tzinfo=UTC)
    stored = engine.stored_event("view", {}, at)
    doc = engine.prepare_document({"events": [stored, {**stored, "at": None}]})
    fast, parsed = doc["events"]
    assert fast["timestamp"] == parsed["timestamp"] == parse_when(stored["timestamp"])
    assert type(fast["timestamp"]) is type(parse_when(stored["timestamp"]))


def test_a_site_reads_recent_events_only_when_a_rule_counts_them(site, other_site):
    from delivery.snapshot import snapshot_build
    from tests.delivery.conftest import build_site_config

    assert snapshot_build(other_site.pk).reads_events is False  # no segments at all
    build_site_config(site)
    assert snapshot_build(site.pk).reads_events is True


def test_the_snapshot_cache_drops_least_recently_used_sites(settings, site):
    import dataclasses

    from delivery import snapshot as snapshots

    built = snapshots.snapshot_build(site.pk)
    size = snapshots.snapshot_size(built)
    settings.PERSONALIZE_SNAPSHOT_CACHE_SITES = 3
    settings.PERSONALIZE_SNAPSHOT_CACHE_MB = 1000
    for i in range(5):
        snapshots.snapshot_install(dataclasses.replace(built, site_id=1000 + i))
    assert set(snapshots._entries) == {1002, 1003, 1004}
    snapshots.snapshot_get(1002)  # a hit makes it the most recently used
    snapshots.snapshot_install(dataclasses.replace(built, site_id=1005))
    assert set(snapshots._entries) == {1002, 1004, 1005}
    assert snapshots.snapshot_cache_stats() == {"sites": 3, "bytes": 3 * size}
    # a memory bound of about two snapshots keeps two
    settings.PERSONALIZE_SNAPSHOT_CACHE_MB = 2.5 * size / 1024 / 1024
    snapshots.snapshot_install(dataclasses.replace(built, site_id=1006))
    assert set(snapshots._entries) == {1005, 1006}
    snapshots.snapshot_forget()
    assert snapshots.snapshot_cache_stats() == {"sites": 0, "bytes": 0}


def test_an_evicted_site_is_rebuilt_on_its_next_decide(settings, site, other_site):
    from delivery import snapshot as snapshots

    settings.PERSONALIZE_SNAPSHOT_CACHE_SITES = 1
    first = snapshots.snapshot_get(site.pk)
    snapshots.snapshot_get(other_site.pk)
    assert set(snapshots._entries) == {other_site.pk}
    again = snapshots.snapshot_get(site.pk)
    assert again is not first and again.version == first.version
