"""Optimized slots in decide: the arm served is the compiled policy's draw for the visitor,
stable across calls and rebuilds, in the shares of the leaf's probabilities (and the
holdout's uniform ones); explain names the model; the reason attributes impressions;
decisions are logged once per unit and model version, never without consent."""

from __future__ import annotations

import math
from collections import Counter
from unittest import mock

import pytest
from django.utils import timezone

from delivery import engine, tasks, visit_buffer
from delivery.services import decide_for_visitor, policy_decisions_record
from delivery.snapshot import snapshot_get
from delivery.validation import validate_decide
from experiments.models import Optimization, PolicyDecision
from experiments.policy import serve
from experiments.policy.features import extract_values
from segments.bucketing import hash_unit
from segments.models import Event, Profile
from tests.delivery.optimized_fixtures import (
    ARMS,
    DESKTOP,
    KEY,
    LEAF_PROBABILITIES,
    MOBILE_EVENING,
    MOBILE_MORNING,
    bump,
    make_optimization,
    model,
    promote,
)

UNITS = [f"anon-{i}" for i in range(300)]
POLICY = model()


@pytest.fixture
def optimization(site, config):
    return make_optimization(site, config["banner"], live=POLICY)


def banner(decide, visitor, **body):
    r = decide({"visitor": visitor, "placements": ["banner"], **body})
    assert r.status_code == 200, r.content
    return r.json()


def expected(unit: str, context: dict, *, policy=POLICY, holdout_share=0.1) -> serve.Decision:
    """The pure policy's draw for a visitor whose document holds `context` (+ the hour)."""
    values = {"context.device_type": context["device_type"]}
    values["hour:context.local_time"] = int(context["local_time"][11:13])
    row = policy.encoder.encode_values(values)
    return serve.decide(policy, row, unit, holdout_share=holdout_share)


def service_decide(site, body: dict, **kwargs):
    decision = decide_for_visitor(
        site_id=site.pk, data=validate_decide(body), caller="server", **kwargs
    )
    for job in decision.followups:
        job()
    return decision.body


def test_the_snapshot_serves_the_live_version(site, optimization):
    snapshot = snapshot_get(site.pk)
    (compiled,) = snapshot.optimizations
    assert compiled.key == KEY and compiled.version == 1 and compiled.holdout_share == 0.1
    assert compiled.policy == POLICY
    assert dict(compiled.variants) == ARMS
    assert snapshot.broken_optimizations == {}


def test_served_arm_is_the_policys_draw(decide, optimization):
    arms = Counter()
    for unit in UNITS[:80]:
        for context in (MOBILE_MORNING, DESKTOP):
            entry = banner(decide, {"id": unit}, context=context)["placements"]["banner"]
            want = expected(unit, context)
            assert entry["reason"] == {
                "kind": "optimized",
                "optimization": KEY,
                "version": 1,
                "arm": want.arm,
            }
            assert entry["variant"] == ARMS[want.arm]
            arms[want.arm] += 1
    assert set(arms) == set(ARMS)


def test_the_same_visitor_gets_the_same_arm_across_calls_and_rebuilds(decide, site, optimization):
    first = {
        u: banner(decide, {"id": u}, context=MOBILE_EVENING)["placements"]["banner"]
        for u in UNITS[:40]
    }
    again = {
        u: banner(decide, {"id": u}, context=MOBILE_EVENING)["placements"]["banner"] for u in first
    }
    bump(site)  # a rebuild: the same live version compiles to the same tables
    rebuilt = {
        u: banner(decide, {"id": u}, context=MOBILE_EVENING)["placements"]["banner"] for u in first
    }
    assert first == again == rebuilt
    assert len({e["variant"] for e in first.values()}) > 1


def test_shares_and_logged_propensities_follow_the_leaf(site, config, optimization):
    units = [f"share-{i}" for i in range(2000)]
    for unit in units:
        service_decide(
            site, {"visitor": {"id": unit}, "placements": ["banner"], "context": MOBILE_MORNING}
        )
    rows = list(PolicyDecision.objects.filter(optimization=optimization).values())
    assert len(rows) == len(units)
    held = [r for r in rows if r["holdout"]]
    policy = [r for r in rows if not r["holdout"]]
    # The holdout: about its share of the units, uniform arms, propensity 1/k.
    assert abs(len(held) / len(rows) - 0.1) < 0.025
    assert all(r["propensity"] == pytest.approx(1 / 3) for r in held)
    for arm in ARMS:
        share = sum(r["arm_key"] == arm for r in held) / len(held)
        assert abs(share - 1 / 3) < 0.12
    # The policy: leaf 1's probabilities, as shares and as the logged propensities.
    probabilities = dict(zip(ARMS, LEAF_PROBABILITIES[1], strict=True))
    for arm, p in probabilities.items():
        mine = [r for r in policy if r["arm_key"] == arm]
        assert abs(len(mine) / len(policy) - p) < 0.04, arm
        assert {r["propensity"] for r in mine} == {p}
    logged = {r["arm_key"]: r["propensity"] for r in policy}
    assert sum(logged.values()) == pytest.approx(1.0)
    # Every decision is what the pure policy draws for the unit.
    for r in rows[:200]:
        want = expected(r["unit_id"], MOBILE_MORNING)
        assert (r["arm_key"], r["propensity"], r["holdout"]) == (
            want.arm,
            want.propensity,
            want.holdout,
        )
        assert r["features"]["context.device_type"] == "mobile"
        assert r["features"]["hour:context.local_time"] == 9


def test_explain_names_the_model_leaf_probabilities_and_propensity(decide, optimization):
    for unit in UNITS[:60]:
        got = banner(decide, {"id": unit}, context=MOBILE_EVENING, explain=True)
        explained = got["explain"]["placements"]["banner"]
        want = expected(unit, MOBILE_EVENING)
        assert explained["optimization"] == {
            "optimization": KEY,
            "version": 1,
            "arm": want.arm,
            "holdout": want.holdout,
            "propensity": pytest.approx(want.propensity),
            "leaf": 2,
            "probabilities": dict(zip(ARMS, LEAF_PROBABILITIES[2], strict=True)),
            "features": {
                "context.device_type": "mobile",
                "hour:context.local_time": 19,
                "frequency:event:purchase/30d": 0.0,
            },
        }
        assert explained["reason"]["kind"] == "optimized"
        # The trace is personalization's path (what the slot serves without the policy):
        # here the 50 % "half" rollout, else the default.
        personalized = "half-banner" if hash_unit("half", unit) < 0.5 else "banner-default"
        assert explained["trace"][-1]["variant"] == personalized
    holdout = [u for u in UNITS[:60] if expected(u, MOBILE_EVENING).holdout]
    assert holdout, "some units are in the optimization's holdout"
    got = banner(decide, {"id": holdout[0]}, context=MOBILE_EVENING, explain=True)
    explained = got["explain"]["placements"]["banner"]["optimization"]
    assert explained["holdout"] is True and explained["propensity"] == pytest.approx(1 / 3)


def test_the_reason_attributes_impressions(decide, send_events, site, optimization):
    entry = banner(decide, {"id": "anon-imp"}, context=DESKTOP)["placements"]["banner"]
    r = send_events(
        {
            "visitor": {"id": "anon-imp"},
            "events": [
                {
                    "kind": "impression",
                    "name": "impression",
                    "slot": "banner",
                    "variant": entry["variant"],
                    "reason": entry["reason"],
                },
                # An older client's shape is still read.
                {
                    "kind": "impression",
                    "name": "impression",
                    "slot": "banner",
                    "variant": entry["variant"],
                    "reason": {"kind": "optimized", "policy": KEY},
                },
            ],
        }
    )
    assert r.status_code == 202, r.content
    stored = list(Event.objects.order_by("pk").values_list("reason", "reason_key"))
    assert stored == [("optimized", f"{KEY}:{entry['reason']['arm']}"), ("optimized", KEY)]
    bad = send_events(
        {
            "visitor": {"id": "anon-imp"},
            "events": [
                {
                    "kind": "impression",
                    "name": "impression",
                    "slot": "banner",
                    "reason": {"kind": "optimized", "optimization": KEY},
                }
            ],
        }
    )
    assert bad.status_code == 400
    assert [f["path"] for f in bad.json()["error"]["fields"]] == ["events[0].reason.arm"]


def test_decisions_are_logged_once_per_unit_and_version(decide, site, optimization):
    banner(decide, {"id": "anon-log"}, context=DESKTOP)
    banner(decide, {"id": "anon-log"}, context=MOBILE_MORNING)  # another leaf: still v1
    visit_buffer.visits_forget()  # another process: its memo does not know the unit
    banner(decide, {"id": "anon-log"}, context=DESKTOP)
    rows = list(PolicyDecision.objects.filter(unit_id="anon-log").values())
    assert len(rows) == 1
    want = expected("anon-log", DESKTOP)
    assert rows[0]["version"] == 1 and rows[0]["arm_key"] == want.arm
    assert rows[0]["site_id"] == site.pk
    # A new model version: the unit's first decision under it is logged too.
    promote(optimization, model(version="v2", probabilities=((0.2, 0.2, 0.6),) * 3), number=2)
    entry = banner(decide, {"id": "anon-log"}, context=DESKTOP)["placements"]["banner"]
    assert entry["reason"]["version"] == 2
    assert sorted(PolicyDecision.objects.values_list("version", flat=True)) == [1, 2]


def test_no_consent_or_withdrawn_consent_logs_nothing(decide, site, optimization):
    got = banner(decide, {"id": "anon-shy", "consent": False}, context=DESKTOP)
    assert got["placements"]["banner"]["reason"]["kind"] == "optimized"  # still served
    Profile.objects.create(site=site, user_id="u-gone", consent=False, bucketing_id="b-gone")
    got = banner(decide, {"id": "anon-gone", "user_id": "u-gone"}, context=DESKTOP)
    assert got["placements"]["banner"]["reason"]["kind"] == "optimized"
    assert not PolicyDecision.objects.exists()
    assert not Profile.objects.filter(user_id="u-gone", visit_count__gt=0).exists()


def test_a_known_visitor_is_logged_under_their_bucketing_unit(decide, site, optimization):
    Profile.objects.create(site=site, user_id="u-known", bucketing_id="first-device", visit_count=1)
    entry = banner(decide, {"id": "second-device", "user_id": "u-known"}, context=DESKTOP)
    assert entry["placements"]["banner"]["reason"]["arm"] == expected("first-device", DESKTOP).arm
    assert list(PolicyDecision.objects.values_list("unit_id", flat=True)) == ["first-device"]


def test_no_unit_no_optimization(site, optimization):
    snapshot = snapshot_get(site.pk)
    doc = engine.visitor_document(
        visitor_id=None,
        user_id=None,
        consent=True,
        stored=None,
        inline_profile={},
        context=dict(DESKTOP),
    )
    drawn: list[engine.Optimized] = []
    body = engine.decide(snapshot, doc, now=timezone.now(), optimized=drawn)
    assert body["placements"]["banner"]["reason"]["kind"] != "optimized"
    assert drawn == []


def test_paused_optimization_serves_personalization(decide, site, optimization):
    Optimization.objects.filter(pk=optimization.pk).update(status="paused")
    bump(site)
    got = banner(decide, {"id": "anon-1"}, profile={"age": 40}, context=DESKTOP)
    assert got["placements"]["banner"]["reason"] == {"kind": "segment", "segment": "adults"}
    assert snapshot_get(site.pk).optimizations == ()


def test_the_uniform_policy_serves_before_any_model(decide, site, config):
    make_optimization(site, config["banner"], live=None, holdout_share=0.0)
    (compiled,) = snapshot_get(site.pk).optimizations
    assert compiled.version == 0 and compiled.policy.leaves == 1
    counts = Counter()
    for unit in UNITS[:150]:
        reason = banner(decide, {"id": unit}, context=DESKTOP)["placements"]["banner"]["reason"]
        assert reason["version"] == 0
        counts[reason["arm"]] += 1
    assert set(counts) == set(ARMS) and min(counts.values()) > 25
    propensities = PolicyDecision.objects.values_list("propensity", flat=True)
    assert len(propensities) == 150 and all(p == pytest.approx(1 / 3) for p in propensities)


def test_an_experiment_on_the_slot_wins(decide, site, config, optimization):
    from experiments.assignment import assign
    from tests.delivery.test_experiments import make_experiment

    make_experiment(site, config["banner"], coverage=0.5)
    compiled = snapshot_get(site.pk).experiments[0]
    reasons = Counter()
    for unit in UNITS[:80]:
        reason = banner(decide, {"id": unit}, context=DESKTOP)["placements"]["banner"]["reason"]
        reasons[reason["kind"]] += 1
        assert (reason["kind"] == "experiment") == (assign(compiled, unit) is not None)
    assert reasons["experiment"] and reasons["optimized"]
    logged = set(PolicyDecision.objects.values_list("unit_id", flat=True))
    assert logged == {u for u in UNITS[:80] if assign(compiled, u) is None}


def test_the_global_holdout_gets_defaults(decide, site, optimization):
    from experiments.models import GlobalHoldout
    from segments.bucketing import hash_unit

    GlobalHoldout.objects.create(site=site, share=0.3, seed="hold", enabled=True)
    bump(site)
    held = next(u for u in UNITS if hash_unit("hold", u) < 0.3)
    got = banner(decide, {"id": held}, context=DESKTOP)
    assert got["placements"]["banner"]["reason"] == {"kind": "holdout"}
    assert not PolicyDecision.objects.exists()


def test_every_slot_decide_and_the_page_agree(decide, optimization):
    for unit in UNITS[:30]:
        page = banner(decide, {"id": unit}, context=MOBILE_MORNING)["placements"]["banner"]
        every = decide({"visitor": {"id": unit}, "context": MOBILE_MORNING}).json()
        assert every["placements"]["banner"] == page
        assert every["placements"]["home_hero"]["reason"]["kind"] != "optimized"


def test_features_read_events_segments_and_traits(decide, site, optimization):
    now = timezone.now()
    events = [
        {"name": "purchase", "timestamp": (now - timezone.timedelta(days=d)).isoformat()}
        for d in (1, 3, 40)
    ]
    got = banner(
        decide,
        {"id": "anon-feat"},
        context={**DESKTOP, "city": "Detroit"},
        profile={"age": 41, "city": "Detroit"},
        events=events,
        explain=True,
    )
    features = got["explain"]["placements"]["banner"]["optimization"]["features"]
    assert features == {
        "context.device_type": "desktop",
        "profile.age": 41,
        "profile.city": "Detroit",
        "hour:context.local_time": 9,
        "segment:detroit": True,
        "frequency:event:purchase/30d": 2.0,
    }
    assert PolicyDecision.objects.get(unit_id="anon-feat").features == features


def test_extract_values_agrees_with_the_logged_features(site, optimization):
    """The logged values are `extract_values` of the document decide built."""
    body = service_decide(
        site,
        {
            "visitor": {"id": "anon-doc"},
            "placements": ["banner"],
            "context": MOBILE_MORNING,
            "profile": {"age": 30},
        },
    )
    assert body["placements"]["banner"]["reason"]["kind"] == "optimized"
    doc = {
        "visitor": {"id": "anon-doc"},
        "profile": {"age": 30},
        "context": {**MOBILE_MORNING},
        "events": [],
    }
    values = extract_values(POLICY.encoder.features, doc, segments=(), now=timezone.now())
    assert PolicyDecision.objects.get(unit_id="anon-doc").features == values


def test_anonymous_decide_of_an_optimized_slot_runs_zero_queries(
    decide, site, optimization, django_assert_num_queries
):
    banner(decide, {"id": "warm"}, context=DESKTOP)
    with (
        mock.patch.object(tasks.policy_decisions_record_task, "delay") as delay,
        mock.patch.object(visit_buffer, "flush_interval", return_value=60.0),
        mock.patch.object(visit_buffer, "_ensure_thread"),
        django_assert_num_queries(0),
    ):
        got = banner(decide, {"id": "anon-free"}, context=DESKTOP, explain=True)
        assert got["placements"]["banner"]["reason"]["kind"] == "optimized"
        every = decide({"visitor": {"id": "anon-free-2"}, "context": DESKTOP})
        assert every.json()["placements"]["banner"]["reason"]["kind"] == "optimized"
        delay.assert_not_called()  # buffered, written by the flush
        assert len(visit_buffer._decisions) == 2
    with mock.patch.object(tasks.policy_decisions_record_task, "delay") as delay:
        visit_buffer.visits_flush()
    assert delay.call_count == 1
    assert {d["unit_id"] for d in delay.call_args.args[0]} == {"anon-free", "anon-free-2"}
    assert policy_decisions_record(decisions=delay.call_args.args[0]) == 2


def test_known_decide_of_an_optimized_slot_runs_one_query(
    decide, site, optimization, django_assert_num_queries
):
    Profile.objects.create(site=site, user_id="u-q", bucketing_id="b-q", visit_count=1)
    banner(decide, {"id": "warm", "user_id": "u-warm"}, context=DESKTOP)
    with (
        mock.patch.object(visit_buffer, "flush_interval", return_value=60.0),
        mock.patch.object(visit_buffer, "_ensure_thread"),
        django_assert_num_queries(1),
    ):
        got = banner(decide, {"id": "d-q", "user_id": "u-q"}, context=DESKTOP)
    assert got["placements"]["banner"]["reason"]["arm"] == expected("b-q", DESKTOP).arm


def test_decisions_of_other_sites_or_gone_optimizations_are_dropped(site, other_site, optimization):
    record = {
        "site_id": other_site.pk,
        "optimization": KEY,
        "version": 1,
        "unit_id": "x",
        "arm": "adult",
        "propensity": 0.5,
        "holdout": False,
        "features": {},
        "at": timezone.now().isoformat(),
    }
    assert policy_decisions_record(decisions=[record, {**record, "optimization": "gone"}]) == 0
    assert policy_decisions_record(decisions=[{**record, "site_id": site.pk}] * 2) == 1
    assert math.isclose(PolicyDecision.objects.get().propensity, 0.5)
