"""POST /api/v1/decide: shapes, targeting, known visitors, consent, enrichment, query counts."""

from __future__ import annotations

from unittest import mock

import pytest
from django.utils import timezone

from delivery import snapshot as snapshot_module
from delivery import tasks, visit_buffer
from segments.bucketing import hash_unit
from segments.models import Profile, VisitorLink
from tests.delivery.conftest import DESIGN_DEFAULT, DESIGN_RAIN, post

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1"
)


def test_anonymous_decide_returns_every_placement_and_screen(decide):
    r = decide({"visitor": {"id": "anon-1"}})
    assert r.status_code == 200
    assert r["Content-Type"] == "application/json"
    body = r.json()
    assert body["visitor_id"] == "anon-1"
    assert set(body["placements"]) == {"home_hero", "banner"}
    assert body["placements"]["home_hero"] == {
        "variant": "hero-default",
        "content": {"kind": "html", "body": "<p>Welcome</p>"},
        "language": "en",
        "reason": {"kind": "default"},
    }
    assert body["placements"]["banner"]["content"] == {"kind": "text", "body": "Hello"}
    assert body["screens"] == {
        "home": {
            "variant": "home-default",
            "design": DESIGN_DEFAULT,
            "language": "en",
            "reason": {"kind": "default"},
        }
    }
    assert "explain" not in body and "unknown" not in body


def test_design_example_request_shape(decide):
    r = decide(
        {
            "visitor": {"id": "anon-7f3", "user_id": "u-42"},
            "profile": {"age": 27},
            "context": {
                "device_type": "mobile",
                "os": "iOS",
                "os_version": "17.2",
                "city": "Detroit",
                "local_time": "2026-11-22T19:05:00-05:00",
                "weather": "rain",
            },
            "placements": ["home_hero"],
            "screens": ["home"],
            "explain": False,
        }
    )
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["visitor_id"] == "anon-7f3"
    assert body["placements"] == {
        "home_hero": {
            "variant": "detroit-shoes",
            "content": {"kind": "html", "body": "<p>Detroit shoes</p>"},
            "language": "en",
            "reason": {"kind": "segment", "segment": "detroit"},
        }
    }
    assert body["screens"]["home"] == {
        "variant": "rainy-evening",
        "design": DESIGN_RAIN,
        "language": "en",
        "reason": {"kind": "segment", "segment": "rainy"},
    }


def test_priority_order_decides_between_matching_segments(decide):
    both = decide({"visitor": {"id": "a"}, "context": {"city": "Detroit", "weather": "rain"}})
    assert both.json()["placements"]["home_hero"]["variant"] == "detroit-shoes"
    rain = decide({"visitor": {"id": "a"}, "context": {"city": "Berlin", "weather": "rain"}})
    assert rain.json()["placements"]["home_hero"]["variant"] == "rain"


def test_only_placements_or_only_screens(decide):
    only_p = decide({"visitor": {"id": "a"}, "placements": ["banner"]}).json()
    assert set(only_p["placements"]) == {"banner"} and only_p["screens"] == {}
    only_s = decide({"visitor": {"id": "a"}, "screens": ["home"]}).json()
    assert only_s["placements"] == {} and set(only_s["screens"]) == {"home"}
    neither = decide({"visitor": {"id": "a"}, "placements": [], "screens": []}).json()
    assert neither["placements"] == {} and neither["screens"] == {}


def test_unknown_keys_are_reported_not_failed(decide):
    r = decide({"visitor": {"id": "a"}, "placements": ["banner", "nope"], "screens": ["gone"]})
    assert r.status_code == 200
    body = r.json()
    assert set(body["placements"]) == {"banner"}
    assert body["unknown"] == {"placements": ["nope"], "screens": ["gone"]}


def test_explain_lists_segments_and_traces(decide):
    r = decide(
        {
            "visitor": {"id": "a"},
            "context": {"weather": "rain"},
            "profile": {"age": 40},
            "explain": True,
        }
    )
    explain = r.json()["explain"]
    assert "rainy" in explain["segments"] and "adults" in explain["segments"]
    assert "detroit" not in explain["segments"]
    trace = explain["placements"]["home_hero"]
    assert trace["variant"] == "rain"
    assert [step["variant"] for step in trace["trace"]] == ["vip-hero", "detroit-shoes", "rain"]
    assert trace["trace"][1]["matched"] is False and trace["trace"][2]["matched"] is True
    default_trace = explain["screens"]["home"]["trace"]
    assert default_trace[-1] == {
        "variant": "rainy-evening",
        "segment": "rainy",
        "scheduled": True,
        "matched": True,
    }
    assert explain["context"]["weather"] == "rain"
    assert isinstance(explain["snapshot_version"], int)


def test_trailing_slash_is_accepted(api_client, delivery_key, config):
    r = post(api_client, "/api/v1/decide/", {"visitor": {"id": "a"}}, delivery_key)
    assert r.status_code == 200


def test_server_key_may_decide(api_client, server_key, config):
    r = post(api_client, "/api/v1/decide", {"visitor": {"id": "a"}}, server_key)
    assert r.status_code == 200


def test_inline_profile_targets(decide):
    r = decide({"visitor": {"id": "a"}, "profile": {"age": 30}, "placements": ["banner"]})
    assert r.json()["placements"]["banner"]["variant"] == "adult-banner"


def test_known_visitor_uses_stored_traits_and_inline_overrides(decide, site):
    Profile.objects.create(site=site, user_id="u-1", traits={"age": 44})
    r = decide({"visitor": {"id": "a", "user_id": "u-1"}, "placements": ["banner"]})
    assert r.json()["placements"]["banner"]["variant"] == "adult-banner"
    r = decide(
        {"visitor": {"id": "a", "user_id": "u-1"}, "profile": {"age": 12}, "placements": ["banner"]}
    )
    assert r.json()["placements"]["banner"]["variant"] != "adult-banner"


def test_known_visitor_recent_events_feed_event_criteria(decide, site):
    Profile.objects.create(
        site=site,
        user_id="u-buyer",
        recent_events=[
            {
                "name": "purchase",
                "properties": {"price": 10},
                "timestamp": timezone.now().isoformat(),
            }
        ],
    )
    r = decide({"visitor": {"user_id": "u-buyer"}, "placements": ["home_hero"]})
    assert r.json()["placements"]["home_hero"]["variant"] == "buyer"
    assert r.json()["visitor_id"] == "u-buyer"


def test_static_segment_by_user_id(decide):
    r = decide({"visitor": {"id": "a", "user_id": "u-vip"}, "placements": ["home_hero"]})
    assert r.json()["placements"]["home_hero"] == {
        "variant": "vip-hero",
        "content": {"kind": "html", "body": "<p>VIP</p>"},
        "language": "en",
        "reason": {"kind": "segment", "segment": "vip"},
    }


def _half(unit: str) -> bool:
    return hash_unit("half", unit) < 0.5


def test_rollout_unit_is_the_first_anonymous_id_of_a_person_else_visitor_id(decide):
    """A person keeps the bucket of the anonymous id they first came with, on every device
    (Profile.bucketing_id); someone who never came anonymously is bucketed by user id."""
    users = [f"u-{i}" for i in range(12)]
    for user in users:
        first = f"anon-{user}-first"
        for anon in (first, f"anon-{user}-phone", first):
            got = decide(
                {"visitor": {"id": anon, "user_id": user}, "placements": ["banner"]}
            ).json()
            assert (got["placements"]["banner"]["variant"] == "half-banner") is _half(first)
    assert {_half(f"anon-{u}-first") for u in users} == {True, False}  # both buckets seen
    for user in [f"direct-{i}" for i in range(12)]:
        for _ in range(2):
            got = decide({"visitor": {"user_id": user}, "placements": ["banner"]}).json()
            assert (got["placements"]["banner"]["variant"] == "half-banner") is _half(user)
    for anon in [f"anon-{i}" for i in range(12)]:
        got = decide({"visitor": {"id": anon}, "placements": ["banner"]}).json()
        assert (got["placements"]["banner"]["variant"] == "half-banner") is _half(anon)


def test_user_agent_and_local_time_enrich_context(decide):
    r = decide(
        {
            "visitor": {"id": "a"},
            "context": {"local_time": "2026-11-22T19:05:00-05:00"},
            "explain": True,
        },
        HTTP_USER_AGENT=IPHONE,
    )
    ctx = r.json()["explain"]["context"]
    assert ctx["device_type"] == "mobile" and ctx["os"] == "iOS" and ctx["os_version"] == "17.2"
    assert ctx["local_hour"] == 19 and ctx["local_weekday"] == 7 and ctx["local_day"] == "sunday"


def test_sent_device_wins_over_user_agent(decide):
    r = decide(
        {"visitor": {"id": "a"}, "context": {"device_type": "tv", "os": "Tizen"}, "explain": True},
        HTTP_USER_AGENT=IPHONE,
    )
    ctx = r.json()["explain"]["context"]
    assert ctx["device_type"] == "tv" and ctx["os"] == "Tizen"


def _warm(decide, body):
    """Key cache, api_key_touch's once-a-minute task, snapshot, allowed origins."""
    assert decide(body, HTTP_ORIGIN="https://www.example.com").status_code == 200


def test_anonymous_decide_runs_zero_queries(decide, django_assert_num_queries):
    body = {"visitor": {"id": "anon-zero"}, "context": {"city": "Detroit"}, "explain": True}
    _warm(decide, body)  # key cache, api_key_touch's once-a-minute task, snapshot, origins
    with (
        mock.patch.object(tasks.visits_record_task, "delay") as delay,
        django_assert_num_queries(0),
    ):
        r = decide(body)
        r2 = decide({**body, "placements": ["home_hero"]}, HTTP_ORIGIN="https://www.example.com")
    assert r.status_code == 200 and r2.status_code == 200
    assert r.json()["placements"]["home_hero"]["variant"] == "detroit-shoes"
    delay.assert_not_called()  # anonymous visitors have nothing to record


def test_zero_queries_survive_the_version_check(decide, django_assert_num_queries, monkeypatch):
    body = {"visitor": {"id": "anon-zero"}}
    _warm(decide, body)
    monkeypatch.setattr(
        snapshot_module, "CHECK_INTERVAL", 0.0
    )  # every request re-checks the version
    with django_assert_num_queries(0):
        assert decide(body).status_code == 200


def test_known_visitor_costs_one_query_and_defers_the_visit(
    decide, site, django_assert_num_queries
):
    Profile.objects.create(site=site, user_id="u-1", traits={"age": 44})
    body = {"visitor": {"id": "anon-1", "user_id": "u-1"}, "context": {"city": "Detroit"}}
    # warm: the snapshot, and the site's identity setting (cached like the key)
    _warm(decide, {"visitor": {"id": "warm", "user_id": "u-warm"}})
    with (
        mock.patch.object(tasks.visits_record_task, "delay") as delay,
        mock.patch.object(visit_buffer, "flush_interval", return_value=60.0),
        mock.patch.object(visit_buffer, "_ensure_thread"),
        django_assert_num_queries(1),
    ):
        r = decide(body)
        assert r.status_code == 200
        delay.assert_not_called()  # buffered in the process, not written by the request
        assert visit_buffer.visits_pending() == 1
        assert visit_buffer.visits_flush() == 1
    delay.assert_called_once()
    (visits,) = delay.call_args.args
    assert [(v["site_id"], v["user_id"], v["visitor_ids"]) for v in visits] == [
        (site.pk, "u-1", ["anon-1"])
    ]
    assert visits[0]["context"]["city"] == "Detroit"
    # the task does the writes
    tasks.visits_record_task.apply(args=(visits,))
    profile = Profile.objects.get(site=site, user_id="u-1")
    assert profile.visit_count == 1 and profile.last_context["city"] == "Detroit"
    assert VisitorLink.objects.filter(site=site, visitor_id="anon-1", profile=profile).exists()


def test_repeated_decides_of_a_person_are_coalesced_and_then_skipped(decide, site):
    """Many decides in one flush window: one visit record; once recorded, decides within
    the touch interval with the same anonymous id need no record at all."""
    _warm(decide, {"visitor": {"id": "warm"}})
    with (
        mock.patch.object(visit_buffer, "flush_interval", return_value=60.0),
        mock.patch.object(visit_buffer, "_ensure_thread"),
        mock.patch.object(
            tasks.visits_record_task, "delay", wraps=tasks.visits_record_task.delay
        ) as delay,
    ):
        for city in ("Oslo", "Rome", "Lima"):
            assert (
                decide(
                    {"visitor": {"id": "anon-c", "user_id": "u-c"}, "context": {"city": city}}
                ).status_code
                == 200
            )
        assert visit_buffer.visits_pending() == 1
        visit_buffer.visits_flush()
        assert delay.call_count == 1
        profile = Profile.objects.get(site=site, user_id="u-c")
        assert profile.visit_count == 1 and profile.last_context["city"] == "Lima"
        decide({"visitor": {"id": "anon-c", "user_id": "u-c"}, "context": {"city": "Oslo"}})
        assert visit_buffer.visits_pending() == 0  # nothing would change: not recorded
        decide({"visitor": {"id": "anon-other", "user_id": "u-c"}})
        assert visit_buffer.visits_pending() == 1  # a new anonymous id must be linked
        visit_buffer.visits_flush()
    assert VisitorLink.objects.filter(site=site, profile=profile).count() == 2
    assert Profile.objects.get(pk=profile.pk).visit_count == 1


def test_a_batch_of_visits_counts_a_new_visit_only_after_the_gap(site):
    from datetime import timedelta

    from delivery.services import VISIT_GAP, visits_record

    t0 = timezone.now() - timedelta(hours=3)
    Profile.objects.create(site=site, user_id="old", first_seen=t0, last_seen=t0, visit_count=4)
    Profile.objects.create(site=site, user_id="gone", consent=False, last_seen=t0)

    def visit(user_id, at, ids=()):
        return {
            "site_id": site.pk,
            "user_id": user_id,
            "visitor_ids": list(ids),
            "context": {"city": user_id},
            "first_at": at.isoformat(),
            "last_at": at.isoformat(),
        }

    soon = t0 + VISIT_GAP / 2
    written = visits_record(
        visits=[visit("old", soon), visit("new", soon, ["a-1"]), visit("gone", soon)]
    )
    assert written == 2
    old = Profile.objects.get(site=site, user_id="old")
    assert old.visit_count == 4 and old.last_seen == soon  # same visit
    assert Profile.objects.get(site=site, user_id="new").visit_count == 1
    assert Profile.objects.get(site=site, user_id="gone").visit_count == 0
    later = soon + VISIT_GAP
    visits_record(visits=[visit("old", later), visit("old", later + timedelta(seconds=5))])
    old.refresh_from_db()
    assert old.visit_count == 5 and old.last_seen == later + timedelta(seconds=5)
    assert VisitorLink.objects.get(site=site, visitor_id="a-1").profile.user_id == "new"


def test_the_flush_thread_writes_visits_off_the_request(transactional_db, site, settings):
    """Eager Celery, a real flush thread: the write happens in that thread, not the caller."""
    import threading

    from delivery.services import visits_record as real_visits_record

    settings.PERSONALIZE_VISIT_FLUSH_SECONDS = 0.05
    threads = []

    def spy(**kwargs):
        threads.append(threading.current_thread().name)
        return real_visits_record(**kwargs)

    with mock.patch("delivery.services.visits_record", side_effect=spy):
        visit_buffer.visit_add(
            site_id=site.pk, user_id="u-t", visitor_id=None, context={}, seen_at=timezone.now()
        )
        try:
            for _ in range(100):
                if Profile.objects.filter(site=site, user_id="u-t").exists():
                    break
                threading.Event().wait(0.05)
        finally:
            visit_buffer.visits_stop()
    assert threads == ["personalize-visits"]
    assert Profile.objects.get(site=site, user_id="u-t").visit_count == 1


def test_visits_are_recorded_after_the_response(decide, site):
    """Eager Celery: the task runs when the response is closed (after it was sent)."""
    r = decide(
        {
            "visitor": {"id": "anon-2", "user_id": "u-new"},
            "context": {"weather": "rain", "ip": "1.2.3.4"},
        }
    )
    assert r.status_code == 200
    profile = Profile.objects.get(site=site, user_id="u-new")
    assert profile.visit_count == 1
    assert profile.last_context["weather"] == "rain" and "ip" not in profile.last_context
    assert VisitorLink.objects.get(site=site, visitor_id="anon-2").profile == profile
    decide({"visitor": {"id": "anon-2", "user_id": "u-new"}})
    profile.refresh_from_db()
    assert profile.visit_count == 1  # same visit (within 30 minutes)


def test_follow_ups_run_once_when_the_response_is_closed(caplog):
    from django.core.signals import request_finished
    from django.db import close_old_connections

    from delivery.views import FollowUpResponse

    ran = []

    def fail():
        raise RuntimeError("broker down")

    response = FollowUpResponse(
        b"{}", followups=[lambda: ran.append(1), fail, lambda: ran.append(2)]
    )
    assert ran == []  # nothing before the server closes the sent response
    # As Django's test client does: closing must not touch this test's database connection.
    request_finished.disconnect(close_old_connections)
    try:
        response.close()
        response.close()
    finally:
        request_finished.connect(close_old_connections)
    assert ran == [1, 2] and response.closed
    assert "a follow-up of a sent response failed" in caplog.text


def test_consent_false_ignores_stored_profile_and_stores_nothing(
    decide, site, django_assert_max_num_queries
):
    Profile.objects.create(site=site, user_id="u-1", traits={"age": 44})
    _warm(decide, {"visitor": {"id": "warm"}})
    body = {
        "visitor": {"id": "anon-1", "user_id": "u-1", "consent": False},
        "placements": ["banner"],
    }
    with (
        mock.patch.object(tasks.visits_record_task, "delay") as delay,
        django_assert_max_num_queries(0),
    ):
        r = decide(body)
    assert r.json()["placements"]["banner"]["variant"] != "adult-banner"
    delay.assert_not_called()
    profile = Profile.objects.get(site=site, user_id="u-1")
    assert profile.visit_count == 0 and not VisitorLink.objects.exists()
    # request data is still used
    r = decide({**body, "profile": {"age": 50}})
    assert r.json()["placements"]["banner"]["variant"] == "adult-banner"


def test_consent_false_without_user_creates_nothing(decide, site):
    decide({"visitor": {"id": "anon-9", "user_id": "u-9", "consent": False}})
    assert not Profile.objects.filter(site=site).exists()


def test_withdrawn_consent_on_profile_is_respected(decide, site):
    Profile.objects.create(site=site, user_id="u-1", traits={"age": 44}, consent=False)
    r = decide({"visitor": {"id": "a", "user_id": "u-1"}, "placements": ["banner"]})
    assert r.json()["placements"]["banner"]["variant"] != "adult-banner"
    assert Profile.objects.get(user_id="u-1").visit_count == 0


def test_anonymous_visit_data_from_client(decide):
    r = decide(
        {
            "visitor": {"id": "a", "visit_count": 3, "first_seen": "2026-01-01T00:00:00Z"},
            "explain": True,
        }
    )
    assert r.status_code == 200


def test_other_sites_key_sees_its_own_site_only(api_client, other_site, config):
    from tests.factories import make_key

    key = make_key(other_site, "delivery")
    r = post(
        api_client, "/api/v1/decide", {"visitor": {"id": "a"}, "context": {"city": "Detroit"}}, key
    )
    assert r.status_code == 200
    assert r.json()["placements"] == {} and r.json()["screens"] == {}


@pytest.mark.parametrize("placements", [["home_hero"], None])
def test_publish_reaches_the_snapshot(
    decide, config, monkeypatch, placements, django_capture_on_commit_callbacks
):
    from content.services.drafts import content_variant_create
    from content.services.publishing import slot_publish

    body = {"visitor": {"id": "a"}, "context": {"weather": "snow"}}
    if placements:
        body["placements"] = placements
    assert decide(body).json()["placements"]["home_hero"]["variant"] == "hero-default"
    from segments.services.segments import segment_create

    snow = segment_create(
        site=config["hero"].site,
        key="snow",
        name="Snow",
        criteria={"all": [{"field": "context.weather", "op": "eq", "value": "snow"}]},
        status="active",
    )
    content_variant_create(
        placement=config["hero"],
        key="snow",
        name="Snow",
        body="<p>Snow</p>",
        segment=snow,
        priority=0,
    )
    with django_capture_on_commit_callbacks(execute=True):  # the bump writes the cache on commit
        slot_publish(slot=config["hero"])
    monkeypatch.setattr(snapshot_module, "CHECK_INTERVAL", 0.0)
    assert decide(body).json()["placements"]["home_hero"]["variant"] == "snow"


# --- localization -------------------------------------------------------------------------------


@pytest.fixture
def translated(config, django_capture_on_commit_callbacks):
    """French and Spanish versions of the hero's default and the home screen's default."""
    from content.services.drafts import variant_translations_set
    from content.services.publishing import slot_publish

    site = config["hero"].site
    site.languages = ["fr", "fr-CA", "es"]
    site.save(update_fields=["languages"])
    variant_translations_set(
        variant=config["hero"].variants.get(key="hero-default"),
        translations={"fr": {"body": "<p>Bienvenue</p>"}, "es": {"body": "<p>Bienvenido</p>"}},
    )
    french_design = {"root": {"type": "Stack", "children": [{"type": "Heros"}]}}
    variant_translations_set(
        variant=config["home"].variants.get(key="home-default"),
        translations={"fr-CA": {"design": french_design}},
    )
    with django_capture_on_commit_callbacks(execute=True):
        slot_publish(slot=config["hero"])
        slot_publish(slot=config["home"])
    return {**config, "french_design": french_design}


@pytest.mark.parametrize(
    ("language", "header", "served", "body"),
    [
        ("fr-CA", "", "fr", "<p>Bienvenue</p>"),
        ("FR", "", "fr", "<p>Bienvenue</p>"),
        ("de-CH,es;q=0.8,fr;q=0.5", "", "es", "<p>Bienvenido</p>"),
        (None, "es-MX,es;q=0.9,en;q=0.5", "es", "<p>Bienvenido</p>"),
        ("fr", "es", "fr", "<p>Bienvenue</p>"),  # the context wins over the header
        (None, "de", "en", "<p>Welcome</p>"),
        ("x" * 10_000, "", "en", "<p>Welcome</p>"),
        (None, "fr;q=abc, \x00, *", "en", "<p>Welcome</p>"),
    ],
)
def test_decide_serves_the_visitor_language(decide, translated, language, header, served, body):
    context = {} if language is None else {"language": language}
    extra = {"HTTP_ACCEPT_LANGUAGE": header} if header else {}
    r = decide({"visitor": {"id": "anon-lang"}, "context": context}, **extra)
    assert r.status_code == 200, r.content
    hero = r.json()["placements"]["home_hero"]
    assert (hero["variant"], hero["language"], hero["content"]["body"]) == (
        "hero-default",
        served,
        body,
    )


def test_an_unstorable_language_is_a_400_not_a_fallback(decide, translated):
    """A lone surrogate is refused at validation, as everywhere (never stored or echoed)."""
    r = decide({"visitor": {"id": "anon-lang"}, "context": {"language": "\ud800"}})
    assert r.status_code == 400
    assert r.json()["error"]["fields"][0]["path"].startswith("context")


def test_decide_picks_the_variant_first_then_its_language(decide, translated):
    r = decide({"visitor": {"id": "a"}, "context": {"city": "Detroit", "language": "fr"}})
    body = r.json()
    hero = body["placements"]["home_hero"]
    # Detroit's variant has no French version: it is served in English, not swapped for
    # the default's French one.
    assert (hero["variant"], hero["language"]) == ("detroit-shoes", "en")
    assert body["screens"]["home"]["language"] == "en"  # only fr-CA exists, not fr
    canadian = decide({"visitor": {"id": "a"}, "context": {"language": "fr-CA"}}).json()
    assert canadian["screens"]["home"] == {
        "variant": "home-default",
        "design": translated["french_design"],
        "language": "fr-CA",
        "reason": {"kind": "default"},
    }


def test_decide_explains_the_language_chain(decide, translated):
    r = decide({"visitor": {"id": "a"}, "context": {"language": "fr-CA,es;q=0.5"}, "explain": True})
    explain = r.json()["explain"]
    assert explain["languages"] == ["fr-ca", "fr", "es", "en"]
    assert explain["placements"]["home_hero"]["language"] == "fr"
    assert explain["screens"]["home"]["language"] == "fr-CA"


def test_localized_anonymous_decide_runs_zero_queries(
    decide, translated, django_assert_num_queries
):
    body = {"visitor": {"id": "anon-zero"}, "context": {"language": "fr-CA"}}
    _warm(decide, body)
    with django_assert_num_queries(0):
        r = decide(body, HTTP_ACCEPT_LANGUAGE="es")
        r2 = decide({"visitor": {"id": "anon-zero"}}, HTTP_ACCEPT_LANGUAGE="es;q=0.9")
    assert r.json()["placements"]["home_hero"]["language"] == "fr"
    assert r2.json()["placements"]["home_hero"]["language"] == "es"
