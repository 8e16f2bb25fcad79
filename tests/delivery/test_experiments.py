"""Experiments in decide: arms override personalization, the global holdout gets defaults,
assignments stick within a phase (echoed or stored), people inherit their anonymous
buckets on sign-in, exposures are recorded once and off the request path."""

from __future__ import annotations

from unittest import mock

import pytest
from django.utils import timezone

from content.models import ContentVariant
from delivery import tasks, visit_buffer
from delivery.services import exposures_record
from delivery.snapshot import snapshot_forget, snapshot_get
from experiments.assignment import assign
from experiments.models import Arm, Assignment, Experiment, ExperimentPhase, GlobalHoldout
from segments.bucketing import hash_unit
from segments.models import Profile
from tenancy.services import site_config_bump

UNITS = [f"anon-{i}" for i in range(200)]


def bump(site):
    """A configuration change, seen by this process at once (not after CHECK_INTERVAL)."""
    site_config_bump(site_id=site.pk)
    snapshot_forget(site.pk)


def make_experiment(site, placement, *, key="banner-test", weights=(1, 1), coverage=1.0, **kw):
    experiment = Experiment.objects.create(
        site=site,
        key=key,
        name=key,
        placement=placement,
        coverage=coverage,
        status="running",
        started_at=timezone.now(),
        **kw,
    )
    treat = ContentVariant.objects.get(placement=placement, key="adult-banner")
    Arm.objects.create(experiment=experiment, key="control", weight=weights[0], is_control=True)
    Arm.objects.create(experiment=experiment, key="treat", weight=weights[1], content_variant=treat)
    ExperimentPhase.objects.create(
        experiment=experiment,
        number=1,
        started_at=timezone.now(),
        coverage=coverage,
        weights={"control": weights[0], "treat": weights[1]},
    )
    bump(site)
    return experiment


def reconfigure(site, experiment, **changes):
    """A marketer's change (X1's services do the same: save and bump the version)."""
    weights = changes.pop("weights", None)
    for name, value in changes.items():
        setattr(experiment, name, value)
    experiment.save()
    if weights is not None:
        ExperimentPhase.objects.filter(experiment=experiment, number=experiment.phase).update(
            weights={"control": weights[0], "treat": weights[1]}
        )
    bump(site)


@pytest.fixture
def experiment(site, config):
    return make_experiment(site, config["banner"])


def banner(decide, visitor, **body):
    r = decide({"visitor": visitor, "placements": ["banner"], **body})
    assert r.status_code == 200, r.content
    return r.json()


def test_arms_override_the_slot_and_match_assign(decide, site, experiment):
    compiled = snapshot_get(site.pk).experiments[0]
    arms = {}
    for unit in UNITS[:60]:
        got = banner(decide, {"id": unit})
        entry = got["placements"]["banner"]
        expected = assign(compiled, unit)
        assert entry["reason"] == {
            "kind": "experiment",
            "experiment": "banner-test",
            "phase": 1,
            "arm": expected.arm.key,
        }
        assert got["assignments"] == {"banner-test": f"1:{expected.arm.key}"}
        arms[unit] = expected.arm.key
        # control is normal personalization (here the 50 % "half" rollout, or the default)
        personalized = "half-banner" if hash_unit("half", unit) < 0.5 else "banner-default"
        assert entry["variant"] == ("adult-banner" if expected.arm.key == "treat" else personalized)
        if expected.arm.key == "treat":
            assert entry["content"] == {"kind": "text", "body": "Hi grown-up"}
    assert set(arms.values()) == {"control", "treat"}


def test_control_serves_personalization_and_explain_names_the_arm(decide, site, experiment):
    compiled = snapshot_get(site.pk).experiments[0]
    unit = next(u for u in UNITS if assign(compiled, u).arm.key == "control")
    got = banner(decide, {"id": unit}, profile={"age": 40}, explain=True)
    entry = got["placements"]["banner"]
    assert entry["variant"] == "adult-banner"  # the adults segment matched
    assert entry["reason"]["arm"] == "control"
    explained = got["explain"]["placements"]["banner"]
    assert explained["experiment"] == {
        "experiment": "banner-test",
        "phase": 1,
        "arm": "control",
        "control": True,
        "probability": 0.5,
        "sticky": False,
    }
    assert explained["trace"][0] == {
        "variant": "adult-banner",
        "segment": "adults",
        "scheduled": True,
        "matched": True,
    }
    assert got["explain"]["holdout"] is False
    # Slots without an experiment are untouched.
    other = decide({"visitor": {"id": unit}, "placements": ["home_hero"]}).json()
    assert "assignments" not in other
    assert other["placements"]["home_hero"]["reason"] == {"kind": "default"}


def test_echoed_assignments_survive_weight_changes_within_a_phase(decide, site, experiment):
    first = {u: banner(decide, {"id": u})["assignments"]["banner-test"] for u in UNITS[:80]}
    reconfigure(site, experiment, weights=(1, 99))  # a bandit batch: same phase
    rehashed = {u: banner(decide, {"id": u})["assignments"]["banner-test"] for u in first}
    assert any(rehashed[u] != first[u] for u in first)  # without the echo, people move
    for unit, token in first.items():
        got = banner(decide, {"id": unit, "assignments": {"banner-test": token}})
        assert got["assignments"]["banner-test"] == token
        assert got["placements"]["banner"]["reason"]["arm"] == token.split(":")[1]


def test_a_new_phase_ignores_old_assignments_and_unknown_keys(decide, site, experiment):
    reconfigure(site, experiment, weights=(1, 99))
    Experiment.objects.filter(pk=experiment.pk).update(phase=2)
    ExperimentPhase.objects.create(
        experiment=experiment,
        number=2,
        started_at=timezone.now(),
        coverage=1.0,
        weights={"control": 1, "treat": 99},
    )
    bump(site)
    compiled = snapshot_get(site.pk).experiments[0]
    unit = next(u for u in UNITS if assign(compiled, u).arm.key == "treat")
    got = banner(
        decide,
        {
            "id": unit,
            "assignments": {"banner-test": "1:control", "gone": "3:x", "banner": "2:nope"},
        },
    )
    assert got["assignments"] == {"banner-test": "2:treat"}


def test_raising_coverage_moves_no_one_already_in(decide, site, config):
    experiment = make_experiment(site, config["banner"], coverage=0.3)
    before = {}
    for unit in UNITS[:120]:
        got = banner(decide, {"id": unit})
        before[unit] = got.get("assignments", {}).get("banner-test")
    assert 0 < sum(v is not None for v in before.values()) < 80
    reconfigure(site, experiment, coverage=1.0)
    for unit, token in before.items():
        after = banner(decide, {"id": unit})["assignments"]["banner-test"]
        if token is not None:
            assert after == token


def test_global_holdout_gets_defaults_everywhere(decide, site, experiment):
    GlobalHoldout.objects.create(site=site, share=0.2, seed="hold", enabled=True)
    bump(site)
    held = [u for u in UNITS if hash_unit("hold", u) < 0.2]
    assert held
    for unit in held[:10]:
        got = decide(
            {"visitor": {"id": unit}, "context": {"city": "Detroit"}, "explain": True}
        ).json()
        assert "assignments" not in got
        assert got["placements"]["home_hero"]["variant"] == "hero-default"  # not Detroit's
        for kind in ("placements", "screens"):
            for entry in got[kind].values():
                assert entry["reason"] == {"kind": "holdout"}
        assert got["explain"]["holdout"] is True
    free = next(u for u in UNITS if hash_unit("hold", u) >= 0.2)
    got = decide({"visitor": {"id": free}, "context": {"city": "Detroit"}}).json()
    assert got["placements"]["home_hero"]["variant"] == "detroit-shoes"
    assert got["placements"]["banner"]["reason"]["kind"] == "experiment"


def test_exposure_is_recorded_once_per_unit_and_phase(decide, site, experiment):
    got = banner(decide, {"id": "anon-once"})
    token = got["assignments"]["banner-test"]
    rows = list(Assignment.objects.filter(experiment=experiment).values())
    assert len(rows) == 1
    assert rows[0]["unit_id"] == "anon-once" and rows[0]["phase"] == 1
    assert rows[0]["arm_key"] == token.split(":")[1] and rows[0]["probability"] == 0.5
    first_at = rows[0]["first_exposed_at"]
    banner(decide, {"id": "anon-once"})
    banner(decide, {"id": "anon-once", "assignments": {"banner-test": token}})
    visit_buffer.visits_forget()  # another process: its memo does not know the unit
    banner(decide, {"id": "anon-once"})
    rows = list(Assignment.objects.filter(experiment=experiment).values())
    assert len(rows) == 1 and rows[0]["first_exposed_at"] == first_at


def test_anonymous_decide_with_an_experiment_runs_zero_queries(
    decide, site, experiment, django_assert_num_queries
):
    banner(decide, {"id": "warm"})
    with (
        mock.patch.object(tasks.exposures_record_task, "delay") as delay,
        mock.patch.object(visit_buffer, "flush_interval", return_value=60.0),
        mock.patch.object(visit_buffer, "_ensure_thread"),
        django_assert_num_queries(0),
    ):
        got = banner(decide, {"id": "anon-free"}, explain=True)
        assert "banner-test" in got["assignments"]
        delay.assert_not_called()  # buffered, written by the flush
        assert len(visit_buffer._exposures) == 1
    with mock.patch.object(tasks.exposures_record_task, "delay") as delay:
        visit_buffer.visits_flush()
    assert delay.call_count == 1 and delay.call_args.args[0][0]["unit_id"] == "anon-free"


def test_known_visitor_reads_stored_assignments_in_its_one_query(
    decide, site, experiment, django_assert_num_queries
):
    compiled = snapshot_get(site.pk).experiments[0]
    unit = next(u for u in UNITS if assign(compiled, u).arm.key == "control")
    Profile.objects.create(
        site=site,
        user_id="u-stored",
        bucketing_id=unit,
        visit_count=1,
        experiment_assignments={"banner-test": "1:treat"},  # weights moved since
    )
    banner(decide, {"id": "warm", "user_id": "u-warm"})
    with (
        mock.patch.object(visit_buffer, "flush_interval", return_value=60.0),
        mock.patch.object(visit_buffer, "_ensure_thread"),
        django_assert_num_queries(1),
    ):
        got = banner(decide, {"id": "another-device", "user_id": "u-stored"})
    assert got["assignments"] == {"banner-test": "1:treat"}
    assert got["placements"]["banner"]["variant"] == "adult-banner"
    # The stored arm wins over what a device echoes.
    got = banner(
        decide,
        {"id": "x", "user_id": "u-stored", "assignments": {"banner-test": "1:control"}},
    )
    assert got["assignments"] == {"banner-test": "1:treat"}


def test_signing_in_inherits_the_anonymous_arm_on_every_device(decide, site, config):
    experiment = make_experiment(site, config["banner"], weights=(1, 1))
    arms = {u: banner(decide, {"id": u})["assignments"]["banner-test"] for u in UNITS[:40]}
    reconfigure(site, experiment, weights=(1, 99))  # so the hash alone would move people
    for i, (unit, token) in enumerate(arms.items()):
        user = f"new-person-{i}"
        # Signs in on the same device (the client still echoes), then uses another device.
        got = banner(decide, {"id": unit, "user_id": user, "assignments": {"banner-test": token}})
        assert got["assignments"]["banner-test"] == token
        got = banner(decide, {"id": f"{unit}-phone", "user_id": user})
        assert got["assignments"]["banner-test"] == token, unit
        profile = Profile.objects.get(site=site, user_id=user)
        assert profile.bucketing_id == unit
        assert profile.experiment_assignments == {"banner-test": token}
    assert Assignment.objects.filter(experiment=experiment).count() == len(arms)


@pytest.mark.parametrize(
    ("assignments", "path"),
    [
        ("1:treat", "visitor.assignments"),
        (["1:treat"], "visitor.assignments"),
        ({"banner-test": 1}, "visitor.assignments.banner-test"),
        ({"banner-test": "treat"}, "visitor.assignments.banner-test"),
        ({"banner-test": "1:"}, "visitor.assignments.banner-test"),
        ({"bad key!": "1:treat"}, "visitor.assignments.bad key!"),
        ({f"e{i}": "1:a" for i in range(101)}, "visitor.assignments"),
    ],
)
def test_bad_assignments_are_a_400_naming_the_path(decide, experiment, assignments, path):
    r = decide({"visitor": {"id": "a", "assignments": assignments}})
    assert r.status_code == 400
    assert [f["path"] for f in r.json()["error"]["fields"]] == [path]


def test_other_sites_experiments_are_ignored(decide, site, other_site, config, experiment):
    from tests.delivery.conftest import build_site_config

    other = make_experiment(other_site, build_site_config(other_site)["banner"], key="elsewhere")
    got = banner(decide, {"id": "anon-1", "assignments": {"elsewhere": "1:treat"}})
    assert set(got["assignments"]) == {"banner-test"}
    # An exposure naming another site's experiment is dropped, never written across sites.
    created = exposures_record(
        exposures=[
            {
                "site_id": site.pk,
                "experiment": "elsewhere",
                "phase": 1,
                "unit_id": "anon-x",
                "arm": "treat",
                "probability": 0.5,
                "at": timezone.now().isoformat(),
                "user_id": None,
            }
        ]
    )
    assert created == 0
    assert not Assignment.objects.filter(experiment=other).exists()


def test_an_arm_whose_variant_is_not_live_breaks_only_that_experiment(decide, site, config):
    experiment = make_experiment(site, config["banner"])
    draft = ContentVariant.objects.create(
        placement=config["banner"],
        key="draft-only",
        name="Draft",
        body="not published",
        segment=config["detroit"],
    )
    Arm.objects.filter(experiment=experiment, key="treat").update(content_variant=draft)
    bump(site)
    snapshot = snapshot_get(site.pk)
    assert "banner-test" in snapshot.broken_experiments
    got = banner(decide, {"id": "anon-1"})
    assert "assignments" not in got
    assert got["placements"]["banner"]["reason"] == {"kind": "default"}


def test_impressions_echo_experiment_and_holdout_reasons(decide, send_events, site, experiment):
    from segments.models import Event

    got = banner(decide, {"id": "anon-ev"})
    reason = got["placements"]["banner"]["reason"]
    events = [
        {"kind": "impression", "name": "impression", "slot": "banner", "reason": reason},
        {
            "kind": "impression",
            "name": "impression",
            "slot": "home_hero",
            "reason": {"kind": "holdout"},
        },
    ]
    r = send_events({"visitor": {"id": "anon-ev"}, "events": events})
    assert r.status_code == 202, r.content
    stored = sorted(Event.objects.filter(site=site).values_list("reason", "reason_key"))
    assert stored == [("experiment", f"banner-test:{reason['arm']}"), ("holdout", "")]


def test_through_the_services_keep_phase_sticks_and_a_new_phase_rebuckets(decide, site, config):
    """The marketer's path (experiments.services): start, re-weight keeping the phase,
    re-weight into a new phase, stop."""
    from experiments.services.experiments import (
        experiment_create,
        experiment_start,
        experiment_stop,
        experiment_update,
    )

    treat = ContentVariant.objects.get(placement=config["banner"], key="adult-banner")

    def arms(control, treated):
        return [
            {"key": "control", "weight": control, "is_control": True},
            {"key": "treat", "weight": treated, "content_variant": treat},
        ]

    experiment = experiment_create(
        site=site, key="svc-test", name="Svc", placement=config["banner"], arms=arms(1, 1)
    )
    experiment_start(experiment=experiment)
    snapshot_forget(site.pk)
    first = {u: banner(decide, {"id": u})["assignments"]["svc-test"] for u in UNITS[:60]}
    assert {t.split(":")[0] for t in first.values()} == {"1"}

    experiment_update(experiment=experiment, data={}, arms=arms(1, 19), keep_phase=True)
    snapshot_forget(site.pk)
    for unit, token in first.items():
        got = banner(decide, {"id": unit, "assignments": {"svc-test": token}})
        assert got["assignments"]["svc-test"] == token
    # Probabilities recorded for new units follow the new weights; the first ones stay.
    assert set(Assignment.objects.filter(phase=1).values_list("probability", flat=True)) == {0.5}
    banner(decide, {"id": "late-comer"})
    late = Assignment.objects.get(unit_id="late-comer")
    assert late.probability in (0.05, 0.95)

    experiment_update(experiment=experiment, data={}, arms=arms(19, 1))  # a new phase
    snapshot_forget(site.pk)
    second = {
        u: banner(decide, {"id": u, "assignments": {"svc-test": t}})["assignments"]["svc-test"]
        for u, t in first.items()
    }
    assert {t.split(":")[0] for t in second.values()} == {"2"}
    assert sum(t.endswith(":control") for t in second.values()) > 45  # re-bucketed at 95 %

    experiment_stop(experiment=experiment)
    snapshot_forget(site.pk)
    got = banner(decide, {"id": UNITS[0], "assignments": {"svc-test": second[UNITS[0]]}})
    assert "assignments" not in got


def test_erasing_a_person_deletes_their_assignments(decide, site, experiment):
    from delivery.services import profile_erase

    banner(decide, {"id": "anon-gone"})
    banner(decide, {"id": "anon-gone", "user_id": "gone"})
    banner(decide, {"id": "anon-kept"})
    assert Assignment.objects.filter(unit_id="anon-gone").count() == 1
    erased = profile_erase(site_id=site.pk, user_id="gone")
    assert erased.assignments == 1
    assert list(Assignment.objects.values_list("unit_id", flat=True)) == ["anon-kept"]
