"""The experiment setup in the admin: bad setups are form errors (never a 500), warnings show,
the lifecycle actions and the stop page work, editors cannot change experiments, and the
choices offered never include another site's objects."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from content.services.publishing import slot_publish
from experiments.models import Experiment, ExperimentPhase
from experiments.services.experiments import experiment_start
from tenancy.roles import Role
from tests.content.factories import PlacementFactory, SegmentFactory
from tests.experiments.conftest import make_experiment, variant
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db

ADD = reverse("admin:experiments_experiment_add")
LIST = reverse("admin:experiments_experiment_changelist")


def login(user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


@pytest.fixture
def marketer(site):
    return login(user_with_role(site, Role.MARKETER, username="marketer"))


def formsets(arms: list[dict], metrics: list[dict], initial_arms: int = 0) -> dict:
    data = {
        "arms-TOTAL_FORMS": str(len(arms)),
        "arms-INITIAL_FORMS": str(initial_arms),
        "metrics-TOTAL_FORMS": str(len(metrics)),
        "metrics-INITIAL_FORMS": "0",
        "phases-TOTAL_FORMS": "0",
        "phases-INITIAL_FORMS": "0",
    }
    for prefix, rows in (("arms", arms), ("metrics", metrics)):
        for i, row in enumerate(rows):
            for name, value in row.items():
                data[f"{prefix}-{i}-{name}"] = value
    return data


def setup_post(site, slot, metric, *, arms=None, **fields) -> dict:
    arms = arms or [
        {"key": "control", "weight": "1", "is_control": "on"},
        {"key": "b", "weight": "1", "content_variant": str(variant(slot, "b").pk)},
    ]
    return {
        "site": str(site.pk),
        "key": "hero-test",
        "name": "Hero test",
        "placement": str(slot.pk),
        "coverage": "1",
        "layer_start": "0",
        "layer_end": "1",
        "mode": "fixed",
        "method": "sequential",
        "tuning": "5000",
        "alpha": "0.05",
        "bandit_floor": "0.05",
        **fields,
        **formsets(arms, [{"metric": str(metric.pk), "role": "primary", "cuped_days": "0"}]),
    }


def test_marketer_creates_an_experiment(site, placement, metric, marketer):
    r = marketer.post(ADD, setup_post(site, placement, metric))
    assert r.status_code == 302, r.content.decode()[:3000]
    experiment = Experiment.objects.get()
    assert experiment.seed == "hero-test" and experiment.arms.count() == 2
    assert experiment.metrics.get().metric == metric


@pytest.mark.parametrize(
    ("arms", "fields", "message"),
    [
        ([{"key": "control", "weight": "1", "is_control": "on"}], {}, "at least two arms"),
        (
            [
                {"key": "control", "weight": "1", "is_control": "on"},
                {"key": "b", "weight": "0"},
            ],
            {},
            "greater than 0",
        ),
        (
            [
                {"key": "control", "weight": "1", "is_control": "on"},
                {"key": "b", "weight": "1"},
            ],
            {},
            "Choose a variant of the placement",
        ),
        (None, {"placement": ""}, "exactly one target"),
        (None, {"coverage": "1.5"}, "less than or equal to 1"),
        (None, {"layer_start": "0.5"}, "A slice needs a layer"),
    ],
)
def test_bad_setups_are_form_errors(site, placement, metric, marketer, arms, fields, message):
    r = marketer.post(ADD, setup_post(site, placement, metric, arms=arms, **fields))
    assert r.status_code == 200, r.status_code
    assert message in r.content.decode()
    assert not Experiment.objects.exists()


def test_overlapping_layer_slice_is_a_form_error(site, placement, metric, marketer):
    from experiments.services.layers import layer_create

    layer = layer_create(site=site, key="hero", name="Hero")
    make_experiment(site, placement, key="first", layer=layer, layer_end=0.6)
    post = setup_post(site, placement, metric, layer=str(layer.pk), layer_start="0.5")
    r = marketer.post(ADD, post)
    assert r.status_code == 200 and "overlaps experiment" in r.content.decode()


def test_choices_are_scoped_to_the_users_sites(site, other_site, placement, marketer):
    theirs = PlacementFactory(site=other_site, key="their_hero")
    SegmentFactory(site=other_site, key="their-segment")
    page = marketer.get(ADD).content.decode()
    assert "their_hero" not in page and "their-segment" not in page
    assert placement.name in page
    assert theirs.pk


def test_warnings_and_lifecycle_actions(site, placement, metric, marketer):
    audience = SegmentFactory(
        site=site,
        key="nobody",
        criteria={"all": [{"field": "profile.age", "op": "gt", "value": 500}]},
    )
    experiment = make_experiment(site, placement, metric, audience=audience)
    url = reverse("admin:experiments_experiment_change", args=[experiment.pk])
    page = marketer.get(url).content.decode()
    assert "matches no stored profile" in page
    r = marketer.post(
        LIST, {"action": "start_experiments", "_selected_action": [experiment.pk]}, follow=True
    )
    assert "Started 1 experiment" in r.content.decode()
    experiment.refresh_from_db()
    assert experiment.status == "running"
    page = marketer.get(url).content.decode()
    assert "This experiment is live" in page and "Stop…" in page
    r = marketer.post(
        LIST, {"action": "start_experiments", "_selected_action": [experiment.pk]}, follow=True
    )
    assert "Only a draft can start" in r.content.decode()
    marketer.post(LIST, {"action": "pause_experiments", "_selected_action": [experiment.pk]})
    assert Experiment.objects.get().status == "paused"
    marketer.post(LIST, {"action": "resume_experiments", "_selected_action": [experiment.pk]})
    assert Experiment.objects.get().status == "running"


def test_editing_a_running_experiments_weights_opens_a_phase(site, placement, metric, marketer):
    experiment = experiment_start(experiment=make_experiment(site, placement, metric))
    url = reverse("admin:experiments_experiment_change", args=[experiment.pk])
    arms = list(experiment.arms.order_by("-is_control", "key"))
    post = {
        "name": "Hero test",
        "hypothesis": "",
        "audience": "",
        "coverage": "0.8",
        "tuning": "5000",
        "alpha": "0.05",
        "bandit_floor": "0.05",
        **formsets(
            [
                {
                    "id": str(arm.pk),
                    "experiment": str(experiment.pk),
                    "name": arm.name,
                    "weight": "3" if arm.key == "b" else "1",
                }
                for arm in arms
            ],
            [],
            initial_arms=len(arms),
        ),
    }
    post["metrics-INITIAL_FORMS"] = "0"
    r = marketer.post(url, post)
    assert r.status_code == 302, r.content.decode()[:3000]
    experiment.refresh_from_db()
    assert experiment.phase == 2 and experiment.coverage == 0.8
    assert ExperimentPhase.objects.get(experiment=experiment, number=2).weights == {
        "control": 1.0,
        "b": 3.0,
    }


def test_stop_page_publishes_the_winner(site, placement, metric, marketer):
    slot_publish(slot=placement)
    experiment = experiment_start(experiment=make_experiment(site, placement, metric))
    url = reverse("admin:experiments_experiment_stop", args=[experiment.pk])
    page = marketer.get(url)
    assert page.status_code == 200 and 'value="b"' in page.content.decode()
    r = marketer.post(url, {"winner": "b"})
    assert r.status_code == 302
    experiment.refresh_from_db()
    placement.refresh_from_db()
    assert experiment.status == "stopped" and placement.live_revision.number == 2
    assert marketer.get(url).status_code == 404  # nothing left to stop


def test_viewer_and_editor_cannot_change_experiments(site, placement, metric):
    experiment = make_experiment(site, placement, metric)
    for role in (Role.VIEWER, Role.EDITOR):
        client = login(user_with_role(site, role, username=f"u-{role}"))
        assert client.get(LIST).status_code == 200
        assert client.post(ADD, setup_post(site, placement, metric, key="x")).status_code == 403
        url = reverse("admin:experiments_experiment_stop", args=[experiment.pk])
        assert client.get(url).status_code == 403
        client.post(LIST, {"action": "start_experiments", "_selected_action": [experiment.pk]})
        assert Experiment.objects.get(pk=experiment.pk).status == "draft"
