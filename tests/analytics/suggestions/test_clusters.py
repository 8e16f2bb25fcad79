"""Clustering: planted behaviours come back as suggestions whose SQL members are those
groups, with the quality figures measured against the clusters."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.suggestions.clusters import (
    Bound,
    FeatureSpec,
    bounds_to_conditions,
    choose_and_fit,
    readable,
)
from analytics.suggestions.models import SuggestionRunStatus
from analytics.suggestions.services import suggestion_run_start
from segments.criteria import compile_criteria
from segments.models import Profile
from segments.selectors.definitions import criteria_compile
from tests.analytics.suggestions.data import PLANTED, plant_clusters


def test_silhouette_picks_the_planted_number_of_blobs() -> None:
    rng = np.random.default_rng(1)
    centers = np.array([[0, 0], [10, 0], [0, 10], [10, 10]])
    x = np.vstack([c + rng.normal(0, 0.7, size=(60, 2)) for c in centers])
    model = choose_and_fit(x)
    assert model is not None and model.k == 4
    assert max(model.silhouettes, key=model.silhouettes.get) == 4
    # Each blob is one cluster.
    for b in range(4):
        assert len(set(model.labels[b * 60 : (b + 1) * 60].tolist())) == 1


def test_too_few_rows_give_no_clusters() -> None:
    assert choose_and_fit(np.zeros((5, 3))) is None


def test_bounds_become_readable_conditions_that_validate() -> None:
    specs = [
        FeatureSpec("recency", "r"),
        FeatureSpec("tenure", "t"),
        FeatureSpec("visits", "v"),
        FeatureSpec("event", "e", event="purchase", window_days=90),
        FeatureSpec("trait", "p", path="profile.lifetime_value"),
        FeatureSpec("event", "n", event="page_view", window_days=90),
    ]
    bounds = {
        0: Bound(high=6.7),
        1: Bound(low=99.2),
        2: Bound(low=2.5, high=40.5),
        3: Bound(low=3.5),
        4: Bound(low=1234.5),
        5: Bound(high=0.5),
    }
    conditions = bounds_to_conditions(bounds, specs)
    assert conditions == [
        {"field": "visitor.last_seen", "op": "within_last", "value": {"days": 7}},
        {"field": "visitor.first_seen", "op": "more_than_ago", "value": {"days": 99}},
        {"field": "visitor.visit_count", "op": "between", "value": [3, 40]},
        {"event": "purchase", "count": {"op": "gte", "value": 4}, "within_days": 90},
        {"field": "profile.lifetime_value", "op": "gt", "value": 1200},
        {"event": "page_view", "count": {"op": "eq", "value": 0}, "within_days": 90},
    ]
    compile_criteria({"all": conditions}, fields={})
    assert readable(0.04371) == 0.044 and readable(37.2) == 37 and readable(-1890) == -1900


@pytest.mark.django_db
def test_planted_clusters_are_recovered_in_sql(
    site, other_site, django_capture_on_commit_callbacks
) -> None:
    planted = plant_clusters(site)
    plant_clusters(other_site)  # same behaviour on another site: never counted here
    with django_capture_on_commit_callbacks(execute=True):
        run = suggestion_run_start(site=site, event="purchase", window_days=90)
    run.refresh_from_db()
    assert run.status == SuggestionRunStatus.DONE, run.error
    assert run.parameters["k"] == 3
    assert run.population == 3 * 80
    found = [s for s in run.suggestions if s["kind"] == "cluster"]
    assert len(found) == 3
    matched: set[str] = set()
    for s in found:
        rule = criteria_compile(site=site, tree=s["criteria"])
        members = set(
            Profile.objects.filter(site=site).filter(rule.to_q()).values_list("pk", flat=True)
        )
        assert s["size"] == len(members)  # the SQL count over this site only
        best = max(PLANTED, key=lambda g: len(members & planted[g]))
        precision = len(members & planted[best]) / len(members)
        recall = len(members & planted[best]) / len(planted[best])
        assert precision >= 0.9 and recall >= 0.9, (best, precision, recall, s["criteria"])
        # The stored figures are measured against the cluster, which is the planted group.
        assert s["quality"]["precision"] >= 0.9 and s["quality"]["recall"] >= 0.9
        assert s["quality"]["cluster_size"] == 80
        assert s["description"]
        matched.add(best)
    assert matched == set(PLANTED)
    # Plain words: how each cluster differs from the average.
    by_group = dict(zip(sorted(matched), [None] * 3, strict=True))
    for s in found:
        rule = criteria_compile(site=site, tree=s["criteria"])
        ids = set(
            Profile.objects.filter(site=site).filter(rule.to_q()).values_list("pk", flat=True)
        )
        by_group[max(PLANTED, key=lambda g: len(ids & planted[g]))] = s
    assert "did “purchase” 3x more often than average" in by_group["power"]["description"]
    assert "mostly Mobile (100%)" in by_group["power"]["description"]
    assert "never did “purchase”" in by_group["browser"]["description"]
    assert "less often than average" in by_group["dormant"]["description"]
