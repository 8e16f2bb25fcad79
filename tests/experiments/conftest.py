"""A site with a placement (default + two targeted variants), a screen (default + one design),
a metric, and helpers to build experiments through the services."""

from __future__ import annotations

import pytest

from analytics.services.metrics import metric_create
from experiments.services.experiments import experiment_create
from tests.content.factories import (
    DESIGN,
    ContentVariantFactory,
    PlacementFactory,
    ScreenFactory,
    ScreenVariantFactory,
    SegmentFactory,
)


@pytest.fixture
def segment(site):
    return SegmentFactory(site=site, key="everyone")


@pytest.fixture
def placement(site, segment):
    placement = PlacementFactory(site=site, key="home_hero")
    ContentVariantFactory(placement=placement, key="default", body="<p>Default</p>")
    ContentVariantFactory(placement=placement, key="b", body="<p>B</p>", segment=segment)
    ContentVariantFactory(placement=placement, key="c", body="<p>C</p>", segment=segment)
    return placement


@pytest.fixture
def screen(site, segment):
    screen = ScreenFactory(site=site, key="home")
    ScreenVariantFactory(screen=screen, key="default", design=DESIGN)
    ScreenVariantFactory(screen=screen, key="dark", design=DESIGN, segment=segment)
    return screen


@pytest.fixture
def metric(site):
    return metric_create(site=site, key="signup", name="Signup", kind="conversion", event="signup")


def variant(placement, key):
    return placement.variants.get(key=key)


def make_experiment(site, placement, metric=None, *, key="hero-test", **fields):
    return experiment_create(
        site=site,
        key=key,
        name=key.replace("-", " ").title(),
        placement=placement,
        arms=[
            {"key": "control", "weight": 1, "is_control": True},
            {"key": "b", "weight": 1, "content_variant": variant(placement, "b")},
        ],
        metrics=[{"metric": metric, "role": "primary"}] if metric else [],
        **fields,
    )
