"""Experiment setup validation, lifecycle, phases, weights, coverage, layers, holdout, and the
configuration bumps and audit entries every change makes."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from content.models import AuditEntry
from experiments.models import Experiment, ExperimentPhase, GlobalHoldout
from experiments.services.experiments import (
    experiment_change_coverage,
    experiment_change_weights,
    experiment_create,
    experiment_delete,
    experiment_pause,
    experiment_resume,
    experiment_start,
    experiment_stop,
    experiment_update,
)
from experiments.services.holdout import holdout_set
from experiments.services.layers import layer_create, layer_update
from tenancy.models import Site
from tests.content.factories import ContentVariantFactory, PlacementFactory, SegmentFactory
from tests.experiments.conftest import make_experiment, variant

pytestmark = pytest.mark.django_db


def version(site) -> int:
    return Site.objects.get(pk=site.pk).config_version


def errors_of(exc_info) -> dict[str, list[str]]:
    return exc_info.value.message_dict


def test_create_saves_arms_metrics_and_bumps(site, placement, metric):
    before = version(site)
    experiment = make_experiment(site, placement, metric)
    assert experiment.status == "draft" and experiment.seed == "hero-test"
    assert sorted(experiment.arms.values_list("key", flat=True)) == ["b", "control"]
    assert experiment.metrics.get().role == "primary"
    assert version(site) > before
    entry = AuditEntry.objects.get(action="experiment")
    assert entry.details == {"experiment": "hero-test", "change": "create"}
    assert entry.placement == placement


def base_arms(placement):
    return [
        {"key": "control", "weight": 1, "is_control": True},
        {"key": "b", "weight": 1, "content_variant": variant(placement, "b")},
    ]


@pytest.mark.parametrize(
    ("arms", "path"),
    [
        (lambda p: base_arms(p)[:1], "arms"),
        (lambda p: [base_arms(p)[0], {**base_arms(p)[1], "weight": 0}], "arms[1].weight"),
        (lambda p: [base_arms(p)[0], {**base_arms(p)[1], "weight": -2}], "arms[1].weight"),
        (lambda p: [base_arms(p)[0], {**base_arms(p)[1], "key": "control"}], "arms[1].key"),
        (
            lambda p: [base_arms(p)[0], {**base_arms(p)[1], "is_control": True}],
            "arms",
        ),
        (lambda p: [base_arms(p)[0], {"key": "b", "weight": 1}], "arms[1].content_variant"),
        (
            lambda p: [
                {**base_arms(p)[0], "content_variant": variant(p, "c")},
                base_arms(p)[1],
            ],
            "arms[0].is_control",
        ),
    ],
    ids=["one-arm", "zero-weight", "negative", "dup-key", "two-controls", "no-variant", "ctl-var"],
)
def test_arm_rules(site, placement, arms, path):
    with pytest.raises(ValidationError) as exc:
        experiment_create(site=site, key="x", name="X", placement=placement, arms=arms(placement))
    assert path in errors_of(exc), errors_of(exc)
    assert not Experiment.objects.exists()


def test_variant_of_another_slot_or_site_is_refused(site, other_site, placement, screen):
    other = PlacementFactory(site=site, key="footer")
    foreign = ContentVariantFactory(placement=other, key="f")
    arms = [base_arms(placement)[0], {"key": "b", "weight": 1, "content_variant": foreign}]
    with pytest.raises(ValidationError) as exc:
        experiment_create(site=site, key="x", name="X", placement=placement, arms=arms)
    assert "arms[1].content_variant" in errors_of(exc)
    # a screen experiment serves screen designs, not content variants
    with pytest.raises(ValidationError) as exc:
        experiment_create(site=site, key="y", name="Y", screen=screen, arms=base_arms(placement))
    assert "arms[1].content_variant" in errors_of(exc)
    # the slot, the audience and the metric must be the site's
    theirs = PlacementFactory(site=other_site, key="home_hero")
    with pytest.raises(ValidationError) as exc:
        experiment_create(site=site, key="z", name="Z", placement=theirs, arms=base_arms(placement))
    assert "placement" in errors_of(exc)
    with pytest.raises(ValidationError) as exc:
        make_experiment(site, placement, audience=SegmentFactory(site=other_site, key="s"))
    assert "audience" in errors_of(exc)


def test_exactly_one_slot_and_bounds(site, placement, screen):
    with pytest.raises(ValidationError) as exc:
        experiment_create(site=site, key="x", name="X", arms=base_arms(placement))
    assert "placement" in errors_of(exc)
    with pytest.raises(ValidationError) as exc:
        experiment_create(site=site, key="x", name="X", placement=placement, screen=screen, arms=[])
    assert "placement" in errors_of(exc)
    for coverage in (-0.1, 1.5):
        with pytest.raises(ValidationError) as exc:
            make_experiment(site, placement, coverage=coverage)
        assert "coverage" in errors_of(exc)


def test_screen_experiment(site, screen):
    experiment = experiment_create(
        site=site,
        key="dark",
        name="Dark",
        screen=screen,
        arms=[
            {"key": "control", "is_control": True},
            {"key": "dark", "design_variant": screen.variants.get(key="dark")},
        ],
    )
    assert experiment.slot == screen and experiment.slot_kind == "screen"


def test_layer_slices_must_be_disjoint(site, placement):
    layer = layer_create(site=site, key="hero", name="Hero")
    assert layer.seed == "hero"
    make_experiment(site, placement, key="a", layer=layer, layer_start=0, layer_end=0.5)
    with pytest.raises(ValidationError) as exc:
        make_experiment(site, placement, key="b", layer=layer, layer_start=0.4, layer_end=1)
    assert "layer_start" in errors_of(exc)
    make_experiment(site, placement, key="b", layer=layer, layer_start=0.5, layer_end=1)
    with pytest.raises(ValidationError) as exc:
        make_experiment(site, placement, key="c", layer=layer, layer_start=0.6, layer_end=0.6)
    assert "layer_end" in errors_of(exc)
    with pytest.raises(ValidationError) as exc:
        make_experiment(site, placement, key="d", layer_start=0.2, layer_end=0.6)
    assert "layer" in errors_of(exc)


def test_stopped_experiments_free_their_slice(site, placement):
    layer = layer_create(site=site, key="hero", name="Hero")
    first = make_experiment(site, placement, key="a", layer=layer)
    experiment_start(experiment=first)
    experiment_stop(experiment=first)
    make_experiment(site, placement, key="b", layer=layer)


def test_one_running_experiment_per_slot_unless_layered(site, placement):
    first = make_experiment(site, placement, key="a")
    second = make_experiment(site, placement, key="b")
    experiment_start(experiment=first)
    with pytest.raises(ValidationError) as exc:
        experiment_start(experiment=second)
    assert "placement" in errors_of(exc)
    assert Experiment.objects.get(key="b").status == "draft"
    experiment_pause(experiment=first)
    experiment_start(experiment=second)
    with pytest.raises(ValidationError):
        experiment_resume(experiment=first)
    # in one layer with disjoint slices, both may run
    layer = layer_create(site=site, key="hero", name="Hero")
    third = make_experiment(site, placement, key="c", layer=layer, layer_end=0.5)
    fourth = make_experiment(site, placement, key="d", layer=layer, layer_start=0.5)
    experiment_stop(experiment=second)
    experiment_start(experiment=third)
    experiment_start(experiment=fourth)


def test_lifecycle_and_phase_one(site, placement, metric):
    experiment = make_experiment(site, placement, metric)
    v0 = version(site)
    experiment = experiment_start(experiment=experiment)
    assert experiment.status == "running" and experiment.started_at and experiment.phase == 1
    phase = ExperimentPhase.objects.get(experiment=experiment)
    assert phase.number == 1 and phase.weights == {"control": 1.0, "b": 1.0}
    assert phase.coverage == 1.0 and phase.ended_at is None
    assert version(site) > v0
    with pytest.raises(ValidationError) as exc:
        experiment_start(experiment=experiment)
    assert "status" in errors_of(exc)
    experiment = experiment_pause(experiment=experiment)
    assert experiment.status == "paused"
    experiment = experiment_resume(experiment=experiment)
    assert experiment.status == "running"
    experiment = experiment_stop(experiment=experiment)
    assert experiment.status == "stopped" and experiment.stopped_at
    assert ExperimentPhase.objects.get(experiment=experiment).ended_at is not None
    changes = list(
        AuditEntry.objects.filter(action="experiment")
        .order_by("pk")
        .values_list("details__change", flat=True)
    )
    assert changes == ["create", "start", "pause", "resume", "stop"]
    with pytest.raises(ValidationError):
        experiment_update(experiment=experiment, data={"name": "Again"})


def test_weight_change_opens_a_new_phase_by_default(site, placement):
    experiment = experiment_start(experiment=make_experiment(site, placement))
    v0 = version(site)
    experiment = experiment_change_weights(experiment=experiment, weights={"control": 1, "b": 3})
    assert experiment.phase == 2
    phases = list(ExperimentPhase.objects.filter(experiment=experiment).order_by("number"))
    assert [p.number for p in phases] == [1, 2]
    assert phases[0].ended_at is not None and phases[1].ended_at is None
    assert phases[1].weights == {"control": 1.0, "b": 3.0}
    assert phases[0].weights == {"control": 1.0, "b": 1.0}
    assert version(site) > v0
    # the same split in other numbers is no change
    experiment = experiment_change_weights(experiment=experiment, weights={"control": 2, "b": 6})
    assert experiment.phase == 2


def test_keep_phase_changes_weights_within_the_phase(site, placement):
    experiment = experiment_start(experiment=make_experiment(site, placement))
    experiment = experiment_change_weights(
        experiment=experiment, weights={"control": 1, "b": 4}, keep_phase=True
    )
    assert experiment.phase == 1
    assert ExperimentPhase.objects.get(experiment=experiment).weights == {"control": 1.0, "b": 4.0}


def test_weights_validation(site, placement):
    experiment = make_experiment(site, placement)
    for weights, path in (
        ({"control": 1}, "weights"),
        ({"control": 1, "b": 0}, "weights.b"),
        ({"control": 1, "b": "x"}, "weights.b"),
        ({"control": 1, "b": 1, "zz": 1}, "weights"),
    ):
        with pytest.raises(ValidationError) as exc:
            experiment_change_weights(experiment=experiment, weights=weights)
        assert path in errors_of(exc)
    # a draft takes the weights without any phase
    experiment = experiment_change_weights(experiment=experiment, weights={"control": 1, "b": 2})
    assert not ExperimentPhase.objects.exists()


def test_coverage_change_stays_in_the_phase(site, placement):
    experiment = experiment_start(experiment=make_experiment(site, placement, coverage=0.2))
    v0 = version(site)
    experiment = experiment_change_coverage(experiment=experiment, coverage=0.6)
    assert experiment.phase == 1
    assert ExperimentPhase.objects.get(experiment=experiment).coverage == 0.6
    assert version(site) > v0
    with pytest.raises(ValidationError) as exc:
        experiment_change_coverage(experiment=experiment, coverage=2)
    assert "coverage" in errors_of(exc)


def test_started_experiment_fixes_its_structure(site, placement, segment):
    experiment = experiment_start(experiment=make_experiment(site, placement))
    with pytest.raises(ValidationError) as exc:
        experiment_update(experiment=experiment, data={"seed": "other"})
    assert "seed" in errors_of(exc)
    with pytest.raises(ValidationError) as exc:
        experiment_update(
            experiment=experiment,
            data={},
            arms=[*base_arms(placement), {"key": "c", "content_variant": variant(placement, "c")}],
        )
    assert "arms" in errors_of(exc)
    with pytest.raises(ValidationError) as exc:
        experiment_update(
            experiment=experiment,
            data={},
            arms=[
                base_arms(placement)[0],
                {"key": "b", "weight": 1, "content_variant": variant(placement, "c")},
            ],
        )
    assert "arms[1].content_variant" in errors_of(exc)
    # what may change: name, hypothesis, audience
    experiment = experiment_update(
        experiment=experiment, data={"name": "Renamed", "audience": segment}
    )
    assert Experiment.objects.get(pk=experiment.pk).name == "Renamed"


def test_draft_update_replaces_arms(site, placement):
    experiment = make_experiment(site, placement)
    experiment_update(
        experiment=experiment,
        data={"key": "renamed"},
        arms=[*base_arms(placement), {"key": "c", "content_variant": variant(placement, "c")}],
    )
    experiment.refresh_from_db()
    assert experiment.key == "renamed"
    assert sorted(experiment.arms.values_list("key", flat=True)) == ["b", "c", "control"]


def test_stop_publishes_the_winner_as_the_default(site, placement):
    from content.services.publishing import slot_publish

    slot_publish(slot=placement)
    experiment = experiment_start(experiment=make_experiment(site, placement))
    experiment = experiment_stop(experiment=experiment, winner="b")
    placement.refresh_from_db()
    assert placement.live_revision.number == 2
    assert "Winner of experiment 'hero-test'" in placement.live_revision.note
    assert variant(placement, "default").body == "<p>B</p>"
    entry = AuditEntry.objects.filter(details__change="stop").get()
    assert entry.details["winner"] == "b" and entry.details["revision"] == 2


def test_stop_with_control_or_unknown_winner_is_refused_and_keeps_running(site, placement):
    experiment = experiment_start(experiment=make_experiment(site, placement))
    for winner in ("control", "nope"):
        with pytest.raises(ValidationError) as exc:
            experiment_stop(experiment=experiment, winner=winner)
        assert "winner" in errors_of(exc)
        assert Experiment.objects.get(pk=experiment.pk).status == "running"


def test_delete_refused_while_running(site, placement):
    experiment = experiment_start(experiment=make_experiment(site, placement))
    with pytest.raises(ValidationError):
        experiment_delete(experiment=experiment)
    experiment_stop(experiment=experiment)
    experiment_delete(experiment=experiment)
    assert not Experiment.objects.exists()


def test_layer_seed_is_fixed_while_live(site, placement):
    layer = layer_create(site=site, key="hero", name="Hero", seed="s1")
    experiment_start(experiment=make_experiment(site, placement, layer=layer))
    with pytest.raises(ValidationError) as exc:
        layer_update(layer=layer, data={"seed": "s2"})
    assert "seed" in errors_of(exc)
    layer_update(layer=layer, data={"name": "Renamed"})


def test_holdout(site):
    v0 = version(site)
    holdout = holdout_set(site=site, enabled=True, share=0.1)
    assert holdout.seed == "holdout" and GlobalHoldout.objects.get(site=site).share == 0.1
    assert version(site) > v0
    with pytest.raises(ValidationError) as exc:
        holdout_set(site=site, enabled=True, share=0.6)
    assert "share" in errors_of(exc)
    assert GlobalHoldout.objects.get(site=site).share == 0.1
