"""RFM: thresholds from quantiles, and groups whose SQL members are the planted groups."""

from __future__ import annotations

import pytest

from analytics.suggestions.models import SuggestionRunStatus
from analytics.suggestions.rfm import rfm_groups, rfm_thresholds
from analytics.suggestions.services import suggestion_run_start
from segments.criteria import compile_criteria
from segments.models import Profile
from segments.selectors.definitions import criteria_compile
from tests.analytics.suggestions.data import plant_rfm


def test_thresholds_are_the_terciles_in_whole_days_and_counts() -> None:
    recency = [1.2] * 10 + [9.5] * 10 + [40.3] * 10
    frequency = [1] * 10 + [3] * 10 + [7] * 10
    t = rfm_thresholds(recency_days=recency, frequency=frequency, window_days=90)
    assert t is not None
    assert (t.recent_days, t.lapsed_days) == (2, 40)  # ceil(1.2), floor(40.3)
    assert (t.low_count, t.high_count) == (1, 7)
    assert t.window_days == 90


def test_thresholds_stay_possible_inside_a_short_window_and_apart() -> None:
    t = rfm_thresholds(recency_days=[3.5] * 5 + [20.0] * 5, frequency=[1] * 10, window_days=10)
    assert t is not None
    assert t.lapsed_days < t.window_days and t.recent_days < t.lapsed_days
    assert t.high_count > t.low_count >= 1
    assert rfm_thresholds(recency_days=[], frequency=[], window_days=90) is None


def test_groups_compile_with_the_builtin_catalog() -> None:
    t = rfm_thresholds(recency_days=[1, 5, 30], frequency=[1, 2, 5], window_days=90)
    for group in rfm_groups(event="purchase", t=t):
        compile_criteria(group.criteria, fields={})  # raises CriteriaError if invalid


@pytest.mark.django_db
def test_rfm_groups_select_the_planted_people_and_sizes_are_sql_counts(
    site, django_capture_on_commit_callbacks
) -> None:
    planted = plant_rfm(site)
    with django_capture_on_commit_callbacks(execute=True):
        run = suggestion_run_start(site=site, event="purchase", window_days=90)
    run.refresh_from_db()
    assert run.status == SuggestionRunStatus.DONE, run.error
    assert run.parameters["rfm"] == {
        "recent_days": 2,
        "lapsed_days": 50,
        "low_count": 1,
        "high_count": 6,
        "window_days": 90,
    }
    rfm = {s["key"]: s for s in run.suggestions if s["kind"] == "rfm"}
    assert set(rfm) == {"champions", "new", "at_risk", "hibernating"}  # "loyal" is empty
    for key, suggestion in rfm.items():
        rule = criteria_compile(site=site, tree=suggestion["criteria"])
        members = set(
            Profile.objects.filter(site=site).filter(rule.to_q()).values_list("pk", flat=True)
        )
        assert members == planted[key], key
        assert suggestion["size"] == len(planted[key])
