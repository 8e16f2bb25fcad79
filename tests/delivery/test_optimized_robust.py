"""Optimized slots that must not break anything: a broken optimization (variant not live,
a model that does not load, an arm no longer eligible) is skipped and reported while the
rest of the site decides; hostile feature values never answer 500 and are logged as
storable JSON; the template tag logs its decisions; erasure deletes a person's decisions."""

from __future__ import annotations

import json

import pytest
from django.template import Context, Template
from django.test import RequestFactory

from content.models import ContentVariant
from delivery import engine
from delivery.services import decide_for_visitor, storable_value
from delivery.snapshot import snapshot_get
from delivery.validation import DecideInput
from experiments.models import Optimization, PolicyDecision
from segments.models import Profile
from tenancy import jsonsafe
from tests.analytics.test_privacy import rows_naming
from tests.delivery.conftest import post, signed
from tests.delivery.optimized_fixtures import (
    DESKTOP,
    KEY,
    bump,
    make_optimization,
    model,
    promote,
)


def banner(decide, visitor, **body):
    r = decide({"visitor": visitor, "placements": ["banner"], **body})
    assert r.status_code == 200, r.content
    return r.json()


@pytest.mark.parametrize(
    "breakage",
    ["bad-json", "missing-tables", "arm-not-eligible", "variant-not-live", "one-arm"],
)
def test_a_broken_optimization_is_skipped_and_reported(decide, site, config, breakage):
    # A healthy optimization on another slot keeps serving.
    make_optimization(
        site,
        config["hero"],
        key="hero-opt",
        arms={"a": "hero-default", "b": "rain"},
        features=[{"kind": "category", "field": "context.device_type"}],
    )
    live = model()
    arms = None
    if breakage == "bad-json":
        live = {"version": "v1", "tree": "not a tree"}
    elif breakage == "missing-tables":
        live = {**model().to_json(), "probabilities": [[0.5, 0.5]]}
    elif breakage == "arm-not-eligible":
        arms = {"adult": "adult-banner", "default": "banner-default"}  # no "half"
    elif breakage == "one-arm":
        live, arms = None, {"adult": "adult-banner"}
    optimization = make_optimization(
        site, config["banner"], live=live, **({"arms": arms} if arms else {})
    )
    if breakage == "variant-not-live":
        draft = ContentVariant.objects.create(
            placement=config["banner"],
            key="draft-only",
            name="Draft",
            body="Unpublished",
            segment=config["detroit"],
        )
        optimization.arms.filter(key="half").update(content_variant=draft)
        bump(site)
    snapshot = snapshot_get(site.pk)
    assert set(snapshot.broken_optimizations) == {KEY}, snapshot.broken_optimizations
    assert [o.key for o in snapshot.optimizations] == ["hero-opt"]
    got = decide({"visitor": {"id": "anon-1"}, "profile": {"age": 40}, "context": DESKTOP})
    assert got.status_code == 200, got.content
    body = got.json()
    assert body["placements"]["banner"]["reason"] == {"kind": "segment", "segment": "adults"}
    assert body["placements"]["home_hero"]["reason"]["optimization"] == "hero-opt"
    assert set(PolicyDecision.objects.values_list("optimization__key", flat=True)) == {"hero-opt"}


def test_two_optimizations_on_one_slot_serve_the_first(site, config):
    make_optimization(site, config["banner"], key="a-first", live=None)
    make_optimization(site, config["banner"], key="b-second", live=None)
    snapshot = snapshot_get(site.pk)
    assert [o.key for o in snapshot.optimizations] == ["a-first"]
    assert "a-first" in snapshot.broken_optimizations["b-second"]


def test_the_snapshot_build_costs_a_few_queries_not_one_per_optimization(
    site, config, django_assert_max_num_queries
):
    from delivery.snapshot import optimizations_compile

    for i in range(5):
        make_optimization(site, config["banner"], key=f"opt-{i}", live=model())
    with django_assert_max_num_queries(2):
        compiled, broken = optimizations_compile(site_id=site.pk)
    assert len(compiled) == 5 and broken == {}


HOSTILE_VALUES = [
    float("nan"),
    float("inf"),
    10**30,
    1e308,
    -1e308,
    "a\ud800b",
    "nul\x00byte",
    "x" * 10_000,
    ["\udfff", float("nan"), 2**70, "ok"],
    {"deep": {"deeper": [1, 2]}},
    True,
]


@pytest.mark.parametrize("value", HOSTILE_VALUES, ids=lambda v: repr(v)[:20])
def test_hostile_feature_values_are_served_and_logged_storable(site, config, value):
    """Past the API's validation (the template tag's path, stored traits): the decide still
    serves the policy's arm and the logged features are storable JSON."""
    make_optimization(
        site,
        config["banner"],
        live=model(),
        features=[
            {"kind": "category", "field": "context.device_type", "top_k": 5},
            {"kind": "number", "field": "profile.age"},
            {"kind": "category", "field": "profile.city"},
            {"kind": "hour", "field": "context.local_time"},
            {"kind": "segment", "segment": "detroit"},
            {"kind": "frequency", "event": "purchase", "within_days": 30},
        ],
    )
    data = DecideInput(
        visitor_id="anon-hostile",
        user_id=None,
        consent=True,
        visitor_extra={},
        profile={"age": value, "city": value},
        context={"device_type": value, "local_time": value, "city": value},
        placements=("banner",),
        screens=None,
        explain=True,
    )
    decision = decide_for_visitor(site_id=site.pk, data=data, caller="server")
    for job in decision.followups:
        job()
    entry = decision.body["placements"]["banner"]
    assert entry["reason"]["kind"] == "optimized"
    json.loads(decision.json())  # the answer encodes
    row = PolicyDecision.objects.get(unit_id="anon-hostile")
    assert jsonsafe.find_problem(row.features) is None
    assert len(json.dumps(row.features)) < 5_000


@pytest.mark.parametrize("value", HOSTILE_VALUES[:8], ids=lambda v: repr(v)[:20])
def test_hostile_values_through_the_api_never_500(decide, site, config, value):
    make_optimization(site, config["banner"], live=model())
    body = {
        "visitor": {"id": "anon-api"},
        "placements": ["banner"],
        "profile": {"age": value, "city": value},
        "context": {"device_type": value, "weather": value},
    }
    raw = json.dumps(body)  # NaN, surrogates and NUL as JSON text, as a client sends them
    r = post_raw(decide, raw)
    assert r.status_code in (200, 400), r.content
    if r.status_code == 200:
        assert r.json()["placements"]["banner"]["reason"]["kind"] == "optimized"
    for row in PolicyDecision.objects.all():
        assert jsonsafe.find_problem(row.features) is None


def post_raw(decide, raw: str):
    return decide(raw, sign=False)


def test_storable_value_keeps_what_is_storable():
    assert storable_value("fine") == "fine"
    assert storable_value(3) == 3 and storable_value(2.5) == 2.5 and storable_value(False) is False
    assert storable_value("a\ud800\x00") == "a\ufffd\ufffd"
    assert storable_value(float("nan")) is None and storable_value(2**64) is None
    assert storable_value(["a", float("inf"), 1]) == ["a", 1]


def test_the_template_tag_logs_its_decision(site, config, settings):
    make_optimization(site, config["banner"], live=model())
    settings.PERSONALIZE_SITE = site.slug
    request = RequestFactory().get("/")
    request.COOKIES["pz_vid"] = "anon-tag"
    html = Template('{% load personalize %}{% personalize "banner" %}').render(
        Context({"request": request})
    )
    row = PolicyDecision.objects.get(unit_id="anon-tag")
    assert row.optimization.key == KEY and row.version == 1
    assert "optimized" in html  # the rendered element carries its reason
    # No consent (cookie): nothing logged.
    request = RequestFactory().get("/")
    request.COOKIES.update({"pz_vid": "anon-tag-shy", "pz_consent": "0"})
    Template('{% load personalize %}{% personalize "banner" %}').render(
        Context({"request": request})
    )
    assert not PolicyDecision.objects.exclude(unit_id="anon-tag").exists()


def test_erasure_deletes_the_persons_decisions(site, config, api_client, delivery_key, server_key):
    optimization = make_optimization(site, config["banner"], live=model())
    for anon in ("anon-erase-1", "anon-erase-2"):
        body = signed(site, {"visitor": {"id": anon, "user_id": "erase-me-7"}, "context": DESKTOP})
        assert post(api_client, "/api/v1/decide", body, delivery_key).status_code == 200
    promote(optimization, model(version="v2"), number=2)
    body = signed(site, {"visitor": {"id": "anon-erase-3", "user_id": "erase-me-7"}})
    assert post(api_client, "/api/v1/decide", body, delivery_key).status_code == 200
    # Someone else's decision stays.
    assert post(api_client, "/api/v1/decide", {"visitor": {"id": "bystander"}}, delivery_key)
    unit = Profile.objects.get(site=site, user_id="erase-me-7").bucketing_id
    assert sorted(
        PolicyDecision.objects.filter(unit_id=unit).values_list("version", flat=True)
    ) == [
        1,
        2,
    ]
    needles = ("erase-me-7", "anon-erase-1", "anon-erase-2", "anon-erase-3")
    assert "experiments.PolicyDecision" in rows_naming(*needles)
    exported = api_client.get(
        "/api/v1/profiles/erase-me-7", HTTP_AUTHORIZATION=f"Api-Key {server_key}"
    ).json()["optimization_decisions"]
    assert [(d["optimization"], d["version"], d["unit_id"]) for d in exported] == [
        (KEY, 1, unit),
        (KEY, 2, unit),
    ]
    r = api_client.delete("/api/v1/profiles/erase-me-7", HTTP_AUTHORIZATION=f"Api-Key {server_key}")
    assert r.status_code == 204
    assert rows_naming(*needles) == {}
    assert list(PolicyDecision.objects.values_list("unit_id", flat=True)) == ["bystander"]
    assert Optimization.objects.filter(pk=optimization.pk).exists()


def test_no_optimization_leaves_decide_as_it_was(site, config):
    snapshot = snapshot_get(site.pk)
    assert snapshot.optimizations == () and snapshot.optimization_features == ()
    doc = engine.visitor_document(
        visitor_id="anon-plain",
        user_id=None,
        consent=True,
        stored=None,
        inline_profile={},
        context={},
    )
    drawn: list[engine.Optimized] = []
    from django.utils import timezone

    engine.decide(snapshot, doc, now=timezone.now(), optimized=drawn)
    assert drawn == []
