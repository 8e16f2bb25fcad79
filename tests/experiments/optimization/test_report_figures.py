"""The optimization report's pure figures against simulations with a known truth, and the
leaves of a hand-built tree in plain words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from experiments.policy.compiled import CompiledPolicy
from experiments.policy.features import FeatureEncoder, parse_feature_spec
from experiments.policy.report import (
    ReportDecision,
    describe_leaves,
    period_keys,
    policy_report,
    wilson,
)
from experiments.policy.serve import leaf_of

ARMS = ("a", "b", "c")
# Per device (0: mobile, 1: desktop): each arm's true conversion rate.
RATES = np.array([[0.05, 0.14, 0.02], [0.05, 0.02, 0.10]])
# The logging policy once "trained": the device's best arm at 0.9, the others at 0.05.
POLICY = np.array([[0.05, 0.90, 0.05], [0.05, 0.05, 0.90]])
T0 = datetime(2026, 3, 2, 6, tzinfo=UTC)


def simulate(seed: int, n: int, *, holdout_share: float = 0.1) -> dict:
    """n decisions over 10 days: the first fifth uniform (version 0), then POLICY; a
    random holdout throughout. Returns the decisions and the true rates they target."""
    rng = np.random.default_rng(seed)
    device = rng.integers(0, 2, size=n)
    holdout = rng.random(n) < holdout_share
    uniform = np.full((n, 3), 1 / 3)
    trained = np.arange(n) >= n // 5
    probs = np.where((trained & ~holdout)[:, None], POLICY[device], uniform)
    u = rng.random(n)
    actions = (u[:, None] > probs.cumsum(axis=1)).sum(axis=1)
    rates = RATES[device]
    rewards = (rng.random(n) < rates[np.arange(n), actions]).astype(float)
    decisions = [
        ReportDecision(
            decided_at=T0 + timedelta(days=10 * i / n),
            arm=ARMS[actions[i]],
            propensity=float(probs[i, actions[i]]),
            holdout=bool(holdout[i]),
            reward=float(rewards[i]),
        )
        for i in range(n)
    ]
    expected = (probs * rates).sum(axis=1)  # each decision's true expected reward
    return {
        "decisions": decisions,
        "policy_truth": float(expected[~holdout].mean()),
        "holdout_truth": float(rates.mean()),  # uniform over arms, over the same visitors
        "arm_truth": rates.mean(axis=0),
    }


def test_best_single_arm_is_identified_and_the_policy_beats_it() -> None:
    sim = simulate(1, 40_000)
    report = policy_report(sim["decisions"], arms=ARMS)
    assert sim["arm_truth"].argmax() == 1
    assert report.best_arm == "b"
    values = {a: report.arm_values[a].value for a in ARMS}
    for i, arm in enumerate(ARMS):
        assert values[arm] == pytest.approx(sim["arm_truth"][i], abs=0.01)
    overall = report.overall
    assert overall.policy.ci_low <= sim["policy_truth"] <= overall.policy.ci_high
    assert overall.best.value == pytest.approx(values["b"])
    assert overall.lift_over_best.ci_low > 0
    assert overall.lift_over_holdout.ci_low > 0
    assert overall.policy.n + overall.holdout.n == 40_000


def test_intervals_cover_the_simulated_truth() -> None:
    """Over 40 seeds, each 95 % interval holds the true value at least 85 % of the time."""
    hits = {"policy": 0, "holdout": 0, "best": 0, "lift_holdout": 0, "lift_best": 0}
    seeds = range(40)
    for seed in seeds:
        sim = simulate(100 + seed, 3_000, holdout_share=0.3)
        overall = policy_report(sim["decisions"], arms=ARMS).overall
        best = sim["arm_truth"].max()
        truth = {
            "policy": (overall.policy, sim["policy_truth"]),
            "holdout": (overall.holdout, sim["holdout_truth"]),
            "best": (overall.best, best),
            "lift_holdout": (overall.lift_over_holdout, sim["policy_truth"] - sim["holdout_truth"]),
            "lift_best": (overall.lift_over_best, sim["policy_truth"] - best),
        }
        for name, (figure, value) in truth.items():
            hits[name] += figure.ci_low <= value <= figure.ci_high
    coverage = {name: count / len(seeds) for name, count in hits.items()}
    assert min(coverage.values()) >= 0.85, coverage


def test_cumulative_periods_end_with_the_overall_figures() -> None:
    sim = simulate(7, 5_000)
    report = policy_report(sim["decisions"], arms=ARMS)
    assert report.by_day
    assert len(report.periods) in (10, 11)
    assert sum(p.decisions for p in report.periods) == 5_000
    last = report.periods[-1].cumulative
    assert last.policy.value == pytest.approx(report.overall.policy.value)
    assert last.best.value == pytest.approx(report.overall.best.value)
    first = report.periods[0]
    assert first.cumulative.policy.value == pytest.approx(first.period.policy.value)
    # The early periods are uniform: the policy is no better than random there.
    assert first.period.policy.value < report.periods[-1].period.policy.value


def test_few_days_make_buckets_of_decisions() -> None:
    decisions = [
        ReportDecision(T0 + timedelta(minutes=i), "a", 1 / 3, False, float(i % 2))
        for i in range(100)
    ]
    labels, by_day = period_keys(decisions, buckets=4)
    assert not by_day
    assert labels[0] == "decisions 1-25" and labels[-1] == "decisions 76-100"
    report = policy_report(decisions, arms=ARMS, buckets=4)
    assert [p.decisions for p in report.periods] == [25, 25, 25, 25]
    assert report.overall.holdout.n == 0 and report.overall.holdout.value is None
    assert report.overall.lift_over_holdout is None
    assert report.best_arm == "a"  # the only arm ever shown


def test_wilson_interval_matches_a_reference() -> None:
    low, high = wilson(10, 100)
    assert low == pytest.approx(0.05522, abs=1e-4) and high == pytest.approx(0.17437, abs=1e-4)
    assert wilson(0, 0) is None


# --- leaves in plain words ------------------------------------------------------------------

SPEC = [
    {"kind": "category", "field": "context.device_type"},
    {"kind": "hour", "field": "context.local_time"},
    {"kind": "segment", "segment": "loyal"},
    {"kind": "number", "field": "profile.age"},
]
# Columns: 0 device=mobile, 1 device=desktop, 2 device=__other__, 3 hour, 4 segment, 5 age.


def hand_built() -> CompiledPolicy:
    encoder = FeatureEncoder(
        features=parse_feature_spec(SPEC), vocabularies=(("mobile", "desktop"), (), (), ())
    )
    #            0    1    2   3   4    5    6   7   8    9   10
    feature = (0, 2, -1, -1, 3, 4, -1, -1, 5, -1, -1)
    threshold = (0.5, 0.5, 0, 0, 17.5, 0.5, 0, 0, 34.5, 0, 0)
    left = (1, 2, -1, -1, 5, 6, -1, -1, 9, -1, -1)
    right = (4, 3, -1, -1, 8, 7, -1, -1, 10, -1, -1)
    missing = (False, False, False, False, False, False, False, False, True, False, False)
    leaf = (-1, -1, 0, 1, -1, -1, 2, 3, -1, 4, 5)
    probabilities = (
        (0.8, 0.1, 0.1),
        (0.1, 0.8, 0.1),
        (0.1, 0.1, 0.8),
        (0.6, 0.2, 0.2),
        (0.2, 0.6, 0.2),
        (0.2, 0.2, 0.6),
    )
    metadata = {
        "leaves": [
            {"decisions": 100 + i, "rates": [0.05, None, 0.1], "probability_best": [0.5, 0, 0.5]}
            for i in range(6)
        ]
    }
    return CompiledPolicy(
        version="v1",
        seed="s",
        arms=ARMS,
        encoder=encoder,
        feature=feature,
        threshold=threshold,
        left=left,
        right=right,
        missing_left=missing,
        leaf=leaf,
        probabilities=probabilities,
        floor=0.1,
        metadata=metadata,
    )


def test_leaves_of_a_hand_built_tree_in_plain_words() -> None:
    policy = hand_built()
    leaves = describe_leaves(
        policy,
        labels={"context.device_type": "Device type", "profile.age": "Age"},
        segment_names={"loyal": "Loyal customers"},
        arm_names={"a": "Welcome", "b": "Commute", "c": "Desk"},
    )
    assert [leaf.leaf for leaf in leaves] == [0, 1, 2, 3, 4, 5]
    assert [leaf.sentence for leaf in leaves] == [
        "Device type is one of the known values other than mobile",
        "Device type is not one of the known values",
        "Device type is mobile and local hour is below 18 and not in segment Loyal customers",
        "Device type is mobile and local hour is below 18 and in segment Loyal customers",
        "Device type is mobile and local hour is at least 18 and age is below 35 (or unknown)",
        "Device type is mobile and local hour is at least 18 and age is at least 35",
    ]
    first = leaves[0]
    assert first.decisions == 100 and first.top_arm == "a"
    assert [(s.name, s.probability, s.rate) for s in first.arms] == [
        ("Welcome", 0.8, 0.05),
        ("Commute", 0.1, None),
        ("Desk", 0.1, 0.1),
    ]
    # The sentences say where serving sends a visitor: check against the walk.
    encoder = policy.encoder
    visitors = {
        0: {"context": {"device_type": "desktop"}},
        1: {"context": {"device_type": "tv"}},
        2: {"context": {"device_type": "Mobile", "local_time": "2026-03-02T09:00:00+01:00"}},
        4: {"context": {"device_type": "mobile", "local_time": "2026-03-02T20:00:00+01:00"}},
        5: {
            "context": {"device_type": "mobile", "local_time": "2026-03-02T18:00:00+01:00"},
            "profile": {"age": 35},
        },
    }
    for expected, doc in visitors.items():
        assert leaf_of(policy, encoder.encode(doc)) == expected
    member = encoder.encode(visitors[2], segments={"loyal"})
    assert leaf_of(policy, member) == 3


def test_bounds_on_one_column_merge_into_a_range() -> None:
    encoder = FeatureEncoder(
        features=parse_feature_spec(
            [
                {"kind": "hour", "field": "context.local_time"},
                {"kind": "weekday", "field": "context.local_time"},
            ]
        ),
        vocabularies=((), ()),
    )
    policy = CompiledPolicy(
        version="v1",
        seed="s",
        arms=("a", "b"),
        encoder=encoder,
        feature=(0, 0, -1, 1, -1, -1, -1),
        threshold=(9.5, 5.5, 0, 4.5, 0, 0, 0),
        left=(1, 2, -1, 4, -1, -1, -1),
        right=(6, 3, -1, 5, -1, -1, -1),
        missing_left=(False,) * 7,
        leaf=(-1, -1, 0, -1, 1, 2, 3),
        probabilities=((0.5, 0.5),) * 4,
        floor=0.5,
    )
    assert [leaf.sentence for leaf in describe_leaves(policy)] == [
        "Local hour is below 6",
        "Local hour is between 6 and 9 and local day of the week is Monday to Friday",
        "Local hour is between 6 and 9 and local day of the week is Saturday to Sunday",
        "Local hour is at least 10",
    ]
    single = CompiledPolicy.from_json(
        {
            **policy.to_json(),
            "tree": {
                "feature": [-1],
                "threshold": [0],
                "left": [-1],
                "right": [-1],
                "missing_left": [False],
                "leaf": [0],
            },
            "probabilities": [[0.5, 0.5]],
        }
    )
    assert [leaf.sentence for leaf in describe_leaves(single)] == ["Every visitor"]


def test_no_decisions_make_an_empty_report() -> None:
    report = policy_report([], arms=ARMS)
    assert report.decisions == 0 and report.periods == [] and report.best_arm is None
    assert report.overall.policy.value is None and report.overall.lift_over_best is None
