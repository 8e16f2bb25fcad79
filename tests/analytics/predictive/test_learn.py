"""The pure parts: features from facts, the logistic fit, AUC, calibration, the baseline,
checked against simulations with known truth and scikit-learn's reference values."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from analytics.predictive import learn
from analytics.predictive.features import (
    ANY,
    Facts,
    event_stats,
    feature_names,
    feature_vector,
    top_categories,
)

SPEC = {
    "events": ["page_view"],
    "goal": False,
    "numeric": ["age"],
    "boolean": ["vip"],
    "categories": {"tier": ["gold", "silver"]},
}


def test_event_stats_windows_and_recency():
    stats = event_stats([0.5, 6.9, 7.0, 29.0, 89.9, 200.0])
    assert stats.days_since == 0.5
    assert stats.counts == (3, 4, 5)  # within 7, 30 and 90 days of the cutoff
    with pytest.raises(ValueError):
        event_stats([-0.001])  # after the cutoff: never a feature


def test_feature_vector_is_aligned_with_names():
    facts = Facts(
        tenure_days=10.0,
        visit_count=3,
        traits={"age": 30, "vip": True, "tier": "gold"},
        events={ANY: event_stats([1.0, 2.0]), "page_view": event_stats([2.0])},
    )
    names = feature_names(SPEC)
    values = dict(zip(names, feature_vector(facts, SPEC), strict=True))
    assert values["tenure_days"] == pytest.approx(math.log1p(10))
    assert values["recency:*"] == pytest.approx(math.log1p(1.0))
    assert values["count_7d:*"] == pytest.approx(math.log1p(2))
    assert values["never:page_view"] == 0.0
    assert values["trait:age"] == pytest.approx(math.log1p(30))
    assert values["trait_missing:age"] == 0.0
    assert values["trait:vip"] == 1.0
    assert values["trait:tier=gold"] == 1.0 and values["trait:tier=silver"] == 0.0


def test_missing_and_junk_traits_read_as_missing():
    facts = Facts(
        tenure_days=0.0,
        visit_count=0,
        traits={"age": "thirty", "vip": "yes", "tier": ["gold"]},
    )
    values = dict(zip(feature_names(SPEC), feature_vector(facts, SPEC), strict=True))
    assert values["trait:age"] == 0.0 and values["trait_missing:age"] == 1.0
    assert values["trait_missing:vip"] == 1.0
    assert values["trait:tier=gold"] == 0.0
    assert values["never:*"] == 1.0
    assert values["recency:*"] == pytest.approx(math.log1p(365))
    big = Facts(tenure_days=1.0, visit_count=1, traits={"age": float("inf")})
    assert all(math.isfinite(v) for v in feature_vector(big, SPEC))


def test_top_categories_are_bounded_and_frequent():
    values = ["a"] * 10 + ["b"] * 7 + ["c"] * 2 + [None, 3, ""] + [f"x{i}" for i in range(100)]
    assert top_categories(values, limit=5, min_count=5) == ["a", "b"]


def _simulated(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)) * [1.0, 2.0, 0.5] + [0.0, 5.0, 1.0]
    logits = 1.2 * x[:, 0] - 0.4 * x[:, 1] + 0.0 * x[:, 2] + 0.5
    p = 1 / (1 + np.exp(-logits))
    return x, (rng.random(n) < p).astype(int), p


def test_fit_recovers_known_coefficients_and_scores_from_json_alone():
    x, y, _ = _simulated(20000, 1)
    params = learn.fit(x, y, features=["a", "b", "c"])
    params = json.loads(json.dumps(params))  # what the database keeps
    # standardized coefficients = true coefficients x column scale
    assert params["coefficients"][0] == pytest.approx(1.2 * 1.0, abs=0.08)
    assert params["coefficients"][1] == pytest.approx(-0.4 * 2.0, abs=0.08)
    assert params["coefficients"][2] == pytest.approx(0.0, abs=0.05)
    reference = LogisticRegression(C=learn.REGULARIZATION_C, max_iter=2000).fit(
        (x - params["means"]) / params["scales"], y
    )
    assert np.allclose(
        learn.predict(params, x),
        reference.predict_proba((x - params["means"]) / params["scales"])[:, 1],
        atol=1e-6,
    )


def test_auc_matches_reference_and_known_values():
    _, y, p = _simulated(3000, 2)
    assert learn.auc(y, p) == pytest.approx(roc_auc_score(y, p))
    assert learn.auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.3, 0.4])) == 1.0
    assert learn.auc(np.array([0, 0, 1, 1]), np.array([0.4, 0.3, 0.2, 0.1])) == 0.0
    assert learn.auc(np.array([0, 1, 0, 1]), np.array([0.5, 0.5, 0.5, 0.5])) == 0.5
    assert learn.auc(np.array([1, 1]), np.array([0.1, 0.2])) is None


def test_calibration_of_true_probabilities_is_on_the_diagonal():
    _, y, p = _simulated(50000, 3)
    bins = learn.calibration(y, p)
    assert len(bins) == 10 and sum(b["count"] for b in bins) == 50000
    assert [b["predicted"] for b in bins] == sorted(b["predicted"] for b in bins)
    for b in bins:
        assert b["observed"] == pytest.approx(b["predicted"], abs=0.03)


def test_baseline_ranks_recent_and_frequent_first_and_flips_for_churn():
    names = ["recency:*", "count_90d:*"]
    x = np.array([[0.1, 3.0], [2.0, 1.0], [5.0, 0.0]])
    score = learn.baseline_scores(
        x, features=names, recency="recency:*", frequency="count_90d:*", churn=False
    )
    assert score[0] > score[1] > score[2]
    churn = learn.baseline_scores(
        x, features=names, recency="recency:*", frequency="count_90d:*", churn=True
    )
    assert np.allclose(churn, -score)
