"""Optimization setup and lifecycle through the services: every validation rule with its
field path (hostile numbers, other sites' objects, bad feature specs), what is fixed once
started, the slot rules against experiments, status transitions with timestamps, and the
configuration bump delivery rebuilds its snapshot on."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from analytics.services.metrics import metric_create
from content.models import AuditEntry
from experiments.models import Optimization, OptimizationStatus
from experiments.services.experiments import experiment_start
from experiments.services.optimization import (
    optimization_create,
    optimization_delete,
    optimization_pause,
    optimization_resume,
    optimization_start,
    optimization_stop,
    optimization_update,
)
from tenancy.models import Site
from tests.content.factories import ScreenFactory, ScreenVariantFactory, SegmentFactory
from tests.experiments.conftest import make_experiment, variant
from tests.experiments.optimization.conftest import FEATURES, make_optimization

pytestmark = pytest.mark.django_db


def errors_of(excinfo) -> dict[str, list[str]]:
    return excinfo.value.message_dict


def create(site, placement, metric, **overrides):
    return make_optimization(site, placement, metric, **overrides)


def test_a_valid_setup_is_a_draft_with_its_arms(site, placement, metric):
    before = Site.objects.get(pk=site.pk).config_version
    opt = create(site, placement, metric)
    assert opt.status == OptimizationStatus.DRAFT and opt.seed == "hero-opt"
    assert sorted(opt.arms.values_list("key", flat=True)) == ["b", "c"]
    assert Site.objects.get(pk=site.pk).config_version > before
    entry = AuditEntry.objects.filter(site=site).latest("pk")
    assert entry.details == {"optimization": "hero-opt", "change": "create"}


@pytest.mark.parametrize(
    ("overrides", "path"),
    [
        ({"floor": float("nan")}, "floor"),
        ({"floor": float("inf")}, "floor"),
        ({"floor": 0.6}, "floor"),  # 0.6 * 2 arms > 1 (and above the model's 0.5)
        ({"holdout_share": float("nan")}, "holdout_share"),
        ({"holdout_share": 0.51}, "holdout_share"),
        ({"holdout_share": -0.1}, "holdout_share"),
        ({"retrain_every": 10**30}, "retrain_every"),
        ({"retrain_every": 5}, "retrain_every"),
        ({"min_leaf": 10**20}, "min_leaf"),
        ({"max_depth": 99}, "max_depth"),
        ({"training_window_days": 0}, "training_window_days"),
        ({"promotion_margin": float("-inf")}, "promotion_margin"),
        ({"promotion_rule": "not_worse", "promotion_margin": 0.0}, "promotion_margin"),
        ({"promotion_rule": "whatever"}, "promotion_rule"),
        ({"features": []}, "features"),
        ({"features": "device"}, "features"),
        (
            {"features": [{"kind": "category", "field": "context.d", "top_k": 500}]},
            "features[0].top_k",
        ),
        ({"features": [*FEATURES, {"kind": "colour"}]}, "features[1].kind"),
        ({"features": [*FEATURES, {"kind": "number", "field": "nowhere.x"}]}, "features[1].field"),
        ({"features": [*FEATURES, {"kind": "segment", "segment": "ghost"}]}, "features[1].segment"),
    ],
)
def test_bad_values_are_refused_at_their_path(site, placement, metric, overrides, path):
    with pytest.raises(ValidationError) as excinfo:
        create(site, placement, metric, **overrides)
    assert path in errors_of(excinfo), errors_of(excinfo)
    assert not Optimization.objects.exists()


def test_the_floor_must_leave_room_for_the_arms(site, placement, metric):
    variants = [variant(placement, k) for k in ("default", "b", "c")]
    arms = [{"key": v.key, "content_variant": v} for v in variants]
    with pytest.raises(ValidationError) as excinfo:
        optimization_create(
            site=site,
            key="o",
            name="O",
            placement=placement,
            goal=metric,
            features=FEATURES,
            arms=arms,
            floor=0.4,
        )
    assert "floor" in errors_of(excinfo)
    opt = optimization_create(
        site=site,
        key="o",
        name="O",
        placement=placement,
        goal=metric,
        features=FEATURES,
        arms=arms,
        floor=0.3,
    )
    assert opt.arms.count() == 3


def test_the_goal_must_be_a_countable_metric_of_the_site(site, other_site, placement, metric):
    ratio_parts = metric_create(site=site, key="visits", name="Visits", kind="count", event="visit")
    ratio = metric_create(
        site=site, key="rate", name="Rate", kind="ratio", numerator=metric, denominator=ratio_parts
    )
    with pytest.raises(ValidationError) as excinfo:
        create(site, placement, ratio)
    assert "goal" in errors_of(excinfo)
    theirs = metric_create(site=other_site, key="signup", name="S", kind="conversion", event="s")
    with pytest.raises(ValidationError) as excinfo:
        create(site, placement, theirs)
    assert "goal" in errors_of(excinfo)
    assert create(site, placement, ratio_parts).goal == ratio_parts  # a count is fine


def test_a_segment_feature_must_name_a_segment_of_the_site(site, other_site, placement, metric):
    SegmentFactory(site=other_site, key="loyal")
    spec = [*FEATURES, {"kind": "segment", "segment": "loyal"}]
    with pytest.raises(ValidationError) as excinfo:
        create(site, placement, metric, features=spec)
    assert "features[1].segment" in errors_of(excinfo)
    SegmentFactory(site=site, key="loyal")
    assert create(site, placement, metric, features=spec).features == spec


def test_arms_are_distinct_variants_of_the_optimized_slot(site, other_site, placement, metric):
    screen = ScreenFactory(site=site, key="home")
    design = ScreenVariantFactory(screen=screen, key="dark")
    from tests.content.factories import placement_with_variants

    elsewhere = placement_with_variants(site, key="footer")
    theirs = placement_with_variants(other_site, key="home_hero")
    cases = [
        ([{"key": "b", "content_variant": variant(placement, "b")}], "arms"),
        (
            [
                {"key": "b", "content_variant": variant(placement, "b")},
                {"key": "b", "content_variant": variant(placement, "c")},
            ],
            "arms[1].key",
        ),
        (
            [
                {"key": "b", "content_variant": variant(placement, "b")},
                {"key": "x", "content_variant": variant(placement, "b")},
            ],
            "arms[1].content_variant",
        ),
        (
            [
                {"key": "b", "content_variant": variant(placement, "b")},
                {"key": "x", "content_variant": variant(elsewhere, "default")},
            ],
            "arms[1].content_variant",
        ),
        (
            [
                {"key": "b", "content_variant": variant(placement, "b")},
                {"key": "x", "content_variant": variant(theirs, "default")},
            ],
            "arms[1].content_variant",
        ),
        (
            [
                {"key": "b", "content_variant": variant(placement, "b")},
                {"key": "x", "design_variant": design},
            ],
            "arms[1].design_variant",
        ),
    ]
    for arms, path in cases:
        with pytest.raises(ValidationError) as excinfo:
            optimization_create(
                site=site,
                key="o",
                name="O",
                placement=placement,
                goal=metric,
                features=FEATURES,
                arms=arms,
            )
        assert path in errors_of(excinfo), (path, errors_of(excinfo))


def test_a_screen_optimization_takes_designs_of_that_screen(site, placement, metric, segment):
    screen = ScreenFactory(site=site, key="home")
    dark = ScreenVariantFactory(screen=screen, key="dark")
    light = ScreenVariantFactory(screen=screen, key="light", segment=segment)
    opt = optimization_create(
        site=site,
        key="o",
        name="O",
        screen=screen,
        goal=metric,
        features=FEATURES,
        arms=[{"key": "dark", "design_variant": dark}, {"key": "light", "design_variant": light}],
    )
    assert opt.slot == screen
    with pytest.raises(ValidationError) as excinfo:
        optimization_create(
            site=site,
            key="p",
            name="P",
            screen=screen,
            goal=metric,
            features=FEATURES,
            arms=[
                {"key": "dark", "design_variant": dark},
                {"key": "b", "content_variant": variant(placement, "b")},
            ],
        )
    assert "arms[1].content_variant" in errors_of(excinfo)


def test_keys_are_unique_per_site(site, placement, metric):
    create(site, placement, metric)
    with pytest.raises(ValidationError) as excinfo:
        create(site, placement, metric)
    assert "key" in errors_of(excinfo)


def test_lifecycle_with_timestamps_and_configuration_bumps(site, placement, metric):
    opt = create(site, placement, metric)
    versions = [Site.objects.get(pk=site.pk).config_version]

    def bumped():
        versions.append(Site.objects.get(pk=site.pk).config_version)
        return versions[-1] > versions[-2]

    opt = optimization_start(optimization=opt)
    assert opt.status == "running" and opt.started_at is not None and bumped()
    with pytest.raises(ValidationError):
        optimization_start(optimization=opt)
    with pytest.raises(ValidationError):
        optimization_resume(optimization=opt)
    assert optimization_pause(optimization=opt).status == "paused" and bumped()
    assert optimization_resume(optimization=opt).status == "running" and bumped()
    with pytest.raises(ValidationError):
        optimization_delete(optimization=opt)
    opt = optimization_stop(optimization=opt)
    assert opt.status == "stopped" and opt.stopped_at is not None and bumped()
    with pytest.raises(ValidationError):
        optimization_resume(optimization=opt)
    with pytest.raises(ValidationError):
        optimization_update(optimization=opt, data={"name": "Again"})
    changes = list(
        AuditEntry.objects.filter(site=site)
        .order_by("pk")
        .values_list("details__change", flat=True)
    )
    assert changes == ["create", "start", "pause", "resume", "stop"]
    optimization_delete(optimization=opt)
    assert not Optimization.objects.exists() and bumped()


def test_what_the_logs_mean_is_fixed_once_started(site, placement, metric):
    opt = optimization_start(optimization=create(site, placement, metric))
    for data in ({"features": [{"kind": "recency"}]}, {"seed": "other"}, {"key": "renamed"}):
        with pytest.raises(ValidationError) as excinfo:
            optimization_update(optimization=opt, data=data)
        assert set(data) <= set(errors_of(excinfo))
    with pytest.raises(ValidationError) as excinfo:
        optimization_update(
            optimization=opt,
            data={},
            arms=[
                {"key": "b", "content_variant": variant(placement, "b")},
                {"key": "d", "content_variant": variant(placement, "default")},
            ],
        )
    assert "arms" in errors_of(excinfo)
    # The training knobs, floor and holdout may change.
    opt = optimization_update(
        optimization=opt, data={"holdout_share": 0.2, "floor": 0.05, "retrain_every": 1000}
    )
    assert (opt.holdout_share, opt.floor, opt.retrain_every) == (0.2, 0.05, 1000)


def test_a_draft_may_change_everything(site, placement, metric):
    opt = create(site, placement, metric)
    opt = optimization_update(
        optimization=opt,
        data={"features": [{"kind": "recency"}], "key": "renamed"},
        arms=[
            {"key": "b", "content_variant": variant(placement, "b")},
            {"key": "d", "content_variant": variant(placement, "default")},
        ],
    )
    assert opt.key == "renamed" and sorted(opt.arms.values_list("key", flat=True)) == ["b", "d"]


def test_one_running_thing_per_slot(site, placement, metric):
    first = optimization_start(optimization=create(site, placement, metric))
    second = create(site, placement, metric, key="second")
    with pytest.raises(ValidationError) as excinfo:
        optimization_start(optimization=second)
    assert "placement" in errors_of(excinfo)
    # An experiment cannot start beside a running optimization ...
    experiment = make_experiment(site, placement, metric)
    with pytest.raises(ValidationError) as excinfo:
        experiment_start(experiment=experiment)
    assert any("hero-opt" in m for m in errors_of(excinfo)["placement"])
    # ... but may once it is paused; the optimization then cannot resume beside it.
    optimization_pause(optimization=first)
    experiment_start(experiment=experiment)
    with pytest.raises(ValidationError) as excinfo:
        optimization_resume(optimization=first)
    assert any("hero-test" in m for m in errors_of(excinfo)["placement"])
    # A paused optimization still holds the slot against another optimization.
    with pytest.raises(ValidationError):
        optimization_start(optimization=second)


def test_an_optimization_cannot_start_beside_a_running_experiment(site, placement, metric):
    experiment_start(experiment=make_experiment(site, placement, metric))
    with pytest.raises(ValidationError) as excinfo:
        optimization_start(optimization=create(site, placement, metric))
    assert "placement" in errors_of(excinfo)
