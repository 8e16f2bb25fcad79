"""Privacy you can prove: retention purges, no raw IP anywhere, export and erasure that
cover every table (walked through every model of every app), consent false stores nothing."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.apps import apps
from django.conf import settings
from django.db import models
from django.template import Context, Template
from django.test import RequestFactory
from django.utils import timezone

from analytics.models import MetricDay, VariantDay
from analytics.services.metrics import metric_create
from analytics.services.retention import retention_purge
from analytics.services.rollups import rollups_refresh
from analytics.tasks import purge_expired, refresh_rollups
from segments.models import Event, Profile, VisitorLink
from tests.delivery.conftest import post, put, signed

IP = "203.0.113.77"
TEXT_FIELDS = (models.CharField, models.TextField, models.JSONField)


def rows_naming(*needles: str) -> dict[str, int]:
    """Every stored row of every model whose text or JSON columns contain a needle."""
    found: dict[str, int] = {}
    for model in apps.get_models():
        if not model._meta.managed or model._meta.proxy:
            continue
        columns = [f.attname for f in model._meta.concrete_fields if isinstance(f, TEXT_FIELDS)]
        if not columns:
            continue
        for row in model._default_manager.values_list(*columns):
            text = json.dumps(row, default=str)
            if any(n in text for n in needles):
                found[model._meta.label] = found.get(model._meta.label, 0) + 1
    return found


def test_the_walk_finds_what_is_there(site):
    Profile.objects.create(site=site, user_id="needle-1", traits={"note": "needle-2"})
    assert rows_naming("needle-1") == {"segments.Profile": 1}
    assert rows_naming("needle-2") == {"segments.Profile": 1}


@pytest.fixture
def person(site, config, api_client, delivery_key, server_key, settings):
    """A known person seen on two devices, with attributed events, a server-rendered
    impression, a static-segment membership, and rollups built over all of it."""
    metric_create(site=site, key="bought", name="Bought", kind="conversion", event="purchase")
    from delivery.snapshot import snapshot_forget
    from experiments.models import Arm, Experiment, ExperimentPhase
    from tenancy.services import site_config_bump

    # A running experiment on the banner: the decides record the person's arms.
    experiment = Experiment.objects.create(
        site=site, key="erase-test", name="t", placement=config["banner"], status="running"
    )
    Arm.objects.create(experiment=experiment, key="control", is_control=True)
    Arm.objects.create(
        experiment=experiment,
        key="treat",
        content_variant=config["banner"].variants.get(key="adult-banner"),
    )
    ExperimentPhase.objects.create(
        experiment=experiment, number=1, started_at=experiment.created_at, coverage=1.0
    )
    site_config_bump(site_id=site.pk)
    snapshot_forget(site.pk)
    for anon in ("anon-erase-1", "anon-erase-2"):
        r = post(
            api_client,
            "/api/v1/decide",
            signed(
                site, {"visitor": {"id": anon, "user_id": "erase-me-42"}, "context": {"ip": IP}}
            ),
            delivery_key,
            REMOTE_ADDR=IP,
        )
        assert r.status_code == 200
        r = post(
            api_client,
            "/api/v1/events",
            signed(
                site,
                {
                    "visitor": {"id": anon, "user_id": "erase-me-42"},
                    "events": [
                        {
                            "kind": "impression",
                            "name": "impression",
                            "slot": "home_hero",
                            "variant": "hero-default",
                            "reason": {"kind": "default"},
                        },
                        {
                            "kind": "click",
                            "name": "click",
                            "slot": "home_hero",
                            "variant": "hero-default",
                        },
                        {
                            "kind": "conversion",
                            "name": "purchase",
                            "properties": {"price": 5, "from": anon},
                        },
                    ],
                },
            ),
            delivery_key,
            REMOTE_ADDR=IP,
        )
        assert r.status_code == 202, r.content
    put(api_client, "/api/v1/profiles/erase-me-42", {"visitor_ids": ["anon-erase-3"]}, server_key)
    from segments.models import Segment, StaticMember

    StaticMember.objects.create(
        segment=Segment.objects.get(site=site, key="vip"), user_id="erase-me-42"
    )
    settings.PERSONALIZE_SITE = site.slug
    request = RequestFactory().get("/", REMOTE_ADDR=IP)
    request.COOKIES["pz_vid"] = "anon-erase-3"
    request.personalize_user_id = "erase-me-42"
    Template('{% load personalize %}{% personalize "home_hero" %}').render(
        Context({"request": request})
    )
    rollups_refresh(site=site, now=timezone.now() + timedelta(minutes=5))
    assert (
        VariantDay.objects.filter(site=site).exists()
        and MetricDay.objects.filter(site=site).exists()
    )
    return "erase-me-42"


NEEDLES = ("erase-me-42", "anon-erase-1", "anon-erase-2", "anon-erase-3")


def test_no_raw_ip_is_stored_anywhere(person):
    assert rows_naming(person), "the person is stored"
    assert rows_naming(IP) == {}


def test_export_covers_every_table_that_names_the_person(person, api_client, server_key):
    named = rows_naming(*NEEDLES)
    assert set(named) == {
        "segments.Profile",
        "segments.VisitorLink",
        "segments.Event",
        "segments.StaticMember",
        "experiments.Assignment",
    }, named
    body = api_client.get(
        "/api/v1/profiles/erase-me-42", HTTP_AUTHORIZATION=f"Api-Key {server_key}"
    ).json()
    assert len(body["events"]) == Event.objects.filter(profile__user_id=person).count() == 7
    assert {v["visitor_id"] for v in body["visitor_ids"]} == {
        "anon-erase-1",
        "anon-erase-2",
        "anon-erase-3",
    }
    assert body["static_segments"] == ["vip"]
    from experiments.models import Assignment

    units = {a["unit_id"] for a in body["experiment_assignments"]}
    assert units and units == set(Assignment.objects.values_list("unit_id", flat=True))
    attributed = [e for e in body["events"] if e["kind"] == "impression"]
    assert len(attributed) == 3


def test_erasure_leaves_no_trace_in_any_table(person, api_client, server_key, site):
    rollup_rows = VariantDay.objects.count(), MetricDay.objects.count()
    # The person's behavioural counters (the "buyers" segment counts purchases) go too.
    assert Profile.objects.get(site=site, user_id=person).counters
    r = api_client.delete(
        "/api/v1/profiles/erase-me-42", HTTP_AUTHORIZATION=f"Api-Key {server_key}"
    )
    assert r.status_code == 204
    assert rows_naming(*NEEDLES) == {}
    # Rollups are counts without people: they survive, and never named anyone.
    assert (VariantDay.objects.count(), MetricDay.objects.count()) == rollup_rows


def test_consent_false_stores_nothing(site, config, api_client, delivery_key, settings):
    body = signed(site, {"visitor": {"id": "anon-shy", "user_id": "shy-1", "consent": False}})
    assert post(api_client, "/api/v1/decide", body, delivery_key, REMOTE_ADDR=IP).status_code == 200
    events = {
        **body,
        "events": [
            {"kind": "impression", "name": "impression", "slot": "home_hero", "variant": "x"}
        ],
    }
    assert post(api_client, "/api/v1/events", events, delivery_key).json()["stored"] == 0
    settings.PERSONALIZE_SITE = site.slug
    request = RequestFactory().get("/")
    request.COOKIES.update({"pz_vid": "anon-shy", "pz_consent": "0"})
    Template('{% load personalize %}{% personalize "home_hero" %}').render(
        Context({"request": request})
    )
    refresh_rollups()
    assert rows_naming("anon-shy", "shy-1", IP) == {}
    assert not VariantDay.objects.exists()


def test_retention_purges_old_events_and_people(site, settings):
    now = timezone.now()
    site.retention_days = 30
    site.save()
    old = Profile.objects.create(site=site, user_id="old", last_seen=now - timedelta(days=40))
    VisitorLink.objects.create(site=site, visitor_id="anon-old", profile=old)
    recent = Profile.objects.create(site=site, user_id="recent", last_seen=now - timedelta(days=2))
    for days, profile in ((45, recent), (31, None), (29, None), (1, recent), (35, old)):
        Event.objects.create(
            site=site,
            profile=profile,
            visitor_id="v",
            name=f"e{days}",
            occurred_at=now - timedelta(days=days),
        )
    VariantDay.objects.create(
        site=site,
        day=(now - timedelta(days=60)).date(),
        slot="s",
        variant="v",
        reason="default",
        impressions=5,
    )
    recent.counters = {
        "k": [(now - timedelta(days=d)).timestamp() for d in (1, 45)],
        "old-only": [(now - timedelta(days=50)).timestamp()],
    }
    recent.save()
    purge = retention_purge(site=site, now=now)
    # Counters age out with the events: only the day-1 timestamp is left.
    recent.refresh_from_db()
    assert recent.counters == {"k": [(now - timedelta(days=1)).timestamp()]}
    assert purge.events == 3 and purge.profiles == 1 and purge.visitor_links == 1
    assert sorted(Event.objects.values_list("name", flat=True)) == ["e1", "e29"]
    assert list(Profile.objects.values_list("user_id", flat=True)) == ["recent"]
    assert not VisitorLink.objects.exists()
    assert VariantDay.objects.count() == 1  # aggregates outlive the events
    assert purge_expired() == 0  # nothing left to purge


def test_periodic_tasks_are_scheduled():
    from personalize.celery import app

    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"analytics.refresh_rollups", "analytics.purge_expired"} <= tasks
    app.loader.import_default_modules()
    assert {"analytics.refresh_rollups", "analytics.purge_expired"} <= set(app.tasks)
