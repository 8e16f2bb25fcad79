import json
import math
from collections import Counter

import numpy as np
import pytest

from experiments.policy.compiled import CompiledPolicy, single_leaf_policy
from experiments.policy.serve import choose, decide, leaf_of
from experiments.policy.train import (
    TrainConfig,
    compile_tree,
    fit_tree,
    greedy_weights,
    train_policy,
)
from tests.experiments.policy.sim import ARMS, log_uniform, visitors

CONFIG = TrainConfig(max_depth=4, min_leaf=300, floor=0.05)


@pytest.fixture(scope="module")
def trained():
    logs, _, encoder = log_uniform(np.random.default_rng(7), 30_000)
    policy = train_policy(logs=logs, encoder=encoder, seed="opt-1", version="v1", config=CONFIG)
    return logs, encoder, policy


def test_compiled_walk_equals_the_fitted_tree_on_many_rows(trained):
    logs, encoder, policy = trained
    tree = fit_tree(logs, max_depth=CONFIG.max_depth, min_leaf=CONFIG.min_leaf)
    assert tree is not None and policy.leaves > 2
    rows = np.array([encoder.encode(d) for d in visitors(np.random.default_rng(8), 5_000)])
    # Rows with missing values too: the compiled walk must send NaN where sklearn does.
    holes = rows.copy()
    holes[::3, -1] = np.nan
    holes[1::3, -2] = np.nan
    rows = np.vstack([rows, holes])
    tables = compile_tree(tree)
    node_to_leaf = np.asarray(tables.leaf)
    expected = node_to_leaf[tree.apply(rows)]
    got = np.array([leaf_of(policy, row) for row in rows.tolist()])
    assert (got == expected).all()
    # ... and the tree's own class prediction agrees with the leaf it names.
    assert len(set(expected)) == policy.leaves


def test_the_policy_learns_the_preferred_arm_of_each_kind_of_visitor(trained):
    _, encoder, policy = trained
    for device, hour, best in (("mobile", 21, "b"), ("desktop", 10, "c"), ("tablet", 9, "a")):
        doc = {
            "visitor": {},
            "profile": {"age": 40},
            "context": {"device_type": device, "local_time": f"2026-03-02T{hour}:00:00+00:00"},
        }
        probabilities = policy.probabilities[leaf_of(policy, encoder.encode(doc))]
        assert policy.arms[int(np.argmax(probabilities))] == best


def test_probabilities_sum_to_one_and_respect_the_floor(trained):
    _, _, policy = trained
    for row in policy.probabilities:
        assert math.isclose(sum(row), 1.0, abs_tol=1e-9)
        assert min(row) >= CONFIG.floor - 1e-9
        assert len(row) == len(ARMS)


def test_draws_are_deterministic_and_match_the_probabilities(trained):
    _, encoder, policy = trained
    doc = {"visitor": {}, "profile": {}, "context": {"device_type": "desktop"}}
    row = encoder.encode(doc)
    first = [choose(policy, row, f"unit-{i}")[0] for i in range(20_000)]
    assert first[:500] == [choose(policy, row, f"unit-{i}")[0] for i in range(500)]
    probabilities = policy.probabilities[leaf_of(policy, row)]
    counts = Counter(first)
    for arm, p in zip(policy.arms, probabilities, strict=True):
        # 4 standard errors of a binomial share over 20,000 units.
        assert abs(counts[arm] / 20_000 - p) < 4 * math.sqrt(p * (1 - p) / 20_000) + 1e-4


def test_json_round_trip_serves_the_same_choices(trained):
    _, encoder, policy = trained
    again = CompiledPolicy.from_json(json.loads(json.dumps(policy.to_json())))
    for i, doc in enumerate(visitors(np.random.default_rng(9), 500)):
        row = encoder.encode(doc)
        assert choose(again, row, f"u{i}") == choose(policy, row, f"u{i}")


def test_holdout_share_is_uniform_and_sticky(trained):
    _, encoder, policy = trained
    row = encoder.encode({"visitor": {}, "profile": {}, "context": {"device_type": "desktop"}})
    decisions = [decide(policy, row, f"h{i}", holdout_share=0.1) for i in range(20_000)]
    held = [d for d in decisions if d.holdout]
    assert abs(len(held) / 20_000 - 0.1) < 0.01
    counts = Counter(d.arm for d in held)
    assert all(abs(counts[a] / len(held) - 0.25) < 0.04 for a in ARMS)
    assert all(d.propensity == 0.25 and d.leaf == -1 for d in held)
    served = [d for d in decisions if not d.holdout]
    assert all(d.propensity == d.probabilities[policy.arms.index(d.arm)] for d in served)
    assert decide(policy, row, "h3", holdout_share=0.1) == decisions[3]


def test_no_reward_yet_gives_one_leaf_with_even_odds():
    logs, _, encoder = log_uniform(np.random.default_rng(3), 2_000)
    empty = type(logs)(
        arms=logs.arms,
        rows=logs.rows,
        actions=logs.actions,
        propensities=logs.propensities,
        rewards=np.zeros(len(logs)),
    )
    policy = train_policy(logs=empty, encoder=encoder, seed="s", version="v0", config=CONFIG)
    assert policy.leaves == 1
    # Every arm has zero conversions: only the arms' slightly different counts separate them.
    assert max(policy.probabilities[0]) - min(policy.probabilities[0]) < 0.1


def test_compiled_tables_are_checked():
    logs, _, encoder = log_uniform(np.random.default_rng(4), 100)
    base = single_leaf_policy(arms=ARMS, encoder=encoder, seed="s").to_json()
    base["probabilities"] = [[0.5, 0.5, 0.5, 0.5]]
    with pytest.raises(ValueError, match="sum to 1"):
        CompiledPolicy.from_json(base)
    with pytest.raises(ValueError, match="floor"):
        train_policy(
            logs=logs, encoder=encoder, seed="s", version="v", config=TrainConfig(floor=0.3)
        )


@pytest.mark.parametrize(
    ("splitter", "allocation", "min_leaf"),
    [("outcome_weighted", "thompson", 60), ("reward_model", "thompson", 300)],
)
def test_the_other_splitter_and_allocation_learn_the_preferred_arms_too(
    splitter, allocation, min_leaf
):
    logs, _, encoder = log_uniform(np.random.default_rng(7), 30_000)
    config = TrainConfig(
        max_depth=4, min_leaf=min_leaf, floor=0.05, splitter=splitter, allocation=allocation
    )
    policy = train_policy(logs=logs, encoder=encoder, seed="o", version="v", config=config)
    assert policy.metadata["config"]["splitter"] == splitter
    for device, hour, best in (("mobile", 21, "b"), ("desktop", 10, "c")):
        doc = {
            "visitor": {},
            "profile": {"age": 40},
            "context": {"device_type": device, "local_time": f"2026-03-02T{hour}:00:00+00:00"},
        }
        probabilities = policy.probabilities[leaf_of(policy, encoder.encode(doc))]
        assert policy.arms[int(np.argmax(probabilities))] == best


def test_greedy_weights_give_the_rest_to_the_best_arm_and_share_ties():
    trials = np.array([[100.0, 100.0, 100.0], [100.0, 100.0, 50.0], [10.0, 20.0, 30.0]])
    successes = np.array([[5.0, 9.0, 2.0], [7.0, 7.0, 3.0], [0.0, 0.0, 0.0]])
    probabilities, best = greedy_weights(trials, successes, floor=0.05, prior_a=1, prior_b=1)
    assert np.allclose(probabilities.sum(axis=1), 1.0)
    assert np.allclose(probabilities[0], [0.05, 0.90, 0.05])
    assert np.allclose(probabilities[1], [0.475, 0.475, 0.05])  # a tie shares the rest
    assert np.allclose(probabilities[2], [1 / 3] * 3)  # no conversion yet: uniform
    assert np.allclose(best[0], [0, 1, 0])
    with pytest.raises(ValueError, match="allocation"):
        TrainConfig(allocation="softmax").validate(3)  # type: ignore[arg-type]
