"""The time split: features at a cutoff read only what happened up to it, labels only the
horizon after it; nobody first seen after the cutoff is an example."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from analytics.predictive.dataset import Goal, example_chunks, examples, feature_spec_build
from analytics.predictive.features import feature_names
from analytics.predictive.services import goal_of, predictive_model_create
from analytics.services.metrics import metric_create
from segments.models import Event, Profile

pytestmark = pytest.mark.django_db

SPEC = {
    "events": ["page_view", "purchase"],
    "goal": False,
    "numeric": [],
    "boolean": [],
    "categories": {},
}
H = timedelta(days=14)


def _person(site, user_id, now, days_old=100):
    return Profile.objects.create(
        site=site, user_id=user_id, first_seen=now - timedelta(days=days_old)
    )


def _event(site, profile, name, at, **properties):
    return Event.objects.create(
        site=site,
        profile=profile,
        visitor_id=profile.user_id,
        name=name,
        occurred_at=at,
        properties=properties,
    )


PURCHASE = Goal(event="purchase")


def _features(site, cutoff, goal=PURCHASE, spec=SPEC):
    (chunk,) = list(example_chunks(site_id=site.pk, cutoff=cutoff, spec=spec, goal=goal))
    return dict(zip(chunk.profile_ids, chunk.x.tolist(), strict=True))


def test_events_after_the_cutoff_never_change_features(site, now):
    cutoff = now - 2 * H
    alice = _person(site, "alice", now)
    _event(site, alice, "page_view", cutoff - timedelta(days=3))
    _event(site, alice, "purchase", cutoff - timedelta(days=40))
    before = _features(site, cutoff)
    # a flood of later events, including one a second after the cutoff
    _event(site, alice, "purchase", cutoff + timedelta(seconds=1))
    for day in range(1, 20):
        _event(site, alice, "page_view", cutoff + timedelta(days=day))
    assert _features(site, cutoff) == before
    # ...while an event just before the cutoff does change them
    _event(site, alice, "page_view", cutoff - timedelta(seconds=1))
    assert _features(site, cutoff) != before


def test_labels_count_only_the_horizon_after_the_cutoff(site, now):
    cutoff = now - 2 * H
    inside, edge, late, early = (_person(site, u, now) for u in ("in", "edge", "late", "early"))
    _event(site, inside, "purchase", cutoff + timedelta(days=3))
    _event(site, edge, "purchase", cutoff + H)  # the last instant of the horizon counts
    _event(site, late, "purchase", cutoff + H + timedelta(seconds=1))  # one second too late
    _event(site, early, "purchase", cutoff)  # at the cutoff: a feature, not a label
    ids, _, y = examples(
        site_id=site.pk,
        cutoff=cutoff,
        spec=SPEC,
        goal=Goal(event="purchase"),
        label_until=cutoff + H,
    )
    labels = dict(zip(ids, y.tolist(), strict=True))
    assert labels == {inside.pk: 1, edge.pk: 1, late.pk: 0, early.pk: 0}
    churn = examples(
        site_id=site.pk,
        cutoff=cutoff,
        spec=SPEC,
        goal=Goal(event="purchase", churn=True),
        label_until=cutoff + H,
    )[2]
    assert churn.tolist() == (1 - y).tolist()


def test_people_first_seen_after_the_cutoff_or_without_consent_are_not_examples(site, now):
    cutoff = now - 2 * H
    old = _person(site, "old", now)
    _person(site, "new", now, days_old=10)  # first seen after the cutoff
    Profile.objects.create(
        site=site, user_id="gone", first_seen=now - timedelta(days=90), consent=False
    )
    ids, x, _ = examples(
        site_id=site.pk,
        cutoff=cutoff,
        spec=SPEC,
        goal=Goal(event="purchase"),
        label_until=cutoff + H,
    )
    assert ids == [old.pk]
    tenure = dict(zip(feature_names(SPEC), x[0], strict=True))["tenure_days"]
    assert tenure == pytest.approx(np.log1p(72.0))  # 100 days old now, 72 at the cutoff


def test_a_metric_goal_applies_its_property_filter(site, now):
    metric = metric_create(
        site=site,
        key="shoes",
        name="Bought shoes",
        kind="conversion",
        event="purchase",
        where={"all": [{"field": "properties.category", "op": "eq", "value": "shoes"}]},
    )
    model = predictive_model_create(site=site, name="shoes_14d", goal_metric=metric)
    goal = goal_of(model=model)
    cutoff = now - 2 * H
    shoes, hats = _person(site, "shoes", now), _person(site, "hats", now)
    _event(site, shoes, "purchase", cutoff + timedelta(days=1), category="shoes")
    _event(site, hats, "purchase", cutoff + timedelta(days=1), category="hats")
    _event(site, hats, "purchase", cutoff - timedelta(days=1), category="hats")
    _event(site, shoes, "purchase", cutoff - timedelta(days=2), category="shoes")
    spec = feature_spec_build(site_id=site.pk, cutoff=cutoff, goal=goal)
    assert spec["goal"] is True  # the goal's own filtered columns
    ids, x, y = examples(
        site_id=site.pk, cutoff=cutoff, spec=spec, goal=goal, label_until=cutoff + H
    )
    assert dict(zip(ids, y.tolist(), strict=True)) == {shoes.pk: 1, hats.pk: 0}
    values = {
        pk: dict(zip(feature_names(spec), row, strict=True)) for pk, row in zip(ids, x, strict=True)
    }
    assert values[shoes.pk]["never:@goal"] == 0.0
    assert values[hats.pk]["never:@goal"] == 1.0  # a hat is not the goal
    assert values[hats.pk]["count_7d:purchase"] == pytest.approx(np.log1p(1))
